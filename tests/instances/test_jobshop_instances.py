"""Instances: bundled data, readers/writers, generators, and clear errors on malformed input."""

import numpy as np
import pytest

from cpgym.instances import (
    InstanceFormatError,
    JobShopInstance,
    dataset,
    detect_layout,
    format_orlib,
    format_taillard,
    list_instances,
    load,
    parse_instances,
    read_instance,
    read_instances,
    taillard,
    taillard_seeds,
    uniform,
    write_instance,
)


def test_bundled_catalogue_counts():
    assert len(list_instances()) == 242
    counts = {family: len(list_instances(family)) for family in ("ta", "dmu", "la", "abz", "ft", "orb", "swv", "yn")}
    assert counts == {"ta": 80, "dmu": 80, "la": 40, "abz": 5, "ft": 3, "orb": 10, "swv": 20, "yn": 4}


def test_load_ft06_with_known_data_and_bounds():
    ft06 = load("ft06")
    assert (ft06.n_jobs, ft06.n_machines) == (6, 6)
    assert ft06.machines[0].tolist() == [2, 0, 1, 3, 5, 4]
    assert ft06.durations[0].tolist() == [1, 3, 6, 7, 3, 6]
    assert ft06.lower_bound == ft06.upper_bound == 55


def test_orb07_zero_duration_is_legal():
    assert (load("orb07").durations == 0).sum() == 1


def test_dataset_by_size_group():
    group = dataset("dmu", size="20x15")
    assert [i.name for i in group] == [
        "dmu01",
        "dmu02",
        "dmu03",
        "dmu04",
        "dmu05",
        "dmu41",
        "dmu42",
        "dmu43",
        "dmu44",
        "dmu45",
    ]
    assert all(i.size == "20x15" for i in group)
    assert [i.name for i in dataset("ta", size="100x20")] == [f"ta{k}" for k in range(71, 81)]


def test_unknown_instance_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown instance 'ta99'"):
        load("ta99")


@pytest.mark.parametrize("name", [f"ta{k:02d}" for k in range(1, 81)])
def test_taillard_generator_reproduces_all_80(name):
    n_jobs, n_machines, time_seed, machine_seed = taillard_seeds()[name]
    generated = taillard(n_jobs, n_machines, time_seed, machine_seed)
    bundled = load(name)
    np.testing.assert_array_equal(generated.durations, bundled.durations)
    np.testing.assert_array_equal(generated.machines, bundled.machines)


def test_uniform_generator_is_seeded_and_in_range():
    a, b = uniform(10, 5, low=3, high=7, seed=42), uniform(10, 5, low=3, high=7, seed=42)
    assert a == b
    assert a.durations.min() >= 3 and a.durations.max() <= 7
    assert not np.array_equal(a.durations, uniform(10, 5, low=3, high=7, seed=43).durations)


def test_two_set_routing_visits_the_first_half_of_the_machines_first():
    instance = uniform(30, 7, seed=5, two_sets=True)
    assert (instance.machines[:, :3] < 3).all() and (instance.machines[:, 3:] >= 3).all()
    assert all(sorted(row) == list(range(7)) for row in instance.machines.tolist())
    assert len({tuple(row) for row in instance.machines.tolist()}) > 1  # random within each half
    dmu = load("dmu41")  # the dmu41-80 instances have the same structure
    half = dmu.n_machines // 2
    assert (dmu.machines[:, :half] < half).all() or (dmu.machines[:, :half] >= dmu.n_machines - half).all()
    assert uniform(10, 5, seed=42) == uniform(10, 5, seed=42, two_sets=False)


def test_orlib_round_trip(tmp_path):
    instance = load("la01")
    path = tmp_path / "la01.txt"
    write_instance(instance, path)
    back = read_instance(path)
    np.testing.assert_array_equal(back.machines, instance.machines)
    np.testing.assert_array_equal(back.durations, instance.durations)
    assert back.metadata["layout"] == "orlib"


