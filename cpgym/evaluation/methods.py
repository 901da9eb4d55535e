"""The evaluator's methods: a registry mapping a method spec to a function that solves an instance.

Specs: ``NAME`` or ``NAME:ARG``.

* dispatching rules: ``spt``, ``mwkr``, ... (``mwkr:active`` selects the active mode;
  non-delay is the default); on a flexible job-shop instance a job-shop rule name ``R`` is the
  flexible rule ``R-eet``, and ``OPRULE-MACHRULE`` (``mwkr-eet``, ``spt-spt``, ...; see
  :mod:`cpgym.agents.fjsp_rules`) names the flexible rules (``mwkr-eet:active`` for the active mode);
* ``cpsat:SECONDS`` — CP-SAT with a time limit (job shop and flexible job shop);
* ``gnn`` / ``gnn:PATH`` — the learned agent (shipped model by default; PATH may also name another
  shipped model file, e.g. ``gnn:jssp_gnn_ppo_10x10.pt``), greedy decoding;
  ``gnn-sample64[:PATH]`` — best of 64 sampled rollouts; ``gnn-sample@10[:PATH]`` — as many
  sampled rollouts as fit in 10 s (the greedy one included); ``gnn-pomo[:PATH]`` — the greedy rollout and
  one greedy rollout per first job (POMO-style starts); ``gnn-bisampleN`` / ``gnn-bisample@S`` — as
  ``gnn-sample``, half the rollouts (or time) on the time-reversed instance (jobs' operations in
  reverse order, the schedule read backwards); sampling runs on the batched engine
  (:mod:`cpgym.agents.gnn.decoding`); a model file that does not exist raises
  :class:`~cpgym.errors.MissingFileError` (naming the shipped models) when the spec is built;
* classical heuristics (:mod:`cpgym.heuristics`): ``sbh`` (shifting bottleneck), ``tabu:SECONDS``
  (tabu search over N5 moves) and ``lns:SECONDS`` (CP-SAT large-neighbourhood search), the last two
  started from an MWKR schedule;
* ``H+cpsat:SECONDS``, ``H+tabu:SECONDS``, ``H+lns:SECONDS`` — heuristic ``H`` (a rule, ``sbh`` or a
  learned agent) starts CP-SAT (as a hint: start times, and machines for the flexible job shop, where
  :func:`~cpgym.cp_models.fjsp_cpsat.improve_fjsp` searches around it), tabu
  search or LNS (job shop only; a composite applies to the problems both parts apply to); the whole
  method (heuristic included) gets SECONDS, so ``gnn+cpsat:10`` compares with ``cpsat:10``: ``H``
  must finish within SECONDS (else it has no solution), and with under max(1 s, 5 %) left after ``H``
  (CP-SAT, LNS) the improver is skipped (loading a large model alone takes that);
* robust optimization (``rkp``, ``cb``): ``ccg:SECONDS`` (column-and-constraint generation with
  exact second stages), ``neur2ro[:SECONDS]`` (Neur2RO with the shipped value network),
  ``kadapt:K`` (capital budgeting: the literature's K-adaptability decision, K = 2, 5, 10; an
  instance without one raises :class:`~cpgym.errors.ArgumentError`).

Methods that apply to several problems dispatch per problem through a table keyed by the problem's
name (:data:`CPSAT_SOLVERS`, :data:`RULE_SOLVERS`).

Adding a method is one function decorated with :func:`register`; the evaluator pairs each
method only with instances of the problems it declares. A method may also be a Python callable
``(instance, settings) -> solution`` (see :mod:`cpgym.evaluation`): :func:`solver_of` wraps it,
:func:`method_name` names its rows, and its optional ``problems`` attribute (problem names or
aliases; default: every problem) says which instances it gets. A solver may have a ``prepare(settings)``
attribute for one-time set-up (the learned methods load torch and their model there): the runner
calls it before starting the clock, so ``wall_time`` is the time spent on the instance itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from cpgym.errors import ArgumentError, MissingFileError, Status, TimeLimitReached, UnknownMethodError, check_seconds
from cpgym.instances import JobShopInstance
from cpgym.instances.problems import get_problem, problem_of, problems


@dataclass
class MethodResult:
    """A method's answer (validated by the runner), its status, its own bound if any, and details.

    ``solution``: start times ``(n_jobs, n_machines)`` for job shop, a
    :class:`~cpgym.instances.FlexibleSchedule` (or its ``to_dict`` mapping) for the flexible job shop,
    the first-stage decision ``x`` for robust optimization; None when the method found nothing. ``status``: a
    :class:`~cpgym.errors.Status` value (or the method's own word), stored in results.csv.
    ``details``: method-specific numbers (CCG's ``iterations`` and ``n_scenarios``), printed by
    ``cpgym solve``; not stored by the evaluator.
    """

    solution: Any
    status: str
    bound: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Resources every method gets (CPU threads, a seed), the robust evaluator's time limit, and
    ``time_limit``: the seconds left to a method that runs inside another (the heuristic of
    ``H+cpsat:T`` gets T); a method without a limit of its own must stop by then."""

    threads: int = 1
    seed: int = 0
    eval_time_limit: float = 30.0
    time_limit: float | None = None


def _earliest(*limits: float | None) -> float | None:
    """The smallest of the given time limits (None: no limit)."""
    given = [limit for limit in limits if limit is not None]
    return min(given) if given else None


Solver = Callable[[object, Settings], MethodResult]
Factory = Callable[[str | None], Solver]
Method = str | Callable[[Any, Settings], Any]  # a method spec, or a callable returning a solution or a MethodResult
JSSP = ("jssp",)
DEFAULT_RULES = "spt,mwkr,mopnr,fdd_mwkr"
CCG_DETAILS = ("iterations", "n_scenarios")  # the fields of CCG's result reported as MethodResult.details
MIN_CPSAT_SECONDS = 1.0  # a warm start with less time left than this returns the heuristic's schedule
_REGISTRY: dict[str, tuple[Factory, tuple[str, ...]]] = {}


def register(name: str, problems: tuple[str, ...] = JSSP) -> Callable[[Factory], Factory]:
    """Register a method factory ``factory(arg) -> solver(instance, settings) -> MethodResult``."""

    def decorate(factory: Factory) -> Factory:
        _REGISTRY[name] = (factory, problems)
        return factory

    return decorate


def _jobshop_cpsat(instance: JobShopInstance, settings: Settings, time_limit: float, hint: Any) -> MethodResult:
    from cpgym.cp_models import solve_jobshop

    result = solve_jobshop(instance, time_limit=time_limit, workers=settings.threads, seed=settings.seed, hint=hint)
    starts = None if result.schedule is None else result.schedule.start_times
    return MethodResult(starts, result.status, result.lower_bound)


def _fjsp_cpsat(instance: Any, settings: Settings, time_limit: float, hint: Any) -> MethodResult:
    from cpgym.cp_models.fjsp_cpsat import improve_fjsp, solve_fjsp

    if hint is None:
        result = solve_fjsp(instance, time_limit=time_limit, workers=settings.threads, seed=settings.seed)
    else:
        result = improve_fjsp(instance, hint, time_limit=time_limit, workers=settings.threads, seed=settings.seed)
    return MethodResult(result.schedule, result.status, result.lower_bound)


# problem name -> CP-SAT solver(instance, settings, seconds, hint: a start of that problem or None)
CPSAT_SOLVERS: dict[str, Callable[[Any, Settings, float, Any], MethodResult]] = {
    "jssp": _jobshop_cpsat,
    "fjsp": _fjsp_cpsat,
}


def _cpsat_solve(instance: Any, settings: Settings, time_limit: float, hint: Any = None) -> MethodResult:
    return CPSAT_SOLVERS[problem_of(instance).name](instance, settings, time_limit, hint)


@register("ccg", problems=("rkp", "cb"))
def ccg(arg: str | None) -> Solver:
    time_limit = _seconds(arg, default=60.0)

    def solve(instance, settings: Settings) -> MethodResult:
        from cpgym.cp_models.robust.ccg import solve_ccg

        result = solve_ccg(instance, time_limit=time_limit)
        details = {key: value for key, value in result.as_dict().items() if key in CCG_DETAILS}
        return MethodResult(result.x, result.status, result.bound, details)

    return solve


@register("neur2ro", problems=("rkp", "cb"))
def neur2ro(arg: str | None) -> Solver:
    time_limit = _seconds(arg, default=60.0)

    def solve(instance, settings: Settings) -> MethodResult:
        from cpgym.agents.neur2ro.ccg import solve_neur2ro

        x, _ = solve_neur2ro(instance, time_limit=time_limit)
        return MethodResult(x, Status.HEURISTIC)

    return solve


@register("kadapt", problems=("cb",))
def kadapt(arg: str | None) -> Solver:
    try:
        k = int(arg or 10)
    except ValueError:
        raise ArgumentError(f"kadapt:K takes an integer K (2, 5 or 10), got {arg!r}") from None

    def solve(instance, settings: Settings) -> MethodResult:
        from cpgym.instances.capital_budgeting import k_adaptability_results

        results = k_adaptability_results(instance.name)
        decisions = [r.x for r in results if r.K == k]
        if not decisions:
            known = ", ".join(str(K) for K in sorted({r.K for r in results}))
            has = f"them for K = {known} only" if known else "none"
            raise ArgumentError(f"kadapt:{k} replays the literature's K-adaptability decisions, which exist only for "
                                f"the bundled capital budgeting instances; {instance.name} has {has}")
        return MethodResult(np.asarray(decisions[0]), Status.LITERATURE)

    return solve


def _seconds(arg: str | None, default: float = 10.0) -> float:
    if not arg:
        return default
    try:
        return check_seconds(arg)
    except ArgumentError:
        raise ArgumentError(f"expected a time limit in seconds (finite, > 0), got {arg!r}") from None


@register("cpsat", problems=tuple(CPSAT_SOLVERS))
def cpsat(arg: str | None) -> Solver:
    time_limit = _seconds(arg)
    return lambda instance, settings: _cpsat_solve(instance, settings, _earliest(time_limit, settings.time_limit))


def _jobshop_rule(instance: JobShopInstance, rule: str, mode: str, settings: Settings) -> Any:
    from cpgym.agents.rules import dispatch

    mode = "non_delay" if mode == "earliest_end" else mode  # the same with one machine per operation
    return dispatch(instance, rule, mode=mode, seed=settings.seed, time_limit=settings.time_limit).start_times


def _fjsp_rule(instance: Any, rule: str, mode: str, settings: Settings) -> Any:
    from cpgym.agents.fjsp_rules import dispatch_fjsp

    return dispatch_fjsp(instance, rule, mode=mode, seed=settings.seed, time_limit=settings.time_limit)


# problem name -> dispatch(instance, rule name, mode, settings) -> solution; a job-shop rule name R is R-eet
# on a flexible instance (cpgym.agents.fjsp_rules.get_fjsp_rule)
RULE_SOLVERS: dict[str, Callable[[Any, str, str, Settings], Any]] = {"jssp": _jobshop_rule, "fjsp": _fjsp_rule}
RULE_MODES = ("non_delay", "active", "earliest_end")  # FJSP_MODES; on a job shop earliest_end is non_delay


def _rule(name: str) -> Factory:
    def factory(arg: str | None) -> Solver:
        mode = arg or "non_delay"
        if mode not in RULE_MODES:
            raise ArgumentError(f"rule mode must be one of {', '.join(RULE_MODES)}, got {mode!r}")

        def solve(instance: Any, settings: Settings) -> MethodResult:
            return MethodResult(RULE_SOLVERS[problem_of(instance).name](instance, name, mode, settings),
                                Status.HEURISTIC)

        return solve

    return factory


def _model_file(arg: str | None) -> Path:
    """The model file of ``gnn[:PATH]``: PATH, the file name of a shipped model, or (None) the shipped
    job-shop model; :class:`MissingFileError` naming the shipped models when there is no such file."""
    from cpgym.agents.shipped import SHIPPED_JOBSHOP_MODEL, model_path, models_dir

    path = models_dir() / SHIPPED_JOBSHOP_MODEL if arg is None else model_path(arg)
    if not path.is_file():
        shipped = ", ".join(sorted(p.name for p in models_dir().glob("jssp_*.pt"))) or "none"
        raise MissingFileError(
            f"model file {arg or SHIPPED_JOBSHOP_MODEL!r} not found (neither a file nor a shipped model); shipped "
            f"job-shop models: {shipped} (gnn:NAME picks one, gnn:PATH loads a file)"
        )
    return path


@cache
def _load_agent(path: Path, threads: int):
    import torch

    from cpgym.agents.gnn.checkpoint import load_agent

    torch.set_num_threads(threads)
    return load_agent(path, device="cpu")


def _gnn(samples: int, time_limit: float | None = None, pomo: bool = False, both_directions: bool = False) -> Factory:
    def factory(arg: str | None) -> Solver:
        _check_both_directions(both_directions, samples, time_limit)
        path = _model_file(arg)
        from cpgym.agents.gnn.decoding import solve_with_agent

        def solve(instance: JobShopInstance, settings: Settings) -> MethodResult:
            agent = _load_agent(path, settings.threads)
            schedule = solve_with_agent(agent, instance, samples=samples, seed=settings.seed, time_limit=time_limit,
                                        pomo=pomo, both_directions=both_directions,
                                        stop_after=_earliest(time_limit, settings.time_limit))
            return MethodResult(schedule.start_times, Status.HEURISTIC)

        solve.prepare = lambda settings: _load_agent(path, settings.threads)
        return solve

    return factory


def _check_both_directions(both_directions: bool, samples: int, time_limit: float | None) -> None:
    if both_directions and samples < 2 and time_limit is None:
        raise ArgumentError("gnn-bisampleN needs N >= 2 (half the rollouts in each direction)")


def _fjsp_gnn(samples: int, time_limit: float | None = None, both_directions: bool = False) -> Factory:
    """``gnn[-sampleN|-sample@S|-bisampleN|-bisample@S][:PATH]`` on the flexible job shop
    (:mod:`cpgym.agents.fjsp_gnn`; PATH None: the shipped flexible job-shop model)."""

    def factory(arg: str | None) -> Solver:
        from cpgym.agents.fjsp_gnn.checkpoint import SHIPPED_FJSP_MODEL
        from cpgym.agents.shipped import model_path

        _check_both_directions(both_directions, samples, time_limit)
        path = model_path(arg or SHIPPED_FJSP_MODEL)
        if not path.is_file():
            raise MissingFileError(f"flexible job-shop model file {arg or SHIPPED_FJSP_MODEL!r} not found (neither "
                                   "a file nor a shipped model)")

        def solve(instance: Any, settings: Settings) -> MethodResult:
            from cpgym.agents.fjsp_gnn.decoding import solve_fjsp_with_agent

            schedule = solve_fjsp_with_agent(_load_fjsp_agent(path, settings.threads), instance, samples=samples,
                                             seed=settings.seed, time_limit=time_limit,
                                             stop_after=_earliest(time_limit, settings.time_limit),
                                             both_directions=both_directions)
            return MethodResult(schedule, Status.HEURISTIC)

        solve.prepare = lambda settings: _load_fjsp_agent(path, settings.threads)
        return solve

    return factory


@cache
def _load_fjsp_agent(path: Path, threads: int):
    import torch

    from cpgym.agents.fjsp_gnn.checkpoint import load_fjsp_agent

    torch.set_num_threads(threads)
    return load_fjsp_agent(path, device="cpu")


def _per_problem(factories: dict[str, Factory]) -> Factory:
    """A factory whose solver hands each instance to the solver of its problem (``factories[problem]``,
    all built with the spec's argument). ``prepare`` sets up each; a model that does not load for one
    problem (``gnn:PATH`` with a model of the other) fails the instances of that problem only."""
    from cpgym.errors import CheckpointError

    def factory(arg: str | None) -> Solver:
        solvers = {problem: make(arg) for problem, make in factories.items()}

        def solve(instance: Any, settings: Settings) -> MethodResult:
            return solvers[problem_of(instance).name](instance, settings)

        def prepare(settings: Settings) -> None:
            for solver in solvers.values():
                try:
                    solver.prepare(settings)
                except CheckpointError:  # raised again, with its message, by the instances that need it
                    pass

        solve.prepare = prepare
        return solve

    return factory


_GNN_PATTERN = re.compile(
    r"^gnn(?:-(?P<bi>bi)?sample(?:(?P<samples>\d+)|@(?P<seconds>\d+(?:\.\d+)?))|(?P<pomo>-pomo))?$")


@cache
def _rule_problems() -> dict[str, tuple[str, ...]]:
    """Rule name -> the problems it applies to: a job-shop rule also to the flexible job shop when there
    is a flexible operation rule of that name; ``OPRULE-MACHRULE`` to the flexible job shop."""
    from cpgym.agents.fjsp_rules import OPERATION_RULES, fjsp_rule_names
    from cpgym.agents.rules import RULES

    plain = {name: ("jssp", "fjsp") if name in OPERATION_RULES else JSSP for name in RULES}
    return plain | {name: ("fjsp",) for name in fjsp_rule_names()}


def rule_names() -> list[str]:
    """The dispatching rule names (job shop and flexible job shop), whose argument is a mode."""
    return list(_rule_problems())


def available() -> list[str]:
    """Names of the registered methods (rules included)."""
    return sorted({*_REGISTRY, *rule_names(), "gnn", "gnn-sampleN", "gnn-sample@SECONDS", "gnn-pomo",
                   "gnn-bisampleN", "gnn-bisample@SECONDS"})


def _factory(name: str) -> tuple[Factory, tuple[str, ...]]:
    if name in _REGISTRY:
        return _REGISTRY[name]
    match = _GNN_PATTERN.match(name)
    if match:
        budget = match["seconds"]
        samples, seconds = int(match["samples"] or 0), float(budget) if budget else None
        bi = bool(match["bi"])
        jobshop = _gnn(samples, seconds, bool(match["pomo"]), both_directions=bi)
        if match["pomo"]:  # gnn-pomo: job shop only
            return jobshop, JSSP
        return _per_problem({"jssp": jobshop, "fjsp": _fjsp_gnn(samples, seconds, bi)}), ("jssp", "fjsp")
    if name in _rule_problems():
        return _rule(name), _rule_problems()[name]
    raise UnknownMethodError(name, available())


def default_methods() -> str:
    """The default method specs, comma-separated: the rules, the shifting-bottleneck heuristic (a classical
    baseline next to the learned agent), the shipped agent when present, and CP-SAT at 10 s."""
    from cpgym.agents.shipped import shipped_model_path

    gnn = ",gnn" if shipped_model_path() is not None else ""
    return f"{DEFAULT_RULES},sbh{gnn},cpsat:10"


def method_name(method: Method) -> str:
    """The name of a method's rows: its spec, or a callable's ``name`` attribute, else its ``__name__``."""
    if isinstance(method, str):
        return method
    if not callable(method):
        raise ArgumentError(f"a method is a spec string or a callable (instance, settings) -> solution, got {method!r}")
    name = getattr(method, "name", None) or getattr(method, "__name__", None)
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"method {method!r} has no name: give it a 'name' attribute")
    return name


def problems_of(method: Method) -> tuple[str, ...]:
    """The problems a method applies to (``jssp``, ``fjsp``, ``rkp``, ``cb``); ``H+NAME:T`` those of both
    ``H`` and the improver ``NAME``; a callable's ``problems`` attribute (names or aliases), or every problem."""
    if isinstance(method, str):
        first, plus, second = method.partition("+")
        applies = _factory(first.partition(":")[0])[1]
        improver = second.partition(":")[0]
        if plus and improver in IMPROVERS:  # an unknown improver: make_solver names the known ones
            return tuple(problem for problem in applies if problem in _factory(improver)[1])
        return applies
    declared = getattr(method, "problems", None)
    if declared is None:
        return tuple(problem.name for problem in problems())
    return tuple(get_problem(name).name for name in ([declared] if isinstance(declared, str) else declared))


def solver_of(method: Method) -> Solver:
    """The solver of a method spec (:func:`make_solver`) or of a callable, whose answer (a solution,
    a :class:`MethodResult`, or None for nothing found) becomes a :class:`MethodResult`; a callable's
    ``prepare(settings)`` attribute is kept."""
    if isinstance(method, str):
        return make_solver(method)

    def solve(instance: Any, settings: Settings) -> MethodResult:
        answer = method(instance, settings)
        if isinstance(answer, MethodResult):
            return answer
        if answer is None:
            return MethodResult(None, Status.UNKNOWN)
        return MethodResult(answer, Status.HEURISTIC)  # the validators read arrays, lists and schedules

    if hasattr(method, "prepare"):
        solve.prepare = method.prepare
    return solve


def _stopped_in_time(solver: Solver) -> Solver:
    """``solver``, answering "no solution" (status ``unknown``) when its time limit ran out first."""

    def solve(instance: Any, settings: Settings) -> MethodResult:
        try:
            return solver(instance, settings)
        except TimeLimitReached as stop:
            return MethodResult(None, Status.UNKNOWN, details={"stopped": str(stop)})

    if hasattr(solver, "prepare"):
        solve.prepare = solver.prepare
    return solve


def make_solver(spec: str) -> Solver:
    """Build the solver of a method spec such as ``cpsat:60``, ``mwkr``, ``gnn+cpsat:60`` or ``ccg:60``.

    Every solver honours its time limit: a heuristic inside ``H+cpsat:T`` gets T, and a method whose
    limit runs out before it has a solution answers "no solution" (status ``unknown``, ``details``
    saying why) instead of overrunning.
    """
    return _stopped_in_time(_build(spec))


Improver = Callable[[Any, Settings, float, Any], MethodResult]


def _cpsat_improve(instance: Any, settings: Settings, seconds: float, start) -> MethodResult:
    return _cpsat_solve(instance, settings, seconds, hint=start)


def _tabu_improve(instance: JobShopInstance, settings: Settings, seconds: float, start) -> MethodResult:
    from cpgym.heuristics.tabu import tabu_search

    result = tabu_search(instance, start, seconds, seed=settings.seed)
    details = {"iterations": result.iterations, "moves_evaluated": result.moves_evaluated}
    return MethodResult(result.schedule.start_times, Status.HEURISTIC, details=details)


def _lns_improve(instance: JobShopInstance, settings: Settings, seconds: float, start) -> MethodResult:
    from cpgym.heuristics.lns import large_neighbourhood_search

    result = large_neighbourhood_search(instance, start, seconds, seed=settings.seed, workers=settings.threads)
    details = {"iterations": result.iterations, "improvements": result.improvements}
    return MethodResult(result.schedule.start_times, Status.HEURISTIC, details=details)


def _prepare_tabu(settings: Settings) -> None:
    from cpgym.heuristics.tabu import prepare

    prepare()  # numba compilation (or loading its cache) is set-up, not search time


# name -> (improve(instance, settings, seconds, start or None), needs a start, least seconds worth running,
# one-time set-up or None)
IMPROVERS: dict[str, tuple[Improver, bool, float, Callable[[Settings], None] | None]] = {
    "cpsat": (_cpsat_improve, False, MIN_CPSAT_SECONDS, None),
    "tabu": (_tabu_improve, True, 0.0, _prepare_tabu),
    "lns": (_lns_improve, True, MIN_CPSAT_SECONDS, None),
}
IMPROVER_START = "mwkr"  # the start of tabu:T and lns:T on their own


def _improved(spec: str, first: str, name: str, arg: str) -> Solver:
    """``H+NAME:SECONDS``: the heuristic ``first`` starts improver ``NAME``; both share SECONDS."""
    if name not in IMPROVERS:
        raise ArgumentError(f"in {spec!r}: unknown improver {name!r}; only "
                            f"{', '.join(repr(f'+{n}:SECONDS') for n in IMPROVERS)} are supported")
    improve, needs_start, least, set_up = IMPROVERS[name]
    heuristic, total = make_solver(first), _seconds(arg)

    def solve(instance: Any, settings: Settings) -> MethodResult:
        started = time.perf_counter()
        budget = _earliest(total, settings.time_limit)
        start = heuristic(instance, replace(settings, time_limit=budget)).solution
        remaining = budget - (time.perf_counter() - started)
        if (start is None and needs_start) or remaining <= max(least, 0.05 * budget):
            return MethodResult(start, Status.HEURISTIC if start is not None else Status.UNKNOWN)
        result = improve(instance, settings, remaining, start)
        if result.solution is None and start is not None:  # the improver ran out of time before taking the start
            return MethodResult(start, Status.HEURISTIC, result.bound)
        return result

    def prepare(settings: Settings) -> None:
        for step in (getattr(heuristic, "prepare", None), set_up):
            if step is not None:
                step(settings)

    solve.prepare = prepare
    return solve


def _build(spec: str) -> Solver:
    if "+" in spec:
        first, _, second = spec.partition("+")
        name, _, arg = second.partition(":")
        return _improved(spec, first, name, arg)
    name, _, arg = spec.partition(":")
    return _factory(name)[0](arg or None)


@register("tabu")
def tabu(arg: str | None) -> Solver:
    """``tabu:SECONDS``: tabu search over N5 moves from an MWKR schedule (``H+tabu:SECONDS`` for another start)."""
    return _improved(f"tabu:{arg}", IMPROVER_START, "tabu", arg or "10")


@register("lns")
def lns(arg: str | None) -> Solver:
    """``lns:SECONDS``: CP-SAT large-neighbourhood search from an MWKR schedule (``H+lns:SECONDS`` for another)."""
    return _improved(f"lns:{arg}", IMPROVER_START, "lns", arg or "60")


@register("sbh")
def sbh(arg: str | None) -> Solver:
    """``sbh``: the shifting-bottleneck heuristic (deterministic; stops at the budget of a composite)."""
    if arg is not None:
        raise ArgumentError(f"sbh takes no argument, got 'sbh:{arg}'")

    def solve(instance: JobShopInstance, settings: Settings) -> MethodResult:
        from cpgym.heuristics.sbh import shifting_bottleneck

        return MethodResult(shifting_bottleneck(instance, time_limit=settings.time_limit).start_times, Status.HEURISTIC)

    return solve
