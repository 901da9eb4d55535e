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
"""
