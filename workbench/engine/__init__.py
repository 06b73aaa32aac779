"""The training engine: loop, events, early stopping, schedules, checkpoints. Imports no Qt."""
