"""Studies, pixels, results and metrics. Pure Python + numpy + pydicom + Pillow: no Qt, no torch."""
