"""A small sample of the fuzz run (bench/fuzz_inputs.py): every mutant handled, in a child
process with a memory cap and a timeout; nothing wrong, crashed, hung or modified."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "fuzz_inputs.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_inputs", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_mutants_are_deterministic(fuzz, tmp_path):
    seeds = fuzz.write_seeds(tmp_path / "seeds", include_shared=False)
    assert {p.suffix for p in seeds} >= {".dcm", ".png", ".jpg"}
    first = fuzz.mutants(seeds[0], 12, seed=3)
    assert first == fuzz.mutants(seeds[0], 12, seed=3)
    assert first != fuzz.mutants(seeds[0], 12, seed=4)
    assert len({m.data for m in first}) == len(first)


@pytest.mark.slow
def test_a_sample_of_mutants_is_all_handled():
    # The script itself, in a fresh process: it forks a child per mutant, which is only
    # safe from a process without threads (this one has Qt's and the decoders').
    done = subprocess.run(
        [sys.executable, str(BENCH), "--per-seed", "3", "--seed", "11", "--timeout", "30"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    totals = next(line for line in done.stdout.splitlines() if line.startswith("all "))
    tried, handled, *bad = (int(n) for n in totals.split()[1:])
    assert tried >= 3 * 10 and handled == tried and bad == [0, 0, 0, 0]
