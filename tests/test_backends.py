"""Inference backends: every runtime and precision against torch float32 (the accuracy
guard), OpenVINO's graph outputs, the caches, what ``auto`` may pick, and scoring on
OpenVINO without importing torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mura_desktop.core.pixels import load_image
from mura_desktop.core.resources import default_model_path
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.inference.backends import BackendUnavailableError
from mura_desktop.inference.backends.agreement import compare
from mura_desktop.inference.backends.choice import (
    build_backend,
    cpu_candidates,
    every_cpu_candidate,
    open_backend,
    probe,
    reference,
    start_backend,
)
from mura_desktop.inference.backends.openvino_runtime import (
    OpenVinoBackend,
    openvino_unavailable_reason,
)
from mura_desktop.inference.backends.torch_runtime import TorchBackend
from mura_desktop.inference.bundle import ModelBundle, load_bundle
from mura_desktop.inference.network import build_network
from mura_desktop.inference.preprocess import preprocess_batch

pytestmark = pytest.mark.usefixtures("one_torch_thread")
needs_openvino = pytest.mark.skipif(
    openvino_unavailable_reason() is not None, reason="OpenVINO is not installed"
)
CPU = "cpu"


@pytest.fixture(scope="module")
def demo_bundle() -> ModelBundle:
    path = default_model_path()
    if path is None:
        pytest.skip("no bundled demo model")
    return load_bundle(path)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory, demo_bundle: ModelBundle) -> np.ndarray:
    """Phantom views the demo model never saw (a seed of their own), all seven parts."""
    from mura_desktop.phantoms import generate_dataset

    root = generate_dataset(tmp_path_factory.mktemp("held-out"), 14, seed=4242, size=256).root
    pixels = [load_image(p).pixels for p in sorted(root.rglob("*.png"))][:32]
    return preprocess_batch(pixels, demo_bundle.input_size, demo_bundle.mean, demo_bundle.std)


@pytest.mark.slow
def test_every_backend_and_precision_agrees_with_torch_float32(
    demo_bundle: ModelBundle, held_out: np.ndarray, capsys
) -> None:
    reference = TorchBackend(demo_bundle, CPU, "float32").forward(held_out, maps=True)
    verdicts = {}
    for candidate in every_cpu_candidate():
        got = build_backend(demo_bundle, candidate).forward(held_out, maps=True)
        verdicts[candidate] = agreement = compare(demo_bundle, reference, got)
        with capsys.disabled():
            print(f"\n{candidate.key}: {agreement.line()}")
        if candidate.precision == "float32":
            assert agreement.passed and agreement.near_threshold_flips == 0
            assert agreement.max_dp < 1e-4 and agreement.min_correlation > 0.9999
    assert len(verdicts) >= 2 or openvino_unavailable_reason() is not None
    chosen = open_backend(demo_bundle, "auto", "cpu")
    records = probe(demo_bundle, cpu_candidates())
    assert records[f"{chosen.name} {chosen.precision}"]["passed"]


def test_the_guard_fails_a_changed_verdict_and_a_different_heatmap(
    demo_bundle: ModelBundle, held_out: np.ndarray
) -> None:
    reference = TorchBackend(demo_bundle, CPU, "float32").forward(held_out[:8], maps=True)
    assert compare(demo_bundle, reference, reference).passed
    shifted = [replace(o, logit=o.logit + 3.0) for o in reference]  # every p far up
    far = compare(demo_bundle, reference, shifted)
    assert not far.passed and far.flips > 0 and far.max_dlogit == pytest.approx(3.0)
    mirrored = [replace(o, maps=o.maps[..., ::-1, ::-1]) for o in reference]
    moved = compare(demo_bundle, reference, mirrored)
    assert moved.flips == 0 and moved.min_correlation < 0.99 and not moved.passed


@needs_openvino
def test_openvino_returns_every_head_and_member_and_compiles_once(runtime_cache: Path) -> None:
    torch.manual_seed(3)
    members = [build_network("densenet121", body_part_head=True).state_dict() for _ in range(2)]
    bundle = ModelBundle("densenet121", members, input_size=64, body_parts=BODY_PARTS)
    batch = np.random.default_rng(3).standard_normal((3, 3, 64, 64)).astype(np.float32)
    expected = TorchBackend(bundle, CPU, "float32").forward(batch, maps=True)
    blobs = runtime_cache / "mura-desktop" / "runtime" / "openvino-compiled"
    before = set(blobs.glob("*.blob"))
    ov = OpenVinoBackend(bundle, "float32")
    got = ov.forward(batch, maps=True)
    assert len(got) == 2
    for e, g in zip(expected, got, strict=True):
        for name in ("logit", "body_part", "maps"):
            assert getattr(g, name).dtype == np.float32, name
            np.testing.assert_allclose(getattr(g, name), getattr(e, name), atol=1e-4, rtol=1e-4)
    assert ov.forward(batch[:1], maps=False)[0].maps is None
    compiled = {p: p.stat().st_mtime_ns for p in blobs.glob("*.blob")}
    assert len(set(compiled) - before) == 2  # one per member
    OpenVinoBackend(bundle, "float32")  # a second load reads the blobs it compiled
    assert {p: p.stat().st_mtime_ns for p in blobs.glob("*.blob")} == compiled


@needs_openvino
def test_auto_on_the_cpu_runs_openvino_without_importing_torch_even_when_probing(
    tiny_bundle_path: Path, runtime_cache: Path
) -> None:
    """A first launch (nothing kept) probes OpenVINO's precisions only, and a later one
    reads that probe; neither imports torch."""
    code = (
        "import sys\n"
        "from mura_desktop.inference.bundle import load_bundle\n"
        "from mura_desktop.inference.backends.choice import open_backend\n"
        "from mura_desktop.inference.predictor import Predictor\n"
        "from mura_desktop.core.discovery import discover\n"
        "from mura_desktop.core.resources import sample_paths\n"
        "if __name__ == '__main__':\n"
        f"    bundle = load_bundle({str(tiny_bundle_path)!r})\n"
        "    backend = open_backend(bundle, 'auto', 'cpu')\n"
        "    study = discover(sample_paths()).studies[0]\n"
        "    with Predictor(bundle, backend=backend) as predictor:\n"
        "        result = predictor.predict_study(study)\n"
        "    assert result.result.probability is not None and result.heatmaps\n"
        "    print(predictor.runtime, 'torch' in sys.modules)\n"
    )
    probes = runtime_cache / "mura-desktop" / "runtime" / "probes"
    for launch in ("first", "later"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ})  # fmt: skip
        assert out.returncode == 0, (launch, out.stderr)
        assert out.stdout.split()[0] == "openvino" and out.stdout.split()[-1] == "False"
    if len(cpu_candidates()) > 1:  # a CPU with OpenVINO bfloat16: there was a choice
        kept = list(probes.glob("*.json"))
        measured = [key for p in kept for key in json.loads(p.read_text())["candidates"]]
        assert kept and all(key.startswith("openvino ") for key in measured), measured


def test_probe_is_measured_once_and_explicit_choices_are_honoured(
    tiny_bundle_path: Path, runtime_cache: Path
) -> None:
    bundle = load_bundle(tiny_bundle_path)
    records = probe(bundle, cpu_candidates())
    assert reference(cpu_candidates()).key in records
    assert all("ms_per_view" in r for r in records.values())
    stored = list((runtime_cache / "mura-desktop" / "runtime" / "probes").glob("*.json"))
    stamp = {p: p.stat().st_mtime_ns for p in stored}
    auto = open_backend(bundle, "auto", "cpu")
    assert records[f"{auto.name} {auto.precision}"]["passed"]
    assert {p: p.stat().st_mtime_ns for p in stored} == stamp  # read, not measured again
    exact = open_backend(bundle, "torch", "cpu", precision="float32")
    assert (exact.name, exact.precision) == ("torch", "float32")
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        open_backend(bundle, "tensorrt")
    with pytest.raises(BackendUnavailableError, match="cannot run float16"):
        open_backend(bundle, "openvino", "cpu", precision="float16")


def test_a_first_load_starts_on_the_reference_and_measures_the_probe_in_units(
    tiny_bundle_path: Path, tmp_path: Path
) -> None:
    """Nothing kept: the backend to start on is the guard's reference and the probe is left
    to run a unit at a time; once it is done the choice is kept and a later start makes it
    at once, with no probe."""
    bundle = load_bundle(tiny_bundle_path)
    candidates = cpu_candidates()
    started, pending = start_backend(bundle, "auto", "cpu", cache=tmp_path)
    if len(candidates) < 2:
        assert pending is None  # no choice to measure on this CPU
        return
    assert (started.name, started.precision) == (reference(candidates).backend, "float32")
    probes = tmp_path / "probes"
    units = 0
    while not pending.step():
        units += 1
        assert not probes.exists(), "kept only once it is measured"
    assert units >= 2 + 2 * len(candidates)  # compile and check each, then timed rounds
    records = json.loads(next(probes.glob("*.json")).read_text())["candidates"]
    passing = [c for c in candidates if records[c.key]["passed"]]
    fastest = min(passing, key=lambda c: records[c.key]["ms_per_view"])
    chosen = pending.chosen
    assert (chosen.name, chosen.precision) == (fastest.backend, fastest.precision)
    assert pending.step() and pending.chosen is chosen  # done stays done
    again, none = start_backend(bundle, "auto", "cpu", cache=tmp_path)
    assert none is None and (again.name, again.precision) == (chosen.name, chosen.precision)


def test_a_predictor_scores_on_the_reference_until_its_probe_ends(
    tiny_bundle_path: Path, tmp_path: Path, monkeypatch
) -> None:
    from mura_desktop.core.discovery import discover
    from mura_desktop.core.resources import sample_paths
    from mura_desktop.inference.predictor import Predictor

    monkeypatch.setenv("MURA_RUNTIME_CACHE", str(tmp_path))
    bundle = load_bundle(tiny_bundle_path)
    study = discover(sample_paths()[:1]).studies[0]
    with Predictor(bundle, "cpu", probe_later=True) as predictor:
        first = predictor.runtime
        if not predictor.probing:
            assert len(cpu_candidates()) < 2
            return
        assert first == f"{reference(cpu_candidates()).backend} float32 on cpu"
        before = predictor.predict_study(study).result
        while not predictor.probe_step():
            assert predictor.runtime == first
        assert not predictor.probing and not predictor.probe_step()
        after = predictor.predict_study(study).result
    assert before.probability is not None and after.probability is not None
    assert abs(before.probability - after.probability) < 0.02  # the guard's tolerance
    assert predictor.runtime == Predictor(bundle, "cpu").runtime  # what a batch run picks


def test_entry_point_makes_openmp_wait_passively_and_model_info_needs_no_torch(
    tiny_bundle_path,
) -> None:
    code = (
        "import os, sys\n"
        "from mura_desktop.__main__ import main\n"
        "assert 'torch' not in sys.modules\n"
        f"main(['model-info', {str(tiny_bundle_path)!r}])\n"
        "print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["PASSIVE", "False"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's choice stands
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split()[-2:] == ["ACTIVE", "False"]


def test_preload_hands_its_backend_to_the_first_matching_load(
    tiny_bundle_path: Path, tmp_path: Path
) -> None:
    from mura_desktop.gui.model_loading import BundleLoader
    from mura_desktop.inference.preload import preload

    exact = {"backend": "torch", "precision": "float32"}
    assert preload(tmp_path / "missing.mura").take(tmp_path / "missing.mura") is None
    other = preload(tiny_bundle_path, device="cpu", **exact)
    assert other.take(tiny_bundle_path, "cpu", "openvino", "float32", timeout=60) is None
    ready = preload(tiny_bundle_path, device="cpu", backend="auto")
    loaded = BundleLoader(ready)(tiny_bundle_path, "cpu", None)
    bundle, backend, _ = ready._future.result()
    assert loaded.predictor.backend is backend and loaded.info.bundle is bundle
    assert ready.take(tiny_bundle_path, "cpu") is None  # handed over once
    again = BundleLoader(ready)(tiny_bundle_path, "cpu", None)
    assert again.predictor.backend is not backend


def test_work_after_a_preload_runs_in_its_thread_once_it_is_done(tiny_bundle_path: Path) -> None:
    import threading

    from mura_desktop.inference.preload import preload

    ran: list[tuple[str, bool]] = []
    ready = preload(tiny_bundle_path, device="cpu", backend="auto")
    ready.when_done(lambda: ran.append((threading.current_thread().name, ready._future.done())))
    assert ready.take(tiny_bundle_path, "cpu", timeout=60) is not None
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == [("mura-preload", True)]
    ready.when_done(lambda: ran.append((threading.current_thread().name, True)))  # done: now
    assert ran[1] == (threading.current_thread().name, True)


def test_preloading_imports_nothing_heavy_on_the_calling_thread() -> None:
    code = (
        "import sys\n"
        "from mura_desktop.inference.preload import preload\n"
        "print('torch' in sys.modules, 'openvino' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
