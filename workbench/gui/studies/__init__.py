"""The studies of the window: the learning-rate finder and cross-validation."""
