"""User mistakes on the command line: ``error: <message>`` on stderr, exit code 2, no traceback."""

import re
import subprocess
import sys

import pytest
from corpus import INVALID

import cpgym.cli.evaluate
import cpgym.cli.solve
from cpgym.cli.main import main
from cpgym.errors import MissingExtraError, UnknownInstanceError
from cpgym.instances import format_taillard, load

RKP = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"


def fails(capsys, argv: list[str], message: str) -> str:
    """Run ``cpgym ARGV``; it must exit with 2 and print ``error: ...`` matching ``message``, no traceback."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert re.search(message, captured.err), captured.err
    return captured.err


def run_cpgym(*argv: str, hide: str | None = None) -> subprocess.CompletedProcess:
    """``python -m cpgym ARGV`` in a fresh interpreter; ``hide``: a module made unimportable first."""
    command = [sys.executable, "-m", "cpgym", *argv]
    if hide is not None:
        code = f"import sys; sys.modules[{hide!r}] = None; from cpgym.cli import main; sys.exit(main(sys.argv[1:]))"
        command = [sys.executable, "-c", code, *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name, text, message", [
    ("truncated.txt", "2 2\n0 3 1 2\n1 4 0\n", r"line 3: expected 4 numbers \(2 machine/duration pairs of job 1\)"),
    ("word.txt", "2 2\n0 3 1 x\n1 4 0 1\n", r"line 2: 'x' is not an integer"),
    ("missing_job.txt", "3 2\n0 1 1 2\n1 3 0 4\n", r"line 3: truncated: header announces 3 jobs, found 2"),
    ("knapsack.txt", "2 10 1\n5 1 1 3\n4 2 1 4 1\n", r"line 2: expected 5 integers \(pbar phat t c f\), found 4"),
    ("budget.txt", "1 2 1 10 0\n3 4 5\n5 6\n1\n1\n1\n1\n", r"line 2: expected 2 numbers \(cbar\), found 3"),
])
def test_malformed_files_name_file_line_and_problem(capsys, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    fails(capsys, ["solve", str(path)], f"^error: {re.escape(str(path))}, {message}")
    fails(capsys, ["instances", "show", str(path)], re.escape(str(path)))


def test_taillard_file_with_ten_instances(capsys, tmp_path):
    path = tmp_path / "ta01-10.txt"
    path.write_text(format_taillard([load(f"ta{i:02d}") for i in range(1, 11)]))
    assert main(["solve", str(path), "--method", "spt"]) == 0
    assert "instance: ta01" in capsys.readouterr().out  # the first by default
    assert main(["solve", str(path), "--method", "spt", "--index", "4"]) == 0
    out = capsys.readouterr().out
    assert "instance: ta05" in out and "best_known_upper_bound: 1224" in out
    for index in ("10", "-1"):
        fails(capsys, ["solve", str(path), "--index", index], r"holds 10 instance\(s\); --index must be 0..9")


def test_unknown_family_lists_job_shop_and_robust_families(capsys):
    err = fails(capsys, ["instances", "list", "--family", "tai"], r"unknown dataset 'tai'; known: ")
    known = err.split("known: ")[1].split(" (")[0].split(", ")
    assert {"ta", "dmu", "la", "ft", "rkp", "cb"} <= set(known)


def test_unknown_instance(capsys):
    fails(capsys, ["solve", "ta99"], r"unknown instance 'ta99' \(neither a bundled instance")
    fails(capsys, ["instances", "show", "CB_n10_xi4_s999"], r"unknown instance 'CB_n10_xi4_s999'")
    fails(capsys, ["evaluate-x", "ft06", "--x", "0 1"], r"ft06 is a job-shop scheduling \(makespan\) instance; "
                                                        r"evaluate-x takes robust knapsack")


def test_unknown_or_inapplicable_methods_list_the_ones_that_apply(capsys):
    err = fails(capsys, ["solve", "ft06", "--method", "nope"], r"unknown method 'nope'; known: ")
    assert "mwkr" in err and "gnn" in err and "H+cpsat:SECONDS" in err and "ccg" not in err
    assert "gnn-pomo" in err and "gnn-bisampleN" in err
    fails(capsys, ["solve", "ft06", "--method", "gnn-bisample1"], r"gnn-bisampleN needs N >= 2")
    fails(capsys, ["solve", "mk01", "--method", "gnn-bisample1"], r"gnn-bisampleN needs N >= 2")
    fails(capsys, ["solve", "mk01", "--method", "gnn-bisample0"], r"gnn-bisampleN needs N >= 2")
    fails(capsys, ["solve", "ft06", "--method", "ccg"], r"method 'ccg' solves rkp, cb instances, not jssp .*cpsat")
    fails(capsys, ["solve", RKP, "--method", "cpsat"],
          r"'cpsat' solves jssp, fjsp instances, not rkp .*: ccg, neur2ro$")
    fails(capsys, ["solve", RKP, "--method", "kadapt:10"], r"'kadapt:10' solves cb instances, not rkp")
    fails(capsys, ["solve", "ft06", "--method", "cpsat:soon"], r"method 'cpsat:soon': expected a time limit")
    fails(capsys, ["solve", "ft06", "--method", "spt:sideways"],
          r"rule mode must be one of non_delay, active, earliest_end, got 'sideways'")


def test_bad_gantt_is_refused_before_solving(capsys, tmp_path, monkeypatch):
    def must_not_solve(spec):
        raise AssertionError("solved before checking --gantt")

    monkeypatch.setattr(cpgym.cli.solve, "make_solver", must_not_solve)
    fails(capsys, ["solve", "ft06", "--gantt", str(tmp_path / "chart.jpg")], r"must end in \.png, \.svg, \.pdf")
    missing = tmp_path / "no_folder" / "chart.png"
    fails(capsys, ["solve", "ft06", "--gantt", str(missing)], rf"{re.escape(str(missing.parent))} does not exist")
    fails(capsys, ["solve", RKP, "--gantt", str(tmp_path / "chart.png")], r"--gantt draws job-shop schedules")


def test_other_argument_mistakes(capsys, tmp_path):
    fails(capsys, ["instances", "show"], r"`cpgym instances show` needs an instance name or file")
    fails(capsys, ["instances", "export", "ft06"], r"needs a file to write")
    fails(capsys, ["instances", "export", "ft06", str(tmp_path / "nowhere" / "ft06.txt")], r"folder .* does not exist")
    fails(capsys, ["instances", "export", RKP, str(tmp_path / "r.txt"), "--layout", "taillard"],
          r"--layout taillard is not a layout of two-stage robust knapsack .* files; they have: rkp")
    fails(capsys, ["evaluate-x", "CB_n10_xi4_s1", "--x", "0 1 2"], r"--x must be 10 values 0/1, got '0 1 2'")


def test_argparse_errors_keep_their_exit_code(capsys):
    time_limit = ["solve", "ft06", "--time-limit"]
    for argv in (["solve"], ["frobnicate"], [*time_limit, "-1"], [*time_limit, "inf"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --time-limit: time limit must be a finite number of seconds > 0, got 'inf'" in err


def test_debug_flag_and_environment_variable_show_the_traceback(monkeypatch):
    with pytest.raises(UnknownInstanceError):
        main(["--debug", "solve", "ta99"])
    monkeypatch.setenv("CPGYM_DEBUG", "1")
    with pytest.raises(UnknownInstanceError):
        main(["solve", "ta99"])


def test_missing_rl_extra_in_train_names_the_extra(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if torch were not installed
    assert main(["train", "--size", "4x4", "--timesteps", "8", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "'torch', which is not installed; install the extra: pip install 'cpgym[rl]'" in err


@pytest.mark.parametrize("raised, message, shown", [
    (UnknownInstanceError("ta99"), "error: unknown instance 'ta99'", UnknownInstanceError),
    (ModuleNotFoundError("No module named 'torch'", name="torch"),
     "error: cpgym evaluate needs 'torch', which is not installed; install the extra: pip install 'cpgym[rl]'",
     MissingExtraError),
])
def test_delegated_commands_get_the_same_error_handling(capsys, monkeypatch, raised, message, shown):
    def delegated_main(argv):
        assert argv == ["--datasets", "ta"]  # the command's own arguments, global flags removed
        raise raised

    monkeypatch.setattr(cpgym.cli.evaluate, "main", delegated_main)
    assert main(["evaluate", "--datasets", "ta"]) == 2
    assert capsys.readouterr().err.startswith(message)
    with pytest.raises(shown):
        main(["--debug", "evaluate", "--datasets", "ta"])


def test_other_missing_modules_are_bugs_and_keep_their_traceback(monkeypatch):
    def delegated_main(argv):
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    monkeypatch.setattr(cpgym.cli.evaluate, "main", delegated_main)
    with pytest.raises(ModuleNotFoundError, match="yaml"):
        main(["evaluate"])


def test_python_m_cpgym_reports_errors_and_debug_shows_the_traceback():
    result = run_cpgym("solve", "ta99")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: unknown instance 'ta99'")
    result = run_cpgym("--debug", "solve", "ta99")
    assert result.returncode == 1 and "Traceback" in result.stderr and "UnknownInstanceError" in result.stderr


@pytest.mark.parametrize("hidden, method", [("torch", "gnn"), ("torch_geometric", "gnn+cpsat")])
def test_missing_rl_extra_in_learned_methods_names_the_extra(hidden, method):
    result = run_cpgym("solve", "ft06", "--method", method, hide=hidden)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"needs {hidden!r}, which is not installed; install the extra: pip install 'cpgym[rl]'" in result.stderr


def test_evaluate_refuses_a_bad_output_folder_or_resources_before_any_work(capsys, tmp_path, monkeypatch):
    import cpgym.evaluation.api

    def must_not_run(*args, **kwargs):
        raise AssertionError("tasks ran before the arguments were checked")

    monkeypatch.setattr(cpgym.evaluation.api, "run_tasks", must_not_run)
    base = ["evaluate", "--datasets", "ft06", "--methods", "spt", "--quiet"]
    fails(capsys, [*base, "--out", "/dev/null/x"],
          r"^error: cannot create or write the output folder /dev/null/x: Not a directory$")
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    fails(capsys, [*base, "--out", str(a_file)],
          rf"cannot create or write the output folder {re.escape(str(a_file))}: Not a directory$")
    out = tmp_path / "run"
    fails(capsys, [*base, "--out", str(out), "--workers", "0"],
          r"need at least one worker and one thread per task, got workers=0, threads=None")
    fails(capsys, [*base, "--out", str(out), "--threads", "-2"], r"got workers=1, threads=-2")
    assert not out.exists()


def test_evaluate_refuses_a_folder_in_use_and_resuming_with_other_settings(capsys, tmp_path):
    from cpgym.evaluation.results import ResultStore

    out = tmp_path / "run"
    argv = ["evaluate", "--datasets", "ft06", "--methods", "spt", "--out", str(out), "--quiet", "--threads", "1"]
    with ResultStore(out):
        fails(capsys, argv, rf"^error: output folder {re.escape(str(out))} is in use: another evaluation")
    assert main(argv) == 0
    fails(capsys, [*argv, "--seed", "3"], rf"{re.escape(str(out))} holds results computed with other settings "
                                          r"\(seed=3 here, 0 in the folder\)")


def test_solve_names_a_missing_model_file_and_missing_literature_results(capsys, tmp_path):
    from cpgym.instances.capital_budgeting import format_capital_budgeting, load_capital_budgeting

    fails(capsys, ["solve", "ft06", "--method", "gnn:missing.pt"],
          r"^error: model file 'missing.pt' not found .*; shipped job-shop models: jssp_gnn.pt")
    copy = tmp_path / "cb.txt"
    copy.write_text(format_capital_budgeting(load_capital_budgeting("CB_n10_xi4_s1")))
    fails(capsys, ["solve", str(copy), "--method", "kadapt:10"],
          r"kadapt:10 replays the literature's K-adaptability decisions, .*; cb.txt has none$")


@pytest.mark.parametrize(("name", "data", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_every_corpus_file_gets_a_message_and_exit_code_2_from_solve(write_file, capsys, name, data, message):
    path = write_file(name, data)
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and "Traceback" not in err
    assert re.search(message, err), err


@pytest.mark.parametrize(("name", "data", "message"), [c for c in INVALID if c[0].startswith(("rkp", "cb"))],
                         ids=[c[0] for c in INVALID if c[0].startswith(("rkp", "cb"))])
def test_robust_corpus_files_get_the_same_message_from_evaluate_x(write_file, capsys, name, data, message):
    path = write_file(name, data)
    assert main(["evaluate-x", str(path), "--x", "0 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and re.search(message, err) and "Traceback" not in err
