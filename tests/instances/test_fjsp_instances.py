"""Flexible job shop: the bundled data and its bounds, the .fjs reader and writer, the job-shop conversion,
the SD1/SD2 generators, the schedule validator and the registry record."""

import csv
import json
import re
from collections import Counter

import numpy as np
import pytest
from corpus import FJS, INVALID, fjs

import cpgym.instances.fjsp_library  # noqa: F401  (registers "fjsp" until cpgym.instances imports it)
from cpgym.agents.fjsp_rules import dispatch_fjsp
from cpgym.cli.main import main
from cpgym.errors import ArgumentError, InstanceFormatError, InvalidInstanceError, UnknownDatasetError
from cpgym.instances import check, get_problem, load, problems, resolve_instance
from cpgym.instances.capital_budgeting import cb_data_dir
from cpgym.instances.fjsp import FlexibleJobShopInstance, format_fjs, looks_like_fjs, parse_fjs, read_fjs, write_fjs
from cpgym.instances.fjsp_generators import (
    BRANDIMARTE_ROWS,
    HURINK_VARIANTS,
    SD_SIZES,
    generate_brandimarte,
    generate_hurink,
    generate_sd1,
    generate_sd2,
    generator_kind,
)
from cpgym.instances.fjsp_library import FJSP_FAMILIES, fjsp_data_dir, fjsp_dataset, fjsp_names, list_fjsp, load_fjsp
from cpgym.instances.fjsp_schedule import FlexibleSchedule, validate_flexible_schedule
from cpgym.instances.library import data_dir
from cpgym.instances.resolve import file_problem
from cpgym.instances.robust_knapsack import knapsack_data_dir

FJSP = get_problem("fjsp")
COUNTS = {"mk": 15, "sdata": 66, "edata": 66, "rdata": 66, "vdata": 66, "dpp": 18, "chambers": 21, "kacem": 4,
          "fattahi": 20, "behnke": 60}


@pytest.fixture(scope="module")
def bundled() -> list[FlexibleJobShopInstance]:
    return fjsp_dataset()


def test_every_file_is_matched_to_its_bounds_record(bundled):
    files = sorted(p.stem for p in (fjsp_data_dir() / "instances").iterdir())
    with open(fjsp_data_dir() / "bounds.csv", newline="") as handle:
        rows = {r["instance"]: r for r in csv.DictReader(handle)}
    assert len(files) == len(rows) == len(bundled) == 402
    assert set(files) == set(rows) == {i.name for i in bundled}
    assert Counter(r["family"] for r in rows.values()) == COUNTS
    assert Counter(r["status"] for r in rows.values()) == {"closed": 343, "open": 59}
    for instance in bundled:
        row = rows[instance.name]
        assert instance.size == f"{row['n_jobs']}x{row['n_machines']}", instance.name
        assert instance.metadata["family"] == row["family"] and FJSP.group_of(instance) == row["family"]
        assert (instance.lower_bound, instance.upper_bound) == (int(row["lower_bound"]), int(row["upper_bound"]))
        assert (row["status"] == "closed") == (instance.lower_bound == instance.upper_bound)
        longest_job = max(sum(min(options.values()) for options in job) for job in instance.durations)
        assert longest_job <= instance.lower_bound <= instance.upper_bound <= instance.horizon, instance.name
    assert {r["type"] for r in rows.values() if r["family"] in ("sdata", "edata", "rdata", "vdata")} == {
        "machine-independent flexible jobshop"}


def test_load_mk01_with_known_data_and_bounds():
    mk01 = resolve_instance("mk01")
    assert mk01 == FJSP.load("mk01") == load_fjsp("mk01")
    assert (mk01.n_jobs, mk01.n_machines, mk01.n_operations) == (10, 6, 55)
    assert mk01.jobs[0][:2] == (((0, 5), (2, 4)), ((4, 3), (2, 5), (1, 1)))  # file: "6  2 1 5 3 4  3 5 3 3 5 2 1 ..."
    assert mk01.lower_bound == mk01.upper_bound == 40
    assert mk01.metadata["family"] == "mk" and FJSP.bounds(mk01) == (40, 40)


def test_bundled_names_and_dataset_keys_do_not_clash_with_other_problems():
    others = [p for p in problems() if p.name != "fjsp"]
    assert {p.name for p in others} >= {"jssp", "rkp", "cb"}
    assert not set(fjsp_names()) & {name for p in others for name in p.names()}
    assert not set(FJSP.datasets) & {key for p in others for key in p.datasets}
    assert set(FJSP.datasets) == {"fjsp", *FJSP_FAMILIES}
    assert get_problem("flexible_jobshop") is FJSP and get_problem("cb").name == "cb"


