"""tracer: run Python programs in a sandbox, record their execution, build trace datasets."""
