"""Shared pieces of the benchmarks.

Everything here imports only torch and the standard library, except
``ours`` (our three paths), so the same models, settings and run functions
also execute inside the reference interpreter that has mmcv and mmengine.
"""
