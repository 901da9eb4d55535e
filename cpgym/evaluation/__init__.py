"""The evaluator's parts: dataset and method specs, the task runner, results storage, reports."""
