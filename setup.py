"""The compiled parts, built by the package install: the Python recorder's hot path (tracer/record/hotc.c)
and the trace reader's event lines (tracer/eventlines_c.c).

Optional: where they cannot be compiled (no C compiler, no Python headers) the install goes on and the
recorder uses its pure-Python wrappers (ipctrace.record.hot), the reader its Python loop (ipctrace.eventlines).
Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ipctrace.record._hotc",
            sources=["tracer/record/hotc.c"],
            depends=["tracer/record/hotc_layout.h"],
            optional=True,
        ),
        Extension("ipctrace._eventlines", sources=["tracer/eventlines_c.c"], optional=True),
    ]
)
