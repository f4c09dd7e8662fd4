"""What would decoding in a memory-capped worker process cost? Side by side, repeated.

Decodes the shared real radiograph DICOMs (``../shared/data/dicom``) and a few generated
ones with ``load_image``: in this process, and in a pool of worker processes (each with an
address-space cap) that send the float32 pixels back. Prints milliseconds per image for
both, their ratio, and the largest image's transfer size.

    python bench/bench_decode_isolation.py [--repeats 3] [--memory-gb 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mura_desktop.core.errors import ImageLoadError  # noqa: E402
from mura_desktop.core.pixels import load_image  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "dicom"


def _cap(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _decode(path: str):
    try:
        return load_image(path).pixels
    except ImageLoadError as exc:
        return exc.reason


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-gb", type=float, default=2.0)
    args = parser.parse_args()
    paths = sorted(str(p) for p in SHARED.glob("*.dcm")) + sorted(
        str(p) for p in (ROOT / "resources" / "samples").rglob("*.png")
    )
    if not paths:
        print("no images found")
        return 1
    cap = int(args.memory_gb * 2**30)
    pool = ProcessPoolExecutor(
        2, mp_context=get_context("spawn"), initializer=_cap, initargs=(cap,)
    )
    list(pool.map(_decode, paths[:2]))  # start the workers and import the decoders once
    largest = max((p for p in map(_decode, paths) if not isinstance(p, str)), key=lambda a: a.size)
    rows = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for path in paths:
            _decode(path)
        inline = (time.perf_counter() - start) / len(paths)
        start = time.perf_counter()
        list(pool.map(_decode, paths))  # two workers, as the predictor decodes ahead
        pooled = (time.perf_counter() - start) / len(paths)
        start = time.perf_counter()
        for path in paths:
            pool.submit(_decode, path).result()  # one at a time: the latency a view sees
        serial = (time.perf_counter() - start) / len(paths)
        rows.append((inline, pooled, serial))
    pool.shutdown()
    size = f"{largest.shape[1]}×{largest.shape[0]} ({largest.nbytes / 2**20:.1f} MB float32)"
    print(f"{len(paths)} images; largest {size}; load {os.getloadavg()[0]:.1f}")
    print(f"{'in process':>12}{'2 workers':>12}{'1 worker':>12}  ms per image")
    for inline, pooled, serial in rows:
        print(f"{inline * 1e3:>12.1f}{pooled * 1e3:>12.1f}{serial * 1e3:>12.1f}"
              f"   worker/in-process {serial / inline:.2f}×")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
