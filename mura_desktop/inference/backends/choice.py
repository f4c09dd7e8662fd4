"""Which backend and precision a bundle runs on: asked for, or picked by a measured probe.

On a CUDA device the torch backend runs (float16 autocast). On the CPU, ``auto`` means
OpenVINO wherever it is installed: its float32 ran DenseNet 1.8-2.2x faster than torch's
on both development machines and its bfloat16 5.4x faster than torch's, so probing torch
(importing it: 3 of the 7 s a first launch took) could only confirm it. Each (backend,
precision) a request admits is probed once per bundle, machine and thread count: each runs
the same batch of the bundled sample views, is timed, and is checked by the accuracy guard
(``agreement``) against float32 of the same family (torch's for torch, OpenVINO's, which
``tests/test_openvino_graph.py`` holds to torch's, for OpenVINO). ``auto`` takes the
fastest that passes. The probe's records are kept in the runtime cache, so later loads only
read them (delete its ``probes`` folder to measure again).

``open_backend`` measures a missing probe before it returns (a batch run pays it once,
up front). ``start_backend`` returns at once with the reference and a ``PendingProbe``:
the viewer scores on the reference while its worker, when idle, measures the probe a
unit at a time, and then switches to the choice (``Predictor.probe_step``), so a
machine's first launch scores its first study without waiting for the probe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mura_desktop.core.locations import runtime_cache_dir
from mura_desktop.core.pixels import load_image
from mura_desktop.core.resources import samples_dir
from mura_desktop.inference.backends import (
    BACKEND_CHOICES,
    PRECISION_CHOICES,
    Backend,
    BackendUnavailableError,
)
from mura_desktop.inference.backends.agreement import compare
from mura_desktop.inference.backends.cache import (
    bundle_key,
    machine_fingerprint,
    read_json,
    write_json,
)
from mura_desktop.inference.backends.openvino_runtime import (
    OpenVinoBackend,
    openvino_precisions,
    openvino_unavailable_reason,
)
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.device import resolve_device, torch_installed
from mura_desktop.inference.preprocess import preprocess_batch
from mura_desktop.inference.threads import inference_threads

log = logging.getLogger(__name__)

PROBE_VIEWS = 8
PROBE_REPEATS = 3
PROBE_FORMAT = 3  # bump when what a probe record holds changes


@dataclass(frozen=True)
class Candidate:
    backend: str
    precision: str

    @property
    def key(self) -> str:
        return f"{self.backend} {self.precision}"

    def asked_for(self, backend: str, precision: str) -> bool:
        """``backend`` and ``precision`` (either may be ``auto``) admit this candidate."""
        return backend in ("auto", self.backend) and precision in ("auto", self.precision)


def reference(wanted: list[Candidate]) -> Candidate:
    """What ``wanted`` is checked against: torch float32 when torch is among them, else
    OpenVINO float32."""
    family = "torch" if any(c.backend == "torch" for c in wanted) else "openvino"
    return Candidate(family, "float32")


def every_cpu_candidate() -> list[Candidate]:
    """Every (backend, precision) this CPU can run, torch's included (the accuracy guard's
    test and the runtime bench compare them all with torch float32)."""
    return _torch_candidates() + _openvino_candidates()


def cpu_candidates(requested: str = "auto", precision: str = "auto") -> list[Candidate]:
    """The (backend, precision) pairs ``requested`` may run on this CPU: ``auto`` is
    OpenVINO's where it is installed (torch's otherwise), so it never imports torch there."""
    if requested == "torch":
        found = _torch_candidates()
    elif requested == "openvino":
        found = _openvino_candidates()
    else:
        found = _openvino_candidates() or _torch_candidates()
    return [c for c in found if c.asked_for(requested, precision)]


def _torch_candidates() -> list[Candidate]:
    if not torch_installed():
        return []
    from mura_desktop.inference.backends.torch_runtime import torch_precisions

    return [Candidate("torch", p) for p in torch_precisions("cpu")]


def _openvino_candidates() -> list[Candidate]:
    if openvino_unavailable_reason() is not None:
        return []
    return [Candidate("openvino", p) for p in openvino_precisions()]


def build_backend(
    bundle: ModelBundle,
    candidate: Candidate,
    *,
    cache: Path | None = None,
) -> Backend:
    """``candidate`` on the CPU."""
    if candidate.backend == "openvino":
        return OpenVinoBackend(bundle, candidate.precision, cache=cache)
    from mura_desktop.inference.backends.torch_runtime import TorchBackend

    return TorchBackend(bundle, "cpu", candidate.precision)


def open_backend(
    bundle: ModelBundle,
    backend: str = "auto",
    device: str = "auto",
    *,
    precision: str = "auto",
    cache: Path | None = None,
) -> Backend:
    """The backend to run ``bundle`` with: ``start_backend``'s, with any probe it leaves
    measured first (what a batch run wants: the probe is paid once, before the first study).
    """
    started, pending = start_backend(bundle, backend, device, precision=precision, cache=cache)
    return started if pending is None else pending.finish()


def start_backend(
    bundle: ModelBundle,
    backend: str = "auto",
    device: str = "auto",
    *,
    precision: str = "auto",
    cache: Path | None = None,
) -> tuple[Backend, PendingProbe | None]:
    """The backend to start ``bundle`` on, and the probe still to measure (None when the
    choice is made: asked for, or read from the runtime cache).

    ``backend``: ``auto``, ``torch`` or ``openvino``; ``device`` as for ``choose_device``
    (OpenVINO runs on the CPU: with ``device="auto"`` it takes the CPU, with a CUDA device
    it is refused); ``precision``: ``auto`` (the fastest that passes the accuracy guard) or
    one of ``PRECISION_CHOICES``, taken as asked, without a probe when that leaves one
    candidate. While a probe is pending the backend returned is its reference (float32 of
    the family), which the guard measures the others against, so scores made meanwhile are
    the ones every candidate is held to. Raises ``DeviceUnavailableError`` /
    ``BackendUnavailableError`` (both ``ValueError``) for what cannot run here.
    """
    requested = backend.strip().lower()
    if requested not in BACKEND_CHOICES:
        raise ValueError(f"unknown backend {backend!r}; use {', '.join(BACKEND_CHOICES)}")
    if precision not in PRECISION_CHOICES:
        raise ValueError(f"unknown precision {precision!r}; use {', '.join(PRECISION_CHOICES)}")
    if requested == "openvino":
        reason = openvino_unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"the OpenVINO backend cannot be used: {reason}")
        if device.strip().lower() == "auto":
            device = "cpu"
    if requested == "torch" and not torch_installed():
        raise BackendUnavailableError(
            "the torch backend cannot be used: this install has no PyTorch (the CPU app)"
        )
    device_name, note = resolve_device(device)
    pending = None
    if device_name.startswith("cuda"):
        if requested == "openvino":
            raise BackendUnavailableError(
                "the OpenVINO backend runs on the CPU; use --device cpu or --backend torch"
            )
        from mura_desktop.inference.backends.torch_runtime import TorchBackend

        on_gpu = precision if precision != "auto" else None
        chosen: Backend = TorchBackend(
            bundle, device_name, on_gpu, fallback=device.strip().lower() == "auto"
        )
    else:
        chosen, pending = _start_on_cpu(bundle, requested, precision, cache)
    if note:
        chosen.notes.insert(0, note)
    return chosen, pending


def _start_on_cpu(
    bundle: ModelBundle, requested: str, precision: str, cache: Path | None
) -> tuple[Backend, PendingProbe | None]:
    wanted = cpu_candidates(requested, precision)
    if not wanted:
        raise BackendUnavailableError(
            f"{requested} cannot run {precision} on this CPU; use --precision auto"
        )
    if len(wanted) == 1:
        return build_backend(bundle, wanted[0], cache=cache), None
    records = _stored_records(bundle, cache)
    if all(c.key in records for c in [reference(wanted), *wanted]):
        return build_backend(bundle, _fastest_passing(bundle, wanted, records), cache=cache), None
    started = build_backend(bundle, reference(wanted), cache=cache)
    return started, PendingProbe(bundle, wanted, started, cache)


class PendingProbe:
    """The probe ``auto`` still needs, measured a unit at a time (compiling a candidate,
    checking it, one timing round: each well under a second) so that whoever drives it can
    put the user's work first; the backend it was started with scores meanwhile. Driven by
    one thread at a time, like the backends."""

    def __init__(
        self, bundle: ModelBundle, wanted: list[Candidate], started: Backend, cache: Path | None
    ) -> None:
        self._bundle = bundle
        self._wanted = wanted
        self._started = started
        self._cache = cache
        self._steps = _probe_steps(bundle, wanted, cache, started)
        self.chosen: Backend | None = None

    def step(self) -> bool:
        """Do the next unit; True once the probe is measured and kept and ``chosen`` is the
        backend ``auto`` takes (the one started with, or one the probe built)."""
        if self.chosen is not None:
            return True
        try:
            next(self._steps)
            return False
        except StopIteration as done:
            records, runners = done.value
        best = _fastest_passing(self._bundle, self._wanted, records)
        chosen = runners.get(best) or build_backend(self._bundle, best, cache=self._cache)
        if chosen is not self._started:
            chosen.notes[:0] = [n for n in self._started.notes if n not in chosen.notes]
        self.chosen = chosen
        return True

    def finish(self) -> Backend:
        """Every remaining unit; the chosen backend."""
        while not self.step():
            pass
        assert self.chosen is not None
        return self.chosen


def _fastest_passing(
    bundle: ModelBundle, wanted: list[Candidate], records: dict[str, dict[str, Any]]
) -> Candidate:
    passing = [
        c for c in wanted if records[c.key]["passed"] and records[c.key].get("ms_per_view")
    ] or wanted[:1]
    best = min(passing, key=lambda c: records[c.key].get("ms_per_view") or 0.0)
    log.info("%s runs on %s (probe: %s)", bundle.name, best.key, _timings(records))
    return best


def _probe_path(bundle: ModelBundle, cache: Path | None) -> Path:
    threads = inference_threads() or "auto-"
    name = f"{bundle_key(bundle)}-{machine_fingerprint()}-{threads}t.json"
    return (cache or runtime_cache_dir()) / "probes" / name


def _stored_records(bundle: ModelBundle, cache: Path | None) -> dict[str, dict[str, Any]]:
    stored = read_json(_probe_path(bundle, cache)) or {}
    return stored.get("candidates", {}) if stored.get("format") == PROBE_FORMAT else {}


def probe(
    bundle: ModelBundle, wanted: list[Candidate], *, cache: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Time and accuracy of each candidate on this machine: ``key -> record``; measured
    once, then read from the cache. Their reference is always part of it."""
    steps = _probe_steps(bundle, wanted, cache)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            records, _ = done.value
            return records


