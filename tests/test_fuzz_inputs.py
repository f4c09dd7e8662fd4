"""A small sample of the fuzz run (bench/fuzz_inputs.py): every mutant handled, in a child
process with a memory cap and a timeout; nothing wrong, crashed, hung or modified."""

from __future__ import annotations

import importlib.util
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
def test_a_sample_of_mutants_is_all_handled(fuzz, tmp_path):
    seeds = fuzz.write_seeds(tmp_path / "seeds")
    work = tmp_path / "work"
    work.mkdir()
    outcomes = list(fuzz.run(seeds, 3, 11, timeout=30, memory_bytes=3 << 30, work=work))
    assert len(outcomes) == 3 * len(seeds)
    bad = [(m.name, o, d) for m, o, d in outcomes if o != "handled"]
    assert bad == []
