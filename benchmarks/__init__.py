"""ipctrace's benchmarks: what tracing costs, how much capture keeps, how rendering scales.

Run them all with `.venv/bin/python -m benchmarks.run` from the repository root
(`--quick` for a smoke run); the table goes to `benchmarks/RESULTS.md`.
"""
