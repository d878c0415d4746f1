"""A user module that happens to share ipctrace's package name."""


def helper():
    return "my own tracer module"