def test_datasets_by_family_and_size():
    assert [i.name for _, i in FJSP.datasets["fjsp"]("kacem")] == ["kacem1", "kacem2", "kacem3", "kacem4"]
    mk = FJSP.datasets["mk"](None)
    assert [i.name for _, i in mk] == [f"mk{k:02d}" for k in range(1, 16)] and {g for g, _ in mk} == {"mk"}
    assert [i.name for _, i in FJSP.datasets["mk"]("10x6")] == ["mk01", "mk02"]
    assert [i.name for i in fjsp_dataset("chambers")][:2] == ["mt10c1", "mt10cc"]
    assert len(list_fjsp("chambers")) == 21
    with pytest.raises(UnknownDatasetError, match="fjsp:mk"):
        FJSP.datasets["fjsp"]("cb")
    with pytest.raises(UnknownDatasetError, match="mk:10x6"):
        FJSP.datasets["mk"]("99x99")


def test_cli_lists_a_family(capsys):
    assert main(["instances", "list", "--family", "mk"]) == 0
    out = capsys.readouterr().out
    assert "15 instances" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:-1]}
    assert rows["mk01"] == ["mk", "10x6", "40", "40", "closed"]
    assert rows["mk10"] == ["mk", "20x15", "189", "193", "open"]


def test_hurink_sdata_are_the_bundled_job_shop_instances():
    converted = 0
    for info in list_fjsp("sdata"):
        base = info.name.removesuffix("_sdata")
        jssp_name = f"orb{int(base[3:]):02d}" if base.startswith("orb") else base
        if not base.startswith("car"):  # Carlier's instances are not bundled with the job shop
            assert FlexibleJobShopInstance.from_jobshop(load(jssp_name)).jobs == load_fjsp(info.name).jobs, base
            converted += 1
    assert converted == 58


def test_job_shop_converts_to_one_machine_per_operation():
    ft06 = load("ft06")
    flexible = FlexibleJobShopInstance.from_jobshop(ft06)
    assert (flexible.name, flexible.size, flexible.lower_bound, flexible.upper_bound) == ("ft06", "6x6", 55, 55)
    assert flexible.flexibility == 1.0 and flexible.horizon == ft06.horizon
    assert [[m for (m, _), in job] for job in flexible.jobs] == ft06.machines.tolist()
    assert [[d for (_, d), in job] for job in flexible.jobs] == ft06.durations.tolist()
    assert FJSP.group_of(flexible) == "6x6"  # not a bundled flexible instance: grouped by size


def test_reader_reads_the_layout_with_tabs_and_a_float_header():
    instance = parse_fjs(FJS.replace(" ", "\t"), name="small")
    assert instance.jobs == ((((0, 3),), ((0, 2), (1, 4))), (((1, 5),),))
    assert (instance.n_jobs, instance.n_machines, instance.n_operations) == (2, 2, 3)
    assert instance.flexibility == pytest.approx(4 / 3) and instance.horizon == 12
    assert parse_fjs("2 2\n" + FJS.split("\n", 1)[1]).jobs == instance.jobs  # 2-number header


def test_writer_output_and_round_trip(tmp_path, bundled):
    small = parse_fjs(FJS, name="small")
    assert format_fjs(small) == "2 2 1.33\n2 1 1 3 2 1 2 2 4\n1 1 2 5\n"
    write_fjs(small, tmp_path / "small.fjs")
    assert read_fjs(tmp_path / "small.fjs") == small
    for instance in bundled:  # every bundled instance survives the writer and the reader
        again = parse_fjs(format_fjs(instance))
        assert (again.jobs, again.n_machines) == (instance.jobs, instance.n_machines), instance.name


FJS_CORPUS = [case for case in INVALID if case[0].startswith("fjs_")]


@pytest.mark.parametrize(("name", "data", "message"), FJS_CORPUS, ids=[c[0] for c in FJS_CORPUS])
def test_reader_errors_name_file_line_and_problem(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InstanceFormatError, match=message) as caught:
        read_fjs(path)
    assert caught.value.source == str(path)
    assert caught.value.line == int(message.split(":")[0].removeprefix("line "))


def test_reader_refuses_an_empty_file_and_binary_data(tmp_path):
    with pytest.raises(InstanceFormatError, match="empty file"):
        parse_fjs("\n \n", source="blank.fjs")
    path = tmp_path / "binary.fjs"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(InstanceFormatError, match="not a text file"):
        read_fjs(path)


