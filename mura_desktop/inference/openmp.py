"""OpenMP's wait policy for this process, which must be set before torch loads.

By default idle OpenMP threads spin for a while before sleeping. With other work on the
cores (the GUI thread, image decoders, other programs) the spinning steals their time: a
forward pass on a loaded two-core machine took 1.7x as long as with passive waiting.
"""

from __future__ import annotations

import os


def prefer_passive_waiting() -> None:
    """Idle OpenMP threads sleep at once, unless the user set ``OMP_WAIT_POLICY``."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
