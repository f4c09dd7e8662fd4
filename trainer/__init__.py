"""MURA trainer: produces model bundles for the viewer. Imports core and inference, never gui."""
