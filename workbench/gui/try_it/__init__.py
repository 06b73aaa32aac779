"""The try_it tab."""