def test_each_file_layout_is_sniffed_by_exactly_one_problem(tmp_path):
    folders = {"jssp": data_dir() / "instances", "rkp": knapsack_data_dir() / "instances",
               "cb": cb_data_dir() / "instances", "fjsp": fjsp_data_dir() / "instances"}
    for name, folder in folders.items():
        for path in sorted(folder.iterdir()):
            text = path.read_text(encoding="utf-8-sig")
            assert [p.name for p in problems() if p.sniff(text)] == [name], path.name
    assert file_problem(fjsp_data_dir() / "instances" / "la01_sdata.txt").name == "fjsp"
    assert looks_like_fjs(FJS) and not looks_like_fjs("2 2 2\n0 1 1 2\n1 3 0 4\n")  # the knapsack-like header
    assert not looks_like_fjs("2 10 1\n5 1 1 3 2\n4 2 1 4 1\n") and not looks_like_fjs("3 3\n")


@pytest.mark.parametrize(("jobs", "n_machines", "message"), [
    ((), 2, "at least one job"),
    (((),), 2, "job 0 has no operations"),
    ((((),),), 2, "job 0 operation 0 has no eligible machine"),
    (((((2, 1),),),), 2, r"machines \[2\] must be distinct, in 0..1"),
    (((((0, 1), (0, 2)),),), 2, r"machines \[0, 0\] must be distinct"),
    (((((0, -1),),),), 2, "durations must be in 0..1,000,000,000"),
    (((((0, 1.5),),),), 2, "a duration must be an integer, got 1.5"),
    (((((0, 1),),),), 0, "at least one job and one machine"),
])
def test_instance_refuses_bad_data(jobs, n_machines, message):
    with pytest.raises(InvalidInstanceError, match=message):
        FlexibleJobShopInstance("bad", jobs, n_machines)


def test_instance_accepts_numpy_integers_and_lists():
    instance = FlexibleJobShopInstance("np", [[[(np.int64(1), np.int32(4))]]], np.int64(2))
    assert instance.jobs == ((((1, 4),),),) and type(instance.jobs[0][0][0][0]) is int and instance.n_machines == 2


@pytest.mark.parametrize(("n_machines", "low", "high"), [(5, 4, 6), (10, 8, 12)])
def test_sd1_follows_song_et_al(n_machines, low, high):
    instances = [generate_sd1(20, n_machines, seed=s) for s in range(30)]
    operations = [options for i in instances for job in i.jobs for options in job]
    assert Counter(len(job) for i in instances for job in i.jobs).keys() == set(range(low, high + 1))
    counts = Counter(len(options) for options in operations)
    assert counts.keys() == set(range(1, n_machines + 1))
    assert np.mean([len(o) for o in operations]) == pytest.approx((n_machines + 1) / 2, rel=0.05)
    machine_use = Counter(m for options in operations for m, _ in options)
    assert max(machine_use.values()) / min(machine_use.values()) < 1.1  # a uniform random subset
    durations = [d for options in operations for _, d in options]
    assert min(durations) == 1 and max(durations) == 20
    for options in operations:  # all of one operation's durations fit the range of some mean mu
        values = [d for _, d in options]
        assert any(max(1, round(0.8 * mu)) <= min(values) and max(values) <= min(20, round(1.2 * mu))
                   for mu in range(1, 21)), options
    assert instances[0] == generate_sd1(20, n_machines, seed=0)
    assert instances[0].jobs != instances[1].jobs and instances[0].metadata == {"generator": "sd1", "seed": 0}


def test_sd2_follows_daniel():
    instances = [generate_sd2(10, 5, seed=s) for s in range(30)]
    assert all(len(job) == 5 for i in instances for job in i.jobs)
    operations = [options for i in instances for job in i.jobs for options in job]
    assert Counter(len(o) for o in operations).keys() == set(range(1, 6))
    durations = [d for options in operations for _, d in options]
    assert min(durations) == 1 and max(durations) == 99
    assert np.mean(durations) == pytest.approx(50, rel=0.05)
    assert generate_sd2(10, 5, seed=3) == instances[3] and instances[3].name == "sd2_10x5_seed3"


