"""Training CLI: ``cpgym train`` / ``python train.py`` (GNN dispatching policies; Neur2RO value networks).

``python train.py [jssp] --size 10x10 --timesteps 2e6 --n-envs 8 --device auto --out runs/NAME``
trains the job-shop GNN policy (``--algo ppo``, the default: SB3 MaskablePPO; or on the batched engine
``--algo self-label``, ``reinforce`` or ``cp-guided``);
``python train.py fjsp --generators sd1,hurink-rdata ...`` trains the flexible job-shop GNN by
self-labelling (:mod:`cpgym.agents.fjsp_gnn.train`, its own flags);
``python train.py neur2ro --problem knapsack ...`` trains a Neur2RO value network
(:mod:`cpgym.agents.neur2ro.train`, its own flags).

Settings come from, in increasing priority: the defaults (:mod:`cpgym.agents.training.settings`),
the settings saved in the run folder (with ``--resume``), a TOML/YAML file (``--config``), and the
flags. The run folder holds ``settings.json``, ``validation.json``, ``last.pt`` (resumable),
``best.pt`` and the TensorBoard logs under ``tb/`` (:mod:`cpgym.agents.training.run_folder`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cpgym.agents import require_rl
from cpgym.agents.training.settings import OPTIONS, Option, resolve_settings
from cpgym.errors import CpgymError, require

TARGETS = ("jssp", "fjsp", "neur2ro")  # the optional first argument; jssp when absent


def _flag_type(name: str, option: Option) -> Callable[[str], Any]:
    """``option.type`` for argparse, which then reports the parser's own message."""

    def parse(text: str) -> Any:
        try:
            return option.type(text)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``jssp`` target: one flag per setting, ``--config`` and ``--resume``."""
    parser = argparse.ArgumentParser(
        prog="train.py", description=__doc__.split("\n\n")[0], argument_default=argparse.SUPPRESS,
        epilog="targets: jssp (default; these flags), fjsp (see `train.py fjsp --help`) and neur2ro "
               "(see `train.py neur2ro --help`)",
    )
    parser.add_argument("--config", type=Path, default=None, help="TOML or YAML file of settings (flags override it)")
    parser.add_argument("--resume", action="store_true", default=False,
                        help="continue the run in --out from its last checkpoint")
    for name, option in OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if option.is_flag:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=option.help)
        else:
            default = f" (default: {option.default})" if option.default != "" else ""
            parser.add_argument(flag, type=_flag_type(name, option), choices=option.choices,
                                help=option.help + default)
    return parser


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The resolved settings of parsed ``jssp`` arguments."""
    flags = {name: value for name, value in vars(args).items() if name in OPTIONS}
    return resolve_settings(flags, args.config, args.resume)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python train.py ...`` and ``cpgym train ...``: 0 when trained, 2 (and a
    message) on a user error; the summary is printed as JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    target = argv.pop(0) if argv[:1] and argv[0] in TARGETS else "jssp"
    try:
        if target == "neur2ro":
            require("torch", "rl", "cpgym train neur2ro")
            from cpgym.agents.neur2ro.train import main as train_neur2ro

            train_neur2ro(argv)  # prints its own summary
            return 0
        if target == "fjsp":
            require_rl("cpgym train fjsp", training=True)
            from cpgym.agents.fjsp_gnn.train import main as train_fjsp

            return train_fjsp(argv, prog="cpgym train fjsp")  # prints its own summary
        args = build_parser().parse_args(argv)
        settings = settings_of(args)
        require_rl("cpgym train", training=True)
        if settings["algo"] == "cp-guided":
            from cpgym.agents.training.cp_guided import train_cp_guided as train
        elif settings["algo"] == "ppo":
            from cpgym.agents.training.ppo import train_jssp as train
        else:
            from cpgym.agents.training.engine import train_on_engine as train
        summary = train(settings, resume=args.resume)
    except (CpgymError, OSError) as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0
