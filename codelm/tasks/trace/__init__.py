"""The trace job: input format, prediction with a trained model, evaluation, baselines."""
