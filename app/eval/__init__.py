"""Evaluation and calibration on labelled folders (a product feature: point it at your own data)."""
