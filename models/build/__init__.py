"""Reproducible model build: pinned sources -> verified bytes -> transforms -> lock."""
