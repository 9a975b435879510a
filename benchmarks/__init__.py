"""Benchmarks of stammgast, run by `python -m benchmarks`; see docs/benchmarks.md."""