def _probe_steps(
    bundle: ModelBundle,
    wanted: list[Candidate],
    cache: Path | None,
    started: Backend | None = None,
) -> Generator[None, None, tuple[dict[str, dict[str, Any]], dict[Candidate, Backend]]]:
    """``probe`` as a generator that yields after each unit of work and returns the
    records and the backends it built (by candidate). ``started``: the reference's backend,
    when one is running already."""
    records = _stored_records(bundle, cache)
    standard = reference(wanted)
    missing = [c for c in [standard, *wanted] if c.key not in records]
    if not missing:
        return records, {}
    batch = probe_batch(bundle)
    reference_backend = started or build_backend(bundle, standard, cache=cache)
    yield
    expected = reference_backend.forward(batch, maps=True)
    runners: dict[Candidate, Backend] = {standard: reference_backend}
    measured: list[Candidate] = []
    for candidate in dict.fromkeys(missing):
        yield
        try:
            runner = runners.get(candidate) or build_backend(bundle, candidate, cache=cache)
            runners[candidate] = runner
            yield
            got = expected if runner is reference_backend else runner.forward(batch, maps=True)
            agreement = compare(bundle, expected, got)
        except Exception as exc:  # a runtime that fails here is simply not chosen
            log.exception("probe of %s failed", candidate.key)
            records[candidate.key] = {"ms_per_view": None, "passed": False, "error": repr(exc)}
            runners.pop(candidate, None)
            continue
        measured.append(candidate)
        records[candidate.key] = {"passed": agreement.passed, "agreement": agreement.line()}
    best = dict.fromkeys(measured, float("inf"))
    for _ in range(PROBE_REPEATS):  # rounds of every candidate: a change of load hits all
        for candidate in measured:
            yield
            start = time.perf_counter()
            runners[candidate].forward(batch, maps=True)
            best[candidate] = min(best[candidate], time.perf_counter() - start)
    for candidate, seconds in best.items():
        records[candidate.key]["ms_per_view"] = 1000 * seconds / len(batch)
        log.info("probe %s: %s", candidate.key, records[candidate.key])
    path = _probe_path(bundle, cache)
    try:
        write_json(path, {"format": PROBE_FORMAT, "candidates": records})
    except OSError as exc:  # a read-only cache costs a probe per launch, nothing else
        log.warning("could not keep the backend probe in %s: %s", path, exc)
    return records, runners


def probe_batch(bundle: ModelBundle, views: int = PROBE_VIEWS) -> np.ndarray:
    """The first ``views`` bundled sample views, preprocessed for ``bundle`` (a seeded
    noise batch where the samples are missing)."""
    paths = sorted((samples_dir() / "MURA-v1.1").rglob("*.png"))[:views]
    pixels = [load_image(p).pixels for p in paths]
    if not pixels:
        noise = np.random.default_rng(0).random((views, bundle.input_size, bundle.input_size))
        pixels = list(noise.astype(np.float32))
    return preprocess_batch(pixels, bundle.input_size, bundle.mean, bundle.std)


def _timings(records: dict[str, dict[str, Any]]) -> str:
    return ", ".join(
        f"{key} {r['ms_per_view']:.0f} ms/view" + ("" if r["passed"] else " (failed the guard)")
        for key, r in records.items()
        if r.get("ms_per_view") is not None
    )
