"""codelm: a general transformer core for code, its objectives, training and generation."""

__version__ = "0.1.0"
