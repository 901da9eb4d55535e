"""Problem data: instance types, readers and writers, generators, bundled datasets and bounds,
schedules and their validator, the problem registry and the name-or-path resolver."""

from cpgym.errors import InstanceFormatError
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, load_capital_budgeting  # registers "cb"
from cpgym.instances.fjsp import FlexibleJobShopInstance, format_fjs, parse_fjs, read_fjs, write_fjs
from cpgym.instances.fjsp_generators import generate_hurink, generate_sd1, generate_sd2
from cpgym.instances.fjsp_library import fjsp_dataset, list_fjsp, load_fjsp  # registers "fjsp"
from cpgym.instances.fjsp_schedule import FlexibleSchedule, validate_flexible_schedule
from cpgym.instances.generators import taillard, uniform
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.jobshop_io import (
    detect_layout,
    format_orlib,
    format_taillard,
    parse_instances,
    read_instance,
    read_instances,
    write_instance,
)
from cpgym.instances.library import InstanceInfo, info, list_instances, load, taillard_seeds
from cpgym.instances.problems import Check, Problem, check, get_problem, problem_of, problems
from cpgym.instances.resolve import dataset, resolve_instance, resolve_instances
from cpgym.instances.robust_knapsack import RobustKnapsackInstance, load_robust_knapsack  # registers "rkp"
from cpgym.instances.schedule import Schedule, ValidationReport, validate_schedule

__all__ = [
    "CapitalBudgetingInstance",
    "Check",
    "FlexibleJobShopInstance",
    "FlexibleSchedule",
    "InstanceFormatError",
    "InstanceInfo",
    "JobShopInstance",
    "Problem",
    "RobustKnapsackInstance",
    "Schedule",
    "ValidationReport",
    "check",
    "dataset",
    "detect_layout",
    "fjsp_dataset",
    "format_fjs",
    "format_orlib",
    "format_taillard",
    "generate_hurink",
    "generate_sd1",
    "generate_sd2",
    "get_problem",
    "info",
    "list_fjsp",
    "list_instances",
    "load",
    "load_capital_budgeting",
    "load_fjsp",
    "load_robust_knapsack",
    "parse_fjs",
    "parse_instances",
    "problem_of",
    "problems",
    "read_fjs",
    "read_instance",
    "read_instances",
    "resolve_instance",
    "resolve_instances",
    "taillard",
    "taillard_seeds",
    "uniform",
    "validate_flexible_schedule",
    "validate_schedule",
    "write_fjs",
    "write_instance",
]
