"""Decoding in memory-capped worker processes: a file that kills its worker fails alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mura_desktop.core.decoding import IsolatedDecoder
from mura_desktop.core.errors import ImageLoadError
from mura_desktop.core.pixels import load_image


@pytest.fixture
def decoder():
    decoder = IsolatedDecoder(workers=1)
    yield decoder
    decoder.close()


def _png(path: Path, size: int) -> Path:
    gray = (np.arange(size * size, dtype=np.uint32) % 65535).astype(np.uint16).reshape(size, size)
    Image.fromarray(gray).save(path)
    return path


def test_workers_decode_exactly_what_load_image_does(decoder, tmp_path):
    path = _png(tmp_path / "a.png", 64)
    np.testing.assert_array_equal(decoder.decode(path).pixels, load_image(path).pixels)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    assert "bad.png" in decoder.submit(tmp_path / "bad.png").result()
    with pytest.raises(ImageLoadError, match="image header is damaged"):
        decoder.decode(tmp_path / "bad.png")


def test_a_decoder_that_dies_fails_its_file_and_the_next_one_decodes(decoder, tmp_path):
    big = _png(tmp_path / "big.png", 6000)
    decoder.warm_up()
    future = decoder.submit(big)
    time.sleep(0.3)
    workers = list(decoder._pool._processes)  # the worker busy with the file
    for pid in workers:
        os.kill(pid, signal.SIGKILL)  # what a decoder crash or the memory cap does
    reason = future.result(timeout=60)
    assert isinstance(reason, str) and "decoder crashed or ran out of its" in reason
    small = _png(tmp_path / "small.png", 32)
    assert decoder.decode(small).pixels.shape == (32, 32)  # a fresh pool took over


def test_the_memory_cap_refuses_what_would_not_fit(tmp_path):
    capped = IsolatedDecoder(workers=1, memory_bytes=900 * 2**20)
    try:
        result = capped.submit(_png(tmp_path / "huge.png", 9000)).result(timeout=120)
    finally:
        capped.close()
    assert isinstance(result, str)  # refused or out of memory, never a dead process
    assert "huge.png" in result


def test_the_cap_is_on_top_of_what_the_parents_main_module_maps(tmp_path):
    """A spawned worker imports the parent's main module first: a script that maps a lot
    there (as `import torch` does) must still leave the worker its whole budget."""
    png = _png(tmp_path / "mid.png", 2000)
    script = tmp_path / "big_main.py"
    script.write_text(
        "import mmap, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "RESERVED = mmap.mmap(-1, 2 << 30)  # 2 GB of address space, untouched\n"
        "if __name__ == '__main__':\n"
        "    from mura_desktop.core.decoding import IsolatedDecoder\n"
        "    decoder = IsolatedDecoder(workers=1, memory_bytes=600 << 20)\n"
        f"    print(decoder.decode({str(png)!r}).pixels.shape)\n"
        "    decoder.close()\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(2000, 2000)"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited one not yet reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(sys.platform == "win32", reason="Windows does not reparent orphans")
def test_workers_exit_when_their_process_is_killed(tmp_path):
    """A viewer killed without shutting down (SIGKILL here) left its workers waiting forever."""
    image = _png(tmp_path / "a.png", 32)
    script = tmp_path / "holder.py"
    script.write_text(
        "import multiprocessing, sys, time\n"
        "from mura_desktop.core.decoding import IsolatedDecoder\n"
        "if __name__ == '__main__':\n"
        "    decoder = IsolatedDecoder(workers=2)\n"
        "    decoder.decode(sys.argv[1])\n"
        "    print(*[p.pid for p in multiprocessing.active_children()], flush=True)\n"
        "    time.sleep(300)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, str(script), str(image)], stdout=subprocess.PIPE, text=True
    )
    workers = [int(pid) for pid in holder.stdout.readline().split()]
    assert workers and all(_running(pid) for pid in workers)
    holder.kill()
    holder.wait()
    deadline = time.monotonic() + 20
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers), "orphaned decoding workers kept running"
