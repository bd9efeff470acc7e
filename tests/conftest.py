"""Shared test setup.

One intra-op thread per test worker: pytest-xdist already runs one worker per
core, and the parity fixtures were recorded single-threaded.
"""
import torch

torch.set_num_threads(1)
