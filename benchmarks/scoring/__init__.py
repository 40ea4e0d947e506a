"""Benchmark scorers: SKAB and NAB rules, and detection on simulated fleets."""
