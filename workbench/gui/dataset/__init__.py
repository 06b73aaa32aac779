"""The dataset tab."""
