"""A corpus of malformed and odd instance files: (file name, bytes, regex the error message must match).

Every entry must be refused with :class:`cpgym.errors.CpgymError` naming the file and (where a line
is at fault) the line; ``VALID`` entries must be read. Shared by the reader tests and the CLI tests.
"""

from __future__ import annotations

FT = "2 2\n0 1 1 2\n1 3 0 4\n"  # a valid 2 x 2 OR-Library instance
TAILLARD_HEADER = "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound\n"


def taillard(values: str = "2 2 1 2 10 5", times: str = "1 2\n3 4", machines: str = "1 2\n2 1") -> str:
    return f"{TAILLARD_HEADER}{values}\nTimes\n{times}\nMachines\n{machines}\n"


FJS_JOBS = "2 1 1 3 2 1 2 2 4\n1 1 2 5\n"  # job 0: op 0 on machine 1, op 1 on machine 1 or 2; job 1: one op
FJS = f"2 2 1.5\n{FJS_JOBS}"  # a valid 2 x 2 .fjs instance (machines 1-based)


def fjs(second_job: str) -> bytes:
    """The valid .fjs instance with job 1's line replaced."""
    return FJS.replace("1 1 2 5\n", f"{second_job}\n").encode()


INVALID: list[tuple[str, bytes, str]] = [
    # job shop, OR-Library layout
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"\n  \n\t\n", "empty file"),
    ("comments_only.txt", b"# a comment\n# another\n", "empty file"),
    ("header_only.txt", b"3 3\n", r"line 1: truncated: header announces 3 jobs, found 0"),
    ("zero_jobs.txt", b"0 3\n", "line 1: n_jobs and n_machines must be positive"),
    ("zero_machines.txt", b"2 0\n\n", "line 1: n_jobs and n_machines must be positive"),
    ("negative_count.txt", b"-2 2\n0 1 1 2\n", "line 1: n_jobs and n_machines must be positive"),
    ("huge_counts.txt", b"100000 100000\n0 1\n", "line 1: 100000 x 100000 operations exceed the limit"),
    ("one_count.txt", b"2\n0 1 1 2\n", r"line 1: expected 2 numbers \(n_jobs n_machines\), found 1"),
    ("three_counts.txt", b"2 2 2\n0 1 1 2\n1 3 0 4\n", "line 2: expected 5 integers"),  # a knapsack header
    ("word_count.txt", b"two 2\n", "line 1: 'two' is not an integer"),
    ("float_count.txt", b"2.0 2\n", r"line 1: '2.0' is not an integer"),
    ("float_duration.txt", b"2 2\n0 1.5 1 2\n1 3 0 4\n", r"line 2: '1.5' is not an integer"),
    ("underscore_digits.txt", b"2 2\n0 1_0 1 2\n1 3 0 4\n", "line 2: '1_0' is not an integer"),
    ("arabic_digits.txt", "2 2\n0 \u0661 1 2\n1 3 0 4\n".encode(), "line 2: '\u0661' is not an integer"),
    ("fullwidth_digits.txt", "2 2\n0 \uff11 1 2\n1 3 0 4\n".encode(), "line 2: '\uff11' is not an integer"),
    ("truncated_job.txt", b"2 2\n0 1 1 2\n1 3 0\n", r"line 3: expected 4 numbers"),
    ("missing_job.txt", b"3 2\n0 1 1 2\n1 3 0 4\n", "line 3: truncated: header announces 3 jobs, found 2"),
    ("extra_token.txt", b"2 2\n0 1 1 2 7\n1 3 0 4\n", r"line 2: expected 4 numbers"),
    ("extra_line.txt", (FT + "0 1 1 1\n").encode(), "line 4: extra line after the 2 announced jobs"),
    ("machine_out_of_range.txt", b"2 2\n0 1 2 2\n1 3 0 4\n", "line 2: job 0 operation 1: machine 2 out of range"),
    ("negative_machine.txt", b"2 2\n-1 1 1 2\n1 3 0 4\n", "line 2: job 0 operation 0: machine -1 out of range"),
    ("negative_duration.txt", b"2 2\n0 -1 1 2\n1 3 0 4\n", "line 2: job 0 operation 0: negative duration -1"),
    ("machine_twice.txt", b"2 2\n0 1 0 2\n1 3 0 4\n", "line 2: job 0 visits machine 0 twice"),
    ("nul_bytes.txt", b"2 2\n0 1\x00 1 2\n1 3 0 4\n", r"line 2: '1\\x00' is not an integer"),
    ("binary.bin", bytes(range(256)), "not a (UTF-8 )?text file"),
    ("latin1.txt", "# caf\u00e9\n2 2\n0 1 1 2\n1 3 0 4\n".encode("latin-1"), "not a (UTF-8 )?text file"),
    ("int64_overflow.txt", b"2 2\n0 99999999999999999999 1 2\n1 3 0 4\n", "line 2: 99999999999999999999 exceeds"),
    ("cpsat_domain.txt", b"2 2\n0 4611686018427387904 1 2\n1 3 0 4\n", "line 2: 4611686018427387904 exceeds"),
    ("duration_limit.txt", b"2 2\n0 1000000001 1 2\n1 3 0 4\n", "line 2: 1000000001 exceeds the limit 1,000,000,000"),
    ("semicolons.txt", b"2 2\n0;1 1;2\n1;3 0;4\n", r"line 2: expected 4 numbers"),
    # job shop, Taillard layout
    ("taillard_no_values.txt", TAILLARD_HEADER.encode(), "truncated: header without its values"),
    ("taillard_5_values.txt", taillard("2 2 1 2 10").encode(), r"line 2: expected 6 numbers"),
    ("taillard_no_times.txt", f"{TAILLARD_HEADER}2 2 1 2 10 5\n".encode(), "truncated: expected a 'Times' line"),
    ("taillard_no_machines.txt", f"{TAILLARD_HEADER}2 2 1 2 10 5\nTimes\n1 2\n3 4\n".encode(),
     "truncated: expected a 'Machines' line"),
    ("taillard_short_row.txt", taillard(times="1 2\n3").encode(), r"line 5: expected 2 numbers"),
    ("taillard_missing_row.txt", taillard(machines="1 2").encode(), "truncated: 'Machines' needs 2 rows, found 1"),
    ("taillard_zero_based.txt", taillard(machines="0 1\n1 0").encode(), "Taillard machines are 1-based"),
    ("taillard_bounds_contradict.txt", taillard("2 2 1 2 5 10").encode(),
     "line 2: lower bound 10 exceeds upper bound 5"),
    ("taillard_bad_label.txt", taillard().replace("Times", "Durations").encode(), "expected 'Times', found"),
    ("taillard_machine_twice.txt", taillard(machines="1 1\n2 1").encode(), "job 0 visits machine 0 twice"),
    ("taillard_garbage_after.txt", (taillard() + "hello\n").encode(), "expected the header 'Nb of jobs"),
    # robust knapsack (header: n C Gamma)
    ("rkp_missing_item.txt", b"3 10 1\n5 1 1 3 2\n4 2 1 4 1\n", "line 3: expected 3 item lines, found 2"),
    ("rkp_extra_item.txt", b"1 10 1\n5 1 1 3 2\n4 2 1 4 1\n", "line 3: expected 1 item lines, found 2"),
    ("rkp_short_item.txt", b"2 10 1\n5 1 1 3\n4 2 1 4 1\n", r"line 2: expected 5 integers"),
    ("rkp_nan.txt", b"2 10 1\n5 nan 1 3 2\n4 2 1 4 1\n", "line 2: 'nan' is not an integer"),
    ("rkp_inf_gamma.txt", b"2 10 inf\n5 1 1 3 2\n4 2 1 4 1\n", "line 1: Gamma = inf is outside"),
    ("rkp_nan_gamma.txt", b"2 10 nan\n5 1 1 3 2\n4 2 1 4 1\n", "line 1: Gamma = nan"),
    ("rkp_negative_weight.txt", b"2 10 1\n5 1 1 -3 2\n4 2 1 4 1\n", "line 2: negative value"),
    ("rkp_negative_capacity.txt", b"2 -10 1\n5 1 1 3 2\n4 2 1 4 1\n", "line 1: negative value"),
    ("rkp_gamma_above_n.txt", b"2 10 3\n5 1 1 3 2\n4 2 1 4 1\n", "line 1: Gamma = 3 is outside 0..n = 0..2"),
    ("rkp_fractional_n.txt", b"2.5 10 1\n5 1 1 3 2\n4 2 1 4 1\n", "line 1: '2.5' is not an integer"),
    ("rkp_zero_items.txt", b"0 10 0\n", "line 1: the instance has no items"),
    # capital budgeting (header: seed N xi_dim B max_loan)
    ("cb_missing_lines.txt", b"1 2 1 10 0\n3 4\n5 6\n1\n1\n1\n", "expected 7 non-blank lines for N = 2, found 6"),
    ("cb_wrong_count.txt", b"1 2 1 10 0\n3 4 5\n5 6\n1\n1\n1\n1\n", r"line 2: expected 2 numbers \(cbar\)"),
    ("cb_nan.txt", b"1 2 1 10 0\n3 nan\n5 6\n1\n1\n1\n1\n", "line 2: 'nan' is not finite"),
    ("cb_inf_budget.txt", b"1 2 1 inf 0\n3 4\n5 6\n1\n1\n1\n1\n", "line 1: 'inf' is not finite"),
    ("cb_negative_cost.txt", b"1 2 1 10 0\n-3 4\n5 6\n1\n1\n1\n1\n", "line 2: costs cbar must be positive"),
    ("cb_negative_revenue.txt", b"1 2 1 10 0\n3 4\n-5 6\n1\n1\n1\n1\n", "line 3: revenues rbar must be"),
    ("cb_negative_budget.txt", b"1 2 1 -10 0\n3 4\n5 6\n1\n1\n1\n1\n", "line 1: the budget B must be"),
    ("cb_fractional_n.txt", b"1 2.5 1 10 0\n3 4\n5 6\n1\n1\n1\n1\n", "line 1: N must be a positive integer"),
    ("cb_not_probability.txt", b"1 2 1 10 0\n3 4\n5 6\n0.5\n1\n1\n1\n", "line 4: phi_0 must be a probability"),
    # flexible job shop (.fjs: header n m [flexibility]; a job line: n_ops, then k and k machine/duration pairs)
    ("fjs_missing_job.txt", f"3 2 1.5\n{FJS_JOBS}".encode(), "line 3: truncated: header announces 3 jobs, found 2"),
    ("fjs_extra_job.txt", (FJS + "1 1 1 1\n").encode(), "line 4: extra line after the 2 announced jobs"),
    ("fjs_zero_jobs.txt", b"0 2 1\n1 1 1 5\n", "line 1: n_jobs and n_machines must be positive, got 0 2"),
    ("fjs_nan_flexibility.txt", f"2 2 nan\n{FJS_JOBS}".encode(), r"line 1: 'nan' is not a number >= 0 \(average"),
    ("fjs_negative_flexibility.txt", f"2 2 -1\n{FJS_JOBS}".encode(), "line 1: '-1' is not a number >= 0"),
    ("fjs_missing_operation.txt", fjs("2 1 2 5"), "line 3: job 1: truncated: announces 2 operations, found 1"),
    ("fjs_truncated_operation.txt", fjs("1 2 2 5"), "line 3: job 1 operation 0: truncated: announces 2 machines"),
    ("fjs_extra_numbers.txt", fjs("1 1 2 5 7"), r"line 3: job 1: 1 extra number\(s\) after the 1 announced"),
    ("fjs_zero_operations.txt", fjs("0"), "line 3: job 1: the number of operations must be positive, got 0"),
    ("fjs_zero_machines.txt", fjs("1 0"), "line 3: job 1 operation 0: the number of machines must be in 1..2, got 0"),
    ("fjs_too_many_machines.txt", fjs("1 3 1 5 2 6 1 7"), "line 3: job 1 operation 0: the number of machines"),
    ("fjs_zero_based_machine.txt", fjs("1 1 0 5"), r"line 3: job 1 operation 0: machine 0 out of range 1..2 \(mach"),
    ("fjs_machine_out_of_range.txt", fjs("1 1 3 5"), "line 3: job 1 operation 0: machine 3 out of range 1..2"),
    ("fjs_machine_twice.txt", fjs("1 2 2 5 2 6"), "line 3: job 1 operation 0: machine 2 listed twice"),
    ("fjs_negative_duration.txt", fjs("1 1 2 -5"), "line 3: job 1 operation 0: negative duration -5"),
    ("fjs_float_duration.txt", fjs("1 1 2 5.5"), r"line 3: '5.5' is not an integer \(job 1\)"),
    ("fjs_word.txt", fjs("1 1 two 5"), "line 3: 'two' is not an integer"),
    ("fjs_duration_limit.txt", fjs("1 1 2 1000000001"), "line 3: 1000000001 exceeds the limit 1,000,000,000"),
]

VALID: list[tuple[str, bytes, int]] = [  # (file name, bytes, number of instances)
    ("crlf.txt", FT.replace("\n", "\r\n").encode(), 1),
    ("tabs.txt", FT.replace(" ", "\t").encode(), 1),
    ("bom.txt", ("\ufeff" + FT).encode(), 1),
    ("bom_comment.txt", ("\ufeff# a comment\n" + FT).encode(), 1),
    ("plus_sign.txt", b"2 2\n0 +1 1 2\n1 3 0 4\n", 1),
    ("all_zero.txt", b"2 2\n0 0 1 0\n1 0 0 0\n", 1),
    ("taillard_two.txt", (taillard() + taillard()).encode(), 2),
    ("fjs_tabs_trailing_spaces.txt", FJS.replace(" ", "\t").replace("\n", " \t\n").encode(), 1),
    ("fjs_crlf.txt", FJS.replace("\n", "\r\n").encode(), 1),
    ("fjs_two_number_header.txt", f"2 2\n{FJS_JOBS}".encode(), 1),
    ("fjs_zero_duration.txt", fjs("1 2 1 0 2 3"), 1),
]
