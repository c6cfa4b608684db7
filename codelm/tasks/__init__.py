"""What each job does with a trained model: docstring, search, trace."""
