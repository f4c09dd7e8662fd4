"""How inference shares the CPU: OpenMP's wait policy and the number of threads.

By default idle OpenMP threads spin for a while before sleeping. With other work on the
cores (the GUI thread, image decoders, other programs) the spinning steals their time: a
forward pass on a loaded two-core machine took 1.7x as long as with passive waiting. The
policy is read when torch loads, so ``prefer_passive_waiting`` runs at the entry point.
"""

from __future__ import annotations

import os


def prefer_passive_waiting() -> None:
    """Idle OpenMP threads sleep at once, unless the user set ``OMP_WAIT_POLICY``."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def leave_a_core_free() -> None:
    """Run torch (and the OpenVINO backend, which follows it) on all cores but one, unless
    the user chose (``OMP_NUM_THREADS``).

    With every core busy in inference the GUI thread waits for the CPU; on a loaded
    two-core machine two intra-op threads were also five times slower than one.
    """
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, min(torch.get_num_threads(), cores - 1)))
