"""Loading a model for the viewer: a bundle file becomes a predictor and what the GUI shows of it.

``BundleLoader`` is the real ``ModelFactory``; the inference worker calls it in its own
thread. torch is imported only inside ``BundleLoader.__call__``, so importing this module
loads neither Qt nor torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mura_desktop.core.display import EXACT_MAP
from mura_desktop.core.study import Study
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.gui.model_info import ModelInfo


class PredictorLike(Protocol):
    """What the worker needs of ``mura_desktop.inference.predictor.Predictor``."""

    device: Any
    notes: list[str]
    rule: VerdictRule
    runtime: str
    probing: bool  # a runtime probe is pending: probe_step() has work to do

    def probe_step(self) -> bool: ...

    def predict_study(
        self,
        study: Study,
        *,
        heatmaps: bool = True,
        maps: str = EXACT_MAP,
        progress: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> Any: ...

    def predict_many(
        self,
        studies: list[Study],
        *,
        heatmaps: bool = True,
        should_cancel: Callable[[], bool] | None = None,
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...


@dataclass
class LoadedModel:
    info: ModelInfo
    predictor: PredictorLike


ModelFactory = Callable[[Path, str, "float | None"], LoadedModel]


class ModelLoadError(Exception):
    """A model file or setting the user can fix; the message says what and how."""


class BundleLoader:
    """The real ``ModelFactory``: a bundle file → ``Predictor``. Where no runtime probe is
    kept for the bundle and machine, the predictor starts on the probe's reference and leaves
    the probe to the worker (``Predictor.probe_step``), so the first load waits for no probe.

    The last bundle read is kept, so changing only device or threshold does not re-read it.
    ``preloaded`` (``inference.preload.preload``, started at launch; it may be set after
    construction, before the first load) serves the first load of the same file and device
    with the bundle and backend it has ready; ``backend()`` says which runtime to use
    (``auto``, ``torch``, ``openvino``: the user's setting).
    """

    def __init__(self, preloaded: Any = None, backend: Callable[[], str] = lambda: "auto") -> None:
        self._cached: tuple[tuple[str, int, int], Any] | None = None
        self.preloaded = preloaded
        self._backend = backend

    def __call__(self, path: Path, device: str, threshold: float | None) -> LoadedModel:
        from mura_desktop.inference.bundle import BundleError, load_bundle
        from mura_desktop.inference.predictor import Predictor
        from mura_desktop.inference.threads import leave_a_core_free

        leave_a_core_free()
        try:
            stat = path.stat()
        except OSError as exc:
            raise ModelLoadError(f"{path}: cannot open the model file ({exc.strerror})") from exc
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        backend = self._backend()
        ready = self.preloaded.take(path, device, backend) if self.preloaded is not None else None
        pending = None
        if ready is not None:
            bundle, backend, pending = ready
            self._cached = (key, bundle)
        elif self._cached is not None and self._cached[0] == key:
            bundle = self._cached[1]
        else:
            try:
                bundle = load_bundle(path)
            except BundleError as exc:
                raise ModelLoadError(str(exc)) from exc
            self._cached = (key, bundle)
        try:
            predictor = Predictor(
                bundle, device, threshold, backend=backend, probe_later=True, pending=pending
            )
        except ValueError as exc:
            raise ModelLoadError(f"{path}: {exc}") from exc
        info = ModelInfo(
            path=path,
            record=bundle.record(
                path=str(path), device=str(predictor.device), runtime=predictor.runtime
            ),
            device=str(predictor.device),
            rule=predictor.rule,
            description=bundle.describe(),
            notes=list(predictor.notes),
            bundle=bundle,
            runtime=predictor.runtime,
        )
        return LoadedModel(info, predictor)
