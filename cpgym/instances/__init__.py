"""Problem data: instance types, parsers and writers, generators, bundled datasets, schedules."""

from cpgym.instances.errors import InstanceFormatError
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
from cpgym.instances.library import dataset, info, list_instances, load, taillard_seeds
from cpgym.instances.schedule import Schedule, ValidationReport, validate_schedule

__all__ = [
    "InstanceFormatError",
    "JobShopInstance",
    "Schedule",
    "ValidationReport",
    "dataset",
    "detect_layout",
    "format_orlib",
    "format_taillard",
    "info",
    "list_instances",
    "load",
    "parse_instances",
    "read_instance",
    "read_instances",
    "taillard",
    "taillard_seeds",
    "uniform",
    "validate_schedule",
    "write_instance",
]
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, load_capital_budgeting  # noqa: E402
from cpgym.instances.robust_knapsack import RobustKnapsackInstance, load_robust_knapsack  # noqa: E402

__all__ += ["CapitalBudgetingInstance", "RobustKnapsackInstance", "load_capital_budgeting", "load_robust_knapsack"]
