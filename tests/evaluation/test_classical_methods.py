"""The classical heuristics as evaluator methods: validated rows, composition with any start, clear errors."""

from __future__ import annotations

import pytest

import cpgym
from cpgym.errors import ArgumentError, UnknownMethodError
from cpgym.evaluation.methods import make_solver


@pytest.fixture(scope="module")
def rows():
    methods = ["sbh", "tabu:2", "lns:2", "sbh+tabu:2", "mwkr+lns:2", "spt+cpsat:2"]
    return {(r.instance, r.method): r for r in cpgym.evaluate(datasets=["ft06", "la01"], methods=methods).rows}


def test_every_classical_method_gives_validated_schedules(rows):
    assert len(rows) == 12 and all(row.valid for row in rows.values())
    assert rows["ft06", "sbh"].objective == 55 and rows["la01", "sbh"].objective == 666  # recorded SB-I values


def test_tabu_reaches_the_optima_of_small_instances(rows):
    assert rows["ft06", "tabu:2"].objective == 55 and rows["la01", "tabu:2"].objective == 666
    assert rows["ft06", "sbh+tabu:2"].objective == 55


def test_improvers_never_return_worse_than_their_start(rows):
    for instance in ("ft06", "la01"):
        assert rows[instance, "mwkr+lns:2"].objective <= cpgym.evaluate(
            datasets=[instance], methods=["mwkr"]).rows[0].objective


def test_bad_classical_specs_are_clear_errors():
    known = r"only '\+cpsat:SECONDS', '\+tabu:SECONDS', '\+lns:SECONDS' are supported"
    with pytest.raises(ArgumentError, match=rf"unknown improver 'foo'; {known}"):
        make_solver("mwkr+foo:3")
    with pytest.raises(ArgumentError, match=r"expected a time limit in seconds \(finite, > 0\), got .inf."):
        make_solver("tabu:inf")
    with pytest.raises(ArgumentError, match="sbh takes no argument"):
        make_solver("sbh:3")
    with pytest.raises(UnknownMethodError, match="known: .*sbh.*tabu"):
        make_solver("tabby:3")


def test_the_default_table_shows_a_classical_heuristic_next_to_the_learned_agent():
    from cpgym.evaluation.methods import default_methods

    methods = default_methods().split(",")
    assert "sbh" in methods and methods.index("sbh") < methods.index("gnn")
