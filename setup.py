"""Build the tracer's C trace function; the project's metadata is in pyproject.toml.

`optional=True`: where no C compiler is found the install still succeeds and the tracer falls
back to its Python trace function (same traces, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("tracer._ctrace", ["tracer/_ctrace.c"], depends=["tracer/_ctrace_reprs.h"],
                             optional=True)])
