"""The compiled hot path of the Python recorder (tracer/record/hotc.c), built by the package install.

Optional: where it cannot be compiled (no C compiler, no Python headers) the install goes on and the
recorder uses its pure-Python wrappers (ipctrace.record.hot). Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ipctrace.record._hotc",
            sources=["tracer/record/hotc.c"],
            depends=["tracer/record/hotc_layout.h"],
            optional=True,
        )
    ]
)
