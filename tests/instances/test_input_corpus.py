"""Every file of the corpus is refused with a message naming file, line and problem, or read."""

from __future__ import annotations

import pytest
from corpus import INVALID, VALID

from cpgym.errors import CpgymError
from cpgym.instances import resolve_instances


def test_the_corpus_is_large_enough():
    assert len(INVALID) + len(VALID) >= 60


@pytest.mark.parametrize(("name", "data", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_malformed_file_is_refused_with_file_line_and_problem(write_file, name, data, message):
    path = write_file(name, data)
    with pytest.raises(CpgymError, match=message) as caught:
        resolve_instances(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(("name", "data", "count"), VALID, ids=[c[0] for c in VALID])
def test_odd_but_valid_file_is_read(write_file, name, data, count):
    path = write_file(name, data)
    assert len(resolve_instances(path)) == count


def test_a_one_by_200000_instance_is_read_and_validated(tmp_path):
    import numpy as np

    from cpgym.instances import JobShopInstance, format_orlib, validate_schedule
    from cpgym.instances.jobshop import MAX_OPERATIONS

    rng = np.random.default_rng(0)
    wide = JobShopInstance("wide", rng.permutation(200_000)[None, :], rng.integers(1, 100, (1, 200_000)))
    path = tmp_path / "wide.txt"
    path.write_text(format_orlib(wide))
    (read,) = resolve_instances(path)
    ends = np.cumsum(read.durations[0])
    assert validate_schedule(read, (ends - read.durations[0])[None, :]).makespan == ends[-1]
    path.write_text(f"1 {MAX_OPERATIONS + 1}\n")
    with pytest.raises(CpgymError, match="operations exceed the limit of 1,000,000"):
        resolve_instances(path)
