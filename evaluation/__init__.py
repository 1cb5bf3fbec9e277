"""Evaluate a model as the Assistant over held-out tasks: metrics, runs, reports."""
