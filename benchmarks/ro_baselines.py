"""CCG and exact evaluation on a handful of robust knapsack / capital budgeting instances.

Prints, per instance: CCG objective (certified) and bound vs the branch-and-price best-known
value (knapsack) or the literature k-adaptability decisions scored by the exact evaluator and
the sampled estimate (capital budgeting), with times. Usage:
``python benchmarks/ro_baselines.py [--time-limit 60]``.
"""

from __future__ import annotations

import argparse

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.cp_models.robust.ccg import solve_ccg
from cpgym.instances.capital_budgeting import k_adaptability_results, load_capital_budgeting
from cpgym.instances.robust_knapsack import load_robust_knapsack

KNAPSACK = [
    "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5",
    "RKP_WC_n20_R1000_H100_h80_dev0.15_d1",
    "RKP_ASC_n30_R1000_H100_h40_dev0.15_d0.1",
    "RKP_SC_n30_R1000_H100_h80_dev0.2_d1",
]
CAPITAL = ["CB_n10_xi4_s1", "CB_n10_xi4_s2", "CB_n20_xi4_s1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    print("instance | CCG objective | CCG bound | best-known (B&P, optimal?) | status | time s")
    for name in KNAPSACK:
        inst = load_robust_knapsack(name)
        r = solve_ccg(inst, time_limit=args.time_limit)
        print(f"{name} | {r.objective:.2f} | {r.bound:.2f} | {inst.best_known} ({inst.proven_optimal}) | "
              f"{r.status} | {r.time:.1f}")
    print("\ninstance | K | k-adapt revenue (-obj) | exact lower | exact upper | sampled (optimistic) | eval s")
    for name in CAPITAL:
        inst = load_capital_budgeting(name)
        for k in k_adaptability_results(name):
            ev = evaluate_capital_budgeting(inst, k.x, time_limit=args.time_limit / 4)
            sm = sampled_capital_budgeting(inst, k.x)
            print(f"{name} | {k.K} | {-k.objective:.4f} | {ev.lower:.4f} | {ev.upper:.4f} | {sm.objective:.4f} | "
                  f"{ev.time:.1f}")
        r = solve_ccg(inst, time_limit=args.time_limit)
        sm = sampled_capital_budgeting(inst, r.x)
        print(f"{name} | CCG | - | {r.objective:.4f} | bound {r.bound:.4f} | {sm.objective:.4f} | {r.time:.1f}")


if __name__ == "__main__":
    main()
