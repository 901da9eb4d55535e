"""The evaluator: methods x datasets, every solution checked by an independent validator.

Front door: :func:`cpgym.evaluate` (:mod:`cpgym.evaluation.api`; ``cpgym evaluate`` on the
command line). Its parts: dataset specs (:mod:`~cpgym.evaluation.datasets`), the method registry
(:mod:`~cpgym.evaluation.methods`), the task runner (:mod:`~cpgym.evaluation.runner`), result rows
and their storage (:mod:`~cpgym.evaluation.results`) and summaries (:mod:`~cpgym.evaluation.report`).

A method is a registered spec (``"spt"``, ``"cpsat:60"``, ``"gnn+cpsat:60"``, ``"ccg:60"``, ...)
or any callable ``(instance, settings) -> solution``: start times ``(n_jobs, n_machines)`` for the
job shop, a 0/1 first-stage decision for the robust problems, a
:class:`~cpgym.evaluation.methods.MethodResult` (solution, status, own bound), or None when it found
nothing. Its answer is validated like every method's; its rows are named by its ``name`` attribute,
else its ``__name__``; an optional ``problems`` attribute (e.g. ``("jssp",)``) limits it to those
problems' instances (default: all). With ``workers > 1`` it must be picklable (a module-level
function)::

    import cpgym
    from cpgym.agents.rules import dispatch

    def my_agent(instance, settings):
        return dispatch(instance, "mwkr", seed=settings.seed).start_times

    result = cpgym.evaluate(datasets=["ft06", "la01"], methods=[my_agent, "spt", "cpsat:5"])
    for row in result.rows:
        print(row.instance, row.method, row.objective, row.valid, row.gap_percent)
    print(result.markdown())

``out="results/NAME"`` also writes ``results.csv``, ``solutions/*.json``, ``summary.md``,
``config.json`` and ``gaps_*.png``; calling again with the same ``out`` resumes.

No result is silently wrong or lost (details in :mod:`~cpgym.evaluation.results`):

* every row of ``results.csv`` is checked when the folder is opened (one CSV record with every
  column, typed fields, a valid row's solution file of the same task holding the same objective);
  a row that fails, such as one cut short, is named in a warning on stderr, dropped and rerun. The
  columns stay those of earlier versions (a checksum column would change the public layout), so a
  cut inside the last field, ``error``, of an ``INVALID`` row goes unnoticed: it holds only a message;
* results are keyed by instance name: the same instance listed twice is evaluated once, and two
  different instances with one name, or two tasks whose solution file names would collide once
  reduced to letters, digits and ``-_.+`` (``a b`` and ``a_b``), stop the run with an
  :class:`~cpgym.errors.ArgumentError` before any work, as does resuming a folder whose instance of
  that name had other data (``config.json`` keeps a fingerprint of each instance);
* rows with status ``error`` (the method raised) are retried by the next run, the new row replacing
  the old one; ``EvaluationResult.failed`` lists this run's, and ``cpgym evaluate`` exits with 1;
* a folder keeps its ``threads``, ``seed`` and ``eval_time_limit``: resuming with others is refused
  (methods and datasets may be added; ``config.json`` lists all of them);
* one process writes a folder at a time (``flock`` on ``OUT/.lock``, released when the process ends,
  even by ``kill -9``); a folder that cannot be created is refused before any work;
* files hold no NaN or infinity: non-finite numbers (an unbounded method bound) are stored as empty.
"""

from cpgym.evaluation.api import EvaluationResult, evaluate
from cpgym.evaluation.methods import MethodResult, Settings, available, make_solver, register
from cpgym.evaluation.report import SummaryRecord
from cpgym.evaluation.results import ResultRow

__all__ = [
    "EvaluationResult",
    "MethodResult",
    "ResultRow",
    "Settings",
    "SummaryRecord",
    "available",
    "evaluate",
    "make_solver",
    "register",
]
