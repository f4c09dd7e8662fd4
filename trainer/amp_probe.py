"""Whether bfloat16 autocast trains faster than float32 on this CPU, by measuring it.

CPU flags say only that bfloat16 kernels exist: on an AVX512-BF16 CPU without AMX the
DenseNet's bfloat16 forward ran no faster than float32 (bench/bench_runtime.py), and
training pays the casts as well. So ``--amp auto`` on the CPU times a few training steps
(forward, backward) of the run's own architecture and size both ways, interleaved, and
takes bfloat16 only when it is at least ``MIN_SPEEDUP`` faster. The verdict is kept in the
runtime cache per machine, thread count, architecture, size and memory format.
"""

from __future__ import annotations

import contextlib
import logging
import time

import torch

from mura_desktop.core.locations import runtime_cache_dir
from mura_desktop.inference.backends.cache import (
    machine_fingerprint,
    read_json,
    write_json,
)
from mura_desktop.inference.backends.torch_runtime import cpu_bfloat16_supported
from mura_desktop.inference.network import build_network

log = logging.getLogger(__name__)

MIN_SPEEDUP = 1.15
PROBE_BATCH = 2
PROBE_ROUNDS = 2


def bfloat16_trains_faster(arch: str, size: int, *, channels_last: bool = True) -> bool:
    """Measured (once per machine and setting): does bf16 autocast beat float32 here?"""
    if not cpu_bfloat16_supported():
        return False
    threads = torch.get_num_threads()
    layout = "cl" if channels_last else "nchw"
    key = f"{arch}-{size}px-{layout}-{machine_fingerprint()}-{threads}t"
    path = runtime_cache_dir() / "amp" / f"{key}.json"
    stored = read_json(path)
    if stored is not None and "speedup" in stored:
        return stored["speedup"] >= MIN_SPEEDUP
    speedup = measure_speedup(arch, size, channels_last=channels_last)
    log.info("bfloat16 autocast trains %.2fx as fast as float32 here", speedup)
    with contextlib.suppress(OSError):  # without a cache the next run measures again
        write_json(path, {"speedup": speedup})
    return speedup >= MIN_SPEEDUP


def measure_speedup(arch: str, size: int, *, channels_last: bool = True) -> float:
    """float32 step time / bfloat16 step time, best of ``PROBE_ROUNDS`` interleaved rounds."""
    torch.manual_seed(0)
    net = build_network(arch).train()
    layout = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=layout)
    x = torch.randn(PROBE_BATCH, 3, size, size).contiguous(memory_format=layout)

    def step(bf16: bool) -> float:
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        start = time.perf_counter()
        with autocast:
            loss = net(x).float().sum()
        loss.backward()
        net.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    step(False), step(True)  # warm-up: kernels chosen, memory allocated
    fp32 = bf16 = float("inf")
    for _ in range(PROBE_ROUNDS):
        fp32 = min(fp32, step(False))
        bf16 = min(bf16, step(True))
    return fp32 / bf16
