"""The results tab."""
