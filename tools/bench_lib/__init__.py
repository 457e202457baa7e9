"""Helpers shared by the benchmarks under tools/ (each one runs by hand, as root)."""
