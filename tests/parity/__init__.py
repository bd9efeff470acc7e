"""Parity scenarios: one scenario code base run against the originals
(to record fixtures) and against this project (to compare with them)."""