@pytest.mark.parametrize("variant", HURINK_VARIANTS)
def test_hurink_like_instances_are_flexible_job_shops_as_flexible_as_the_bundled_sets(variant):
    instances = [generate_hurink(10, 10, variant, seed=s) for s in range(20)]
    for instance in instances:
        for job in instance.jobs:  # a job shop underneath: every machine once per job, as routing machine
            assert len(job) == 10
            assert all(len({duration for _, duration in options}) == 1 for options in job)  # identical machines
    bundled = [len(options) for i in fjsp_dataset(family=variant) if i.n_machines == 10
               for job in i.jobs for options in job]
    generated = [len(options) for i in instances for job in i.jobs for options in job]
    assert max(generated) <= max(bundled) and np.mean(generated) == pytest.approx(np.mean(bundled), abs=0.45)
    durations = [options[0][1] for i in instances for job in i.jobs for options in job]
    assert min(durations) >= 1 and max(durations) <= 99
    assert generate_hurink(10, 10, variant, seed=3) == instances[3]
    assert instances[3].name == f"hurink-{variant}_10x10_seed3"
    assert generator_kind(f"hurink-{variant}").make(10, 10, seed=3) == instances[3]


def _fits(instance, row):
    """Whether ``instance`` could have been drawn with Brandimarte parameter ``row``."""
    return (all(row.operations[0] <= len(job) <= row.operations[1] for job in instance.jobs)
            and all(len(options) <= row.most_machines and all(row.durations[0] <= p <= row.durations[1]
                                                              for _, p in options)
                    for job in instance.jobs for options in job))


def test_brandimarte_rows_are_those_of_the_mk_files_and_the_generator_follows_one_row_per_instance():
    for number, row in enumerate(BRANDIMARTE_ROWS, start=1):
        assert _fits(load_fjsp(f"mk{number:02d}"), row)
    instances = [generate_brandimarte(15, 8, seed=s) for s in range(200)]
    rows = [[row for row in BRANDIMARTE_ROWS if _fits(instance, row)] for instance in instances]
    assert all(rows)  # each instance fits a row
    assert {row.durations for fitting in rows for row in fitting} == {row.durations for row in BRANDIMARTE_ROWS}
    most = [max(len(options) for job in i.jobs for options in job) for i in instances]
    assert max(most) == 6 and max(len(options) for job in generate_brandimarte(5, 3, seed=1).jobs
                                  for options in job) <= 3  # at most m eligible machines
    assert generator_kind("brandimarte").make(15, 8, seed=7) == instances[7]
    assert instances[7].name == "brandimarte_15x8_seed7" and instances[7].metadata["generator"] == "brandimarte"


def test_unknown_generator_names_the_known_ones():
    with pytest.raises(ArgumentError, match="unknown flexible job-shop generator 'sd3'; known: sd1, sd2, hurink-edata"):
        generator_kind("sd3")
    with pytest.raises(ArgumentError, match="Hurink variant is one of"):
        generate_hurink(5, 5, "xdata")


def test_generators_cover_the_literature_sizes():
    assert SD_SIZES == ((10, 5), (20, 5), (15, 10), (20, 10))
    for n_jobs, n_machines in SD_SIZES:
        assert generate_sd1(n_jobs, n_machines, seed=1).size == generate_sd2(n_jobs, n_machines, seed=1).size == (
            f"{n_jobs}x{n_machines}")
    with pytest.raises(ArgumentError, match="at least one job and one machine"):
        generate_sd1(0, 5)


SMALL = parse_fjs(FJS, name="small")  # job 0: op 0 on m0 (3), op 1 on m0 (2) or m1 (4); job 1: op 0 on m1 (5)
VALID = ([[0, 0], [1]], [[0, 3], [0]])  # machines, start times: makespan 5
VALID_MAKESPAN = 5


def test_trivial_lower_bound_takes_each_operation_at_its_shortest_option():
    jobs = ((((0, 4),),), (((0, 4), (1, 6)),), (((1, 1),), ((0, 2),)))
    instance = FlexibleJobShopInstance("lb", jobs, 2)
    assert instance.trivial_lower_bound() == 6  # work 4 + 4 + 1 + 2 = 11 on 2 machines: ceil 5.5; longest job 4
    assert SMALL.trivial_lower_bound() == 5 == VALID_MAKESPAN  # tight here: both machines busy to 5
    assert load_fjsp("mk01").trivial_lower_bound() <= 40  # the proven optimum


def test_validator_accepts_a_valid_schedule_and_recomputes_the_makespan():
    report = validate_flexible_schedule(SMALL, *VALID, claimed_makespan=5)
    assert report.ok and report.makespan == 5
    assert validate_flexible_schedule(SMALL, [[0, 1], [1]], [[0, 5], [0]]).makespan == 9
    assert validate_flexible_schedule(SMALL, [np.array([0, 0]), [1]], [[0.0, 3.0], [np.int64(0)]]).ok  # whole numbers


