"""Schedules, the JSON format, the independent validator and the Gantt chart."""

import json

import numpy as np

from cpgym.instances import JobShopInstance, Schedule, validate_schedule

# 2 jobs x 2 machines, hand-checked: job 0 = M0(3) then M1(2); job 1 = M1(4) then M0(1).
TINY = JobShopInstance("tiny", [[0, 1], [1, 0]], [[3, 2], [4, 1]], lower_bound=6, upper_bound=6)


def test_hand_checked_optimal_schedule():
    starts = np.array([[0, 4], [0, 4]])  # job 1 on M0 at 4, after job 0 (ends 3) and its own op (ends 4)
    report = validate_schedule(TINY, starts, claimed_makespan=6)
    assert report.ok, report.violations
    assert report.makespan == 6


def test_every_violation_is_reported():
    starts = np.array([[0, 2], [1, 2]])
    report = validate_schedule(TINY, starts, claimed_makespan=3)
    text = "\n".join(report.violations)
    assert "job 0: op 1 starts at 2 before op 0 ends at 3" in text
    assert "job 1: op 1 starts at 2 before op 0 ends at 5" in text
    assert "machine 0" in text and "machine 1" in text  # overlaps on both machines
    assert "claimed makespan 3 != recomputed 5" in text
    assert len(report.violations) == 5


def test_missing_operations_and_bad_shape():
    assert "missing or invalid start" in validate_schedule(TINY, [[0, -1], [0, 4]]).violations[0]
    assert "expected (2, 2)" in validate_schedule(TINY, [[0, 4]]).violations[0]


def test_zero_duration_operation_occupies_no_time():
    instance = JobShopInstance("z", [[0, 1], [0, 1]], [[4, 0], [0, 2]])
    assert validate_schedule(instance, [[0, 4], [2, 4]]).ok


def test_json_round_trip():
    schedule = Schedule(TINY, np.array([[0, 4], [0, 4]]))
    data = json.loads(schedule.to_json())
    assert data == {"instance": "tiny", "makespan": 6, "start_times": [[0, 4], [0, 4]]}
    np.testing.assert_array_equal(Schedule.from_dict(data, TINY).start_times, schedule.start_times)


def test_gantt_chart_written(tmp_path):
    from cpgym.plot.gantt import plot_gantt

    path = tmp_path / "tiny.png"
    plot_gantt(Schedule(TINY, np.array([[0, 4], [0, 4]])), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "tiny.svg"
    plot_gantt(Schedule(TINY, np.array([[0, 4], [0, 4]])), svg)
    assert "<svg" in svg.read_text()
