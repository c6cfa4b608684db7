"""The docstring job: prompt format, inference, evaluation, baselines, text metrics."""