@pytest.mark.parametrize(("machines", "starts", "message"), [
    ([[0, 0]], [[0, 3], [0]], "machines has 1 jobs, expected 2"),
    ([[0], [1]], [[0, 3], [0]], r"machines of job 0 has 1 entries, expected 2 \(all operations\)"),
    ([[0, 0], [1]], [[0, 3], []], r"start_times of job 1 has 0 entries, expected 1"),
    ([[0, 0], [1]], 7, "start_times is not a list of per-job lists"),
    ([[0, 0], [0]], [[0, 3], [5]], r"job 1 op 0: machine 0 is not eligible \(eligible: \[1\]\)"),
    ([[0, 0], [None]], [[0, 3], [0]], "job 1 op 0: machine None is not eligible"),
    ([[0, 0], [1]], [[-1, 3], [0]], "job 0 op 0: missing or invalid start time -1"),
    ([[0, 0], [1]], [[0, 3.5], [0]], "job 0 op 1: missing or invalid start time 3.5"),
    ([[0, 0], [1]], [[0, float("nan")], [0]], "job 0 op 1: missing or invalid start time nan"),
    ([[0, 0], [1]], [[0, 2], [0]], "job 0: op 1 starts at 2 before op 0 ends at 3"),
    ([[0, 1], [1]], [[0, 3], [0]], r"machine 1: job 1 op 0 \[0, 5\) overlaps job 0 op 1 \[3, 7\)"),
])
def test_validator_catches_each_violation(machines, starts, message):
    report = validate_flexible_schedule(SMALL, machines, starts)
    assert not report.ok
    assert any(re.search(message, v) for v in report.violations), report.violations


def test_validator_checks_the_claimed_makespan_and_lets_zero_durations_share_a_machine():
    assert validate_flexible_schedule(SMALL, *VALID, claimed_makespan=4).violations == [
        "claimed makespan 4 != recomputed 5"]
    zero = parse_fjs(fjs("1 2 1 0 2 3").decode())  # job 1's op takes 0 on machine 0
    assert validate_flexible_schedule(zero, [[0, 0], [0]], [[0, 3], [1]]).ok  # inside job 0's [0, 3) on m0


def test_a_schedule_of_the_time_reversed_instance_read_backwards_is_one_of_the_instance():
    mirror = SMALL.time_reversed()
    assert mirror.jobs == ((((0, 2), (1, 4)), ((0, 3),)), (((1, 5),),)) and mirror.name == "small_reversed"
    assert mirror.time_reversed().jobs == SMALL.jobs
    backwards = FlexibleSchedule(mirror, [[0, 0], [1]], [[0, 2], [0]])  # by hand: makespan 5
    forwards = backwards.read_backwards(SMALL)
    assert (forwards.machines, forwards.start_times) == ((tuple(VALID[0][0]), tuple(VALID[0][1])),
                                                         (tuple(VALID[1][0]), tuple(VALID[1][1])))
    mk = load_fjsp("mk05")
    reversed_mk = mk.time_reversed()
    assert (reversed_mk.lower_bound, reversed_mk.upper_bound) == (mk.lower_bound, mk.upper_bound)
    schedule = dispatch_fjsp(reversed_mk, "mwkr-eet")
    assert schedule.read_backwards(mk).makespan == schedule.makespan  # recomputed by the validator
    with pytest.raises(ValueError, match="not of the time reversal of 'mk05'"):
        dispatch_fjsp(mk, "mwkr-eet").read_backwards(mk)


def test_schedule_json_and_registry_check_and_record():
    schedule = FlexibleSchedule(SMALL, *VALID)
    data = schedule.to_dict()
    assert data == {"instance": "small", "makespan": 5, "machines": [[0, 0], [1]], "start_times": [[0, 3], [0]]}
    assert json.loads(json.dumps(data)) == data
    assert FlexibleSchedule.from_dict(data, SMALL).to_dict() == data
    for solution in (schedule, data):
        result = check(SMALL, solution)
        assert result.ok and result.objective == result.objective_bound == 5
        assert FJSP.record(SMALL, solution, result.objective) == data
    assert check(SMALL, {**data, "machines": [[0, 0], [0]]}).violations == [
        "job 1 op 0: machine 0 is not eligible (eligible: [1])"]
    with pytest.raises(ArgumentError, match="a FlexibleSchedule or a mapping"):
        check(SMALL, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="invalid schedule"):
        _ = FlexibleSchedule(SMALL, [[0, 1], [1]], [[0, 3], [0]]).makespan
    with pytest.raises(ValueError, match="schedule is for 'other'"):
        FlexibleSchedule.from_dict({**data, "instance": "other"}, SMALL)
