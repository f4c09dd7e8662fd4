"""One process or many under ``torchrun``: rank, device, process group, gathering results.

``torchrun --nproc_per_node N -m trainer fit ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; each process then trains on its shard (NCCL on GPUs, gloo on the CPU) and
only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from mura_desktop.inference.device import choose_device


@dataclass(frozen=True)
class Runtime:
    """Where this process runs and which part of the job it does."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    note: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device_request: str = "auto") -> Runtime:
    """Pick the device and, under ``torchrun``, join the process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device, note = choose_device(device_request)
    if world_size > 1 and device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"rank {rank}: LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPUs"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
    return Runtime(device, rank, world_size, local_rank, note)


def stop(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def gather_objects(runtime: Runtime, obj: Any) -> list[Any]:
    """``obj`` from every rank, in rank order (just ``[obj]`` in one process)."""
    if not runtime.distributed:
        return [obj]
    out: list[Any] = [None] * runtime.world_size
    dist.all_gather_object(out, obj)
    return out


def sum_across(runtime: Runtime, values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over ranks (float64 on the process group's device)."""
    if not runtime.distributed:
        return list(values)
    device = runtime.device if runtime.device.type == "cuda" else torch.device("cpu")
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def broadcast_object(runtime: Runtime, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not runtime.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()


def sync_buffers(runtime: Runtime, module: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics drift apart between ranks)."""
    if runtime.distributed:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)
