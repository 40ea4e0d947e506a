"""Benchmark protocols: run a detector over a labelled dataset the way its leaderboard does."""
