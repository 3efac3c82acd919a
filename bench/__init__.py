"""Benchmarks (not part of the test suite): each prints one JSON line of figures."""
