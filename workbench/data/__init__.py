"""Scanning, splitting, decoding/caching and augmenting image folders."""
