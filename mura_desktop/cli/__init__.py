"""Headless command-line front ends (no Qt): predict, import-weights, model-info."""
