"""MURA Desktop: musculoskeletal radiograph viewer and abnormality-detection engine."""

__version__ = "0.1.0"
