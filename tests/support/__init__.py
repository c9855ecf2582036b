"""Helpers shared by tests and benchmarks (demo scenes, a stand-in browser); not installed."""
