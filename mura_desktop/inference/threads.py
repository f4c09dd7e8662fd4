"""How inference shares the CPU: OpenMP's wait policy and the number of threads.

By default idle OpenMP threads spin for a while before sleeping. With other work on the
cores (the GUI thread, image decoders, other programs) the spinning steals their time: a
forward pass on a loaded two-core machine took 1.7x as long as with passive waiting. The
policy is read when torch loads, so ``prefer_passive_waiting`` runs at the entry point.
"""

from __future__ import annotations

import os
import sys

_chosen: int | None = None


def prefer_passive_waiting() -> None:
    """Idle OpenMP threads sleep at once, unless the user set ``OMP_WAIT_POLICY``."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def leave_a_core_free() -> None:
    """Run inference (torch and OpenVINO alike) on all cores but one, unless the user chose
    (``OMP_NUM_THREADS``).

    With every core busy in inference the GUI thread waits for the CPU; on a loaded
    two-core machine two intra-op threads were also five times slower than one.
    """
    global _chosen
    if "OMP_NUM_THREADS" not in os.environ:
        _chosen = max(1, (os.cpu_count() or 1) - 1)
        if "torch" in sys.modules:
            apply_to_torch()


def inference_threads() -> int | None:
    """The threads inference is limited to (``OMP_NUM_THREADS``, or ``leave_a_core_free``'s
    choice), or None where each runtime takes its own default."""
    try:
        return int(os.environ["OMP_NUM_THREADS"])
    except (KeyError, ValueError):
        return _chosen


def apply_to_torch() -> None:
    """Hold torch to ``inference_threads`` (torch reads ``OMP_NUM_THREADS`` itself)."""
    import torch

    if _chosen is not None and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(min(torch.get_num_threads(), _chosen))
