"""Retraining and evaluation: reading labels.csv, cross-validation, thresholds, metrics."""