def test_taillard_layout_several_instances_round_trip(tmp_path):
    seeds = taillard_seeds()
    originals = [taillard(*seeds[n][:4], name=n) for n in ("ta01", "ta02")]
    path = tmp_path / "tai15_15.txt"
    path.write_text(format_taillard(originals))
    assert detect_layout(path.read_text()) == "taillard"
    back = read_instances(path)
    assert [i.name for i in back] == ["tai15_15_1", "tai15_15_2"]
    for original, read in zip(originals, back):
        np.testing.assert_array_equal(read.machines, original.machines)
        np.testing.assert_array_equal(read.durations, original.durations)
        assert read.metadata["layout"] == "taillard"
        assert read.metadata["time_seed"] == original.metadata["time_seed"]


def test_tabs_and_comments_accepted():
    text = "# a comment\n#another\n2\t2\n0\t3  1 2\n1 4\t0 5\n"
    (instance,), layout = parse_instances(text, source="t.txt")
    assert layout == "orlib"
    assert instance.durations.tolist() == [[3, 2], [4, 5]]


TAILLARD_OK = """Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound
2 2 1 2 10 5
Times
3 2
4 5
Machines
1 2
2 1
"""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("2 2\n0 3 1 2\n", 2, "truncated: header announces 2 jobs, found 1"),
        ("2 2\n0 3 1 x\n1 4 0 5\n", 2, "'x' is not an integer"),
        ("2 2\n0 3 2 2\n1 4 0 5\n", 2, "machine 2 out of range 0..1"),
        ("2 2\n0 3 0 2\n1 4 0 5\n", 2, "job 0 visits machine 0 twice"),
        ("2 2\n0 3 1 -2\n1 4 0 5\n", 2, "negative duration -2"),
        ("2 2\n0 3 1 2 1\n1 4 0 5\n", 2, "expected 4 numbers"),
        ("2 2\n0 3 1 2\n1 4 0 5\n1 1 0 1\n", 4, "extra line"),
        ("# only a comment\n", None, "empty file"),
        ("2\n0 3 1 2\n", 1, "expected 2 numbers"),
        (TAILLARD_OK.replace("4 5\nMachines", "4 5 6\nMachines"), 5, "expected 2 numbers"),
        (TAILLARD_OK.replace("2 1\n", "3 1\n"), 8, "machine 2 out of range"),
        (TAILLARD_OK.replace("2 1\n", ""), 7, "truncated: 'Machines' needs 2 rows, found 1"),
        (TAILLARD_OK.replace("Times", "Durations"), 3, "expected 'Times'"),
    ],
)
def test_malformed_input_names_file_line_and_problem(text, line, message):
    with pytest.raises(InstanceFormatError) as error:
        parse_instances(text, source="bad.txt")
    assert error.value.line == line
    assert message in str(error.value)
    assert str(error.value).startswith("bad.txt")


def test_taillard_ok_text_parses():
    (instance,), layout = parse_instances(TAILLARD_OK, source="t.txt", name="t")
    assert layout == "taillard"
    assert instance.machines.tolist() == [[0, 1], [1, 0]]
    assert (instance.lower_bound, instance.upper_bound) == (5, 10)


def test_read_error_names_the_file(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("3 2\n0 1 1 1\n")
    with pytest.raises(InstanceFormatError, match=r"broken.txt, line 2: truncated"):
        read_instance(path)


def test_instance_type_rejects_invalid_arrays():
    with pytest.raises(ValueError, match="visit each of machines"):
        JobShopInstance("x", [[0, 0]], [[1, 1]])
    with pytest.raises(ValueError, match="negative duration"):
        JobShopInstance("x", [[0, 1]], [[1, -1]])


def test_format_orlib_names_instance():
    assert format_orlib(load("ft06")).splitlines()[:2] == ["# ft06", "6 6"]
