"""Statistics of study-level results: intervals, calibration, paired comparisons.

Plain numpy and scipy (no Qt, no torch), so the CLI, the trainer and the viewer report
the same numbers.
"""
