"""The viewer's decisions, driven through the Qt-free ViewerModel alone (no window, no Qt).

``Jobs`` stands in for the background inference service: it hands out request ids and
records what was asked; the tests answer as the worker would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from mura_desktop.core.labels import Verdict
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import ResultSet, StudyResult, ViewResult
from mura_desktop.core.study import Scan, Study, View
from mura_desktop.core.verdict import VerdictRule
from mura_desktop.gui.model_info import ModelInfo
from mura_desktop.gui.verdict_text import status_text
from mura_desktop.gui.viewer_model import ViewerModel
from mura_desktop.gui.viewer_state import BUNDLE_THRESHOLD, SAVED_THRESHOLD


@dataclass
class Jobs:
    next_id: int = 100
    loads: list[tuple[Path, str, float | None]] = field(default_factory=list)
    studies: dict[int, str] = field(default_factory=dict)
    maps: dict[int, str] = field(default_factory=dict)
    datasets: dict[int, list[str]] = field(default_factory=dict)
    cancelled: list[int] = field(default_factory=list)
    paused: list[tuple[int, bool]] = field(default_factory=list)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def load_model(self, path, device="auto", threshold=None) -> int:
        self.loads.append((path, device, threshold))
        return self._id()

    def score_study(self, study, heatmaps=True, maps="cam") -> int:
        job = self._id()
        self.studies[job] = study.uid
        self.maps[job] = maps
        return job

    def score_dataset(self, studies) -> int:
        job = self._id()
        self.datasets[job] = [s.uid for s in studies]
        return job

    def pause(self, job_id, paused) -> None:
        self.paused.append((job_id, paused))

    def cancel(self, job_id) -> None:
        self.cancelled.append(job_id)


@dataclass
class Prediction:
    result: StudyResult
    heatmaps: dict = field(default_factory=dict)
    map_kind: str = "cam"


def _studies(tmp_path: Path, n: int = 3) -> list[Study]:
    return [
        Study(uid=f"s{i}", name=f"study{i}", views=[View(tmp_path / f"s{i}.png")], label=i % 2)
        for i in range(n)
    ]


def _info(name: str, threshold: float = 0.5) -> ModelInfo:
    return ModelInfo(
        path=Path(f"/models/{name}.mura"),
        record=ModelRecord(name=name, content_hash=f"hash-{name}"),
        device="cpu",
        rule=VerdictRule(threshold=threshold),
    )


def _result(study: Study, p: float, rule: VerdictRule | None = None) -> StudyResult:
    views = [ViewResult(path=str(v.path), probability=p) for v in study.views]
    return StudyResult.from_views(study, views, rule or VerdictRule())


class Recorder:
    def __init__(self, model: ViewerModel) -> None:
        self.events: list[tuple] = []
        for name in ("session", "study", "images", "result", "results", "verdict", "model",
                     "message", "problem", "problems", "dataset", "display"):  # fmt: skip
            model.subscribe(name, lambda *args, n=name: self.events.append((n, *args)))

    def names(self) -> list[str]:
        return [e[0] for e in self.events]


@pytest.fixture
def setup(tmp_path):
    jobs = Jobs()
    saved: dict[Path, float] = {}
    model = ViewerModel(jobs, threshold_for=saved.get, device=lambda: "cpu")
    studies = _studies(tmp_path)
    model.scan_finished(model.begin_scan([tmp_path]), Scan(studies=studies))
    return model, jobs, studies, saved


def _load(model: ViewerModel, info: ModelInfo) -> int:
    job = model.load_model(info.path)
    model.model_loaded(job, info)
    return job


def test_a_study_is_scored_on_opening_only_with_a_model(setup):
    model, jobs, _, _ = setup
    model.show_study("s0")
    assert model.current.job is None and not jobs.studies
    assert status_text(model).startswith("NO MODEL")
    _load(model, _info("a"))
    assert jobs.studies == {model.current.job: "s0"}  # the model's arrival scores what is shown
    model.show_study("s1")
    assert jobs.studies[model.current.job] == "s1"


def test_an_answer_for_a_study_left_behind_is_dropped(setup):
    model, jobs, studies, _ = setup
    _load(model, _info("a"))
    model.show_study("s0")
    first = model.current.job
    model.show_study("s1")
    assert first in jobs.cancelled
    events = Recorder(model)
    model.study_scored(first, Prediction(_result(studies[0], 0.9)))
    assert "s0" not in model.session.results and "result" not in events.names()
    model.study_scored(model.current.job, Prediction(_result(studies[1], 0.2), {"h": 1}))
    assert model.session.results["s1"].verdict is Verdict.NORMAL
    assert ("result", "s1") in events.events and model.current.job is None


def test_a_different_model_drops_the_old_scores(setup):
    model, jobs, studies, _ = setup
    _load(model, _info("a"))
    model.show_study("s0")
    model.study_scored(model.current.job, Prediction(_result(studies[0], 0.9), {}))
    assert model.session.model.name == "a"
    events = Recorder(model)
    _load(model, _info("b"))
    assert model.session.results == {} and model.session.model.name == "b"
    assert "results" in events.names()
    assert ("message", "Scores of the previous model were cleared.") in events.events
    assert jobs.studies[model.current.job] == "s0"  # scored again, by b


def test_a_new_threshold_re_decides_without_recomputing(setup):
    model, jobs, studies, _ = setup
    _load(model, _info("a", threshold=0.5))
    model.show_study("s0")
    model.study_scored(model.current.job, Prediction(_result(studies[0], 0.4), {"v": 1}))
    assert model.session.results["s0"].verdict is Verdict.NORMAL
    scored_before = len(jobs.studies)
    _load(model, _info("a", threshold=0.3))  # same bundle, lower threshold
    assert model.session.results["s0"].verdict is Verdict.ABNORMAL
    assert len(jobs.studies) == scored_before  # nothing was scored again


def test_the_threshold_saved_for_a_bundle_applies_to_that_bundle_only(setup):
    model, jobs, _, saved = setup
    saved[Path("/models/a.mura")] = 0.31
    model.load_model(Path("/models/a.mura"))
    assert jobs.loads[-1] == (Path("/models/a.mura"), "cpu", 0.31)
    assert model.threshold_origin == SAVED_THRESHOLD
    model.load_model(Path("/models/b.mura"))
    assert jobs.loads[-1] == (Path("/models/b.mura"), "cpu", None)
    assert model.threshold_origin == BUNDLE_THRESHOLD
    model.load_model(Path("/models/b.mura"), "cuda", 0.7)  # chosen in the dialog
    assert jobs.loads[-1] == (Path("/models/b.mura"), "cuda", 0.7)


def test_scores_from_another_models_file_are_not_scored_over(tmp_path):
    jobs = Jobs()
    model = ViewerModel(jobs)
    study = _studies(tmp_path, 1)[0]
    results = ResultSet(studies=[_result(study, 0.8)], model=ModelRecord(content_hash="other"))
    model.open_results(results, tmp_path / "r.json")
    _load(model, _info("a"))
    model.show_study("s0")
    assert model.current.job is None and not model.may_auto_score()
    assert "came from another model" in status_text(model)
    model.score_current_study()  # F5: the user asks, so the file's scores give way
    assert jobs.studies[model.current.job] == "s0"
    assert model.session.model.name == "a" and model.session.results == {}


def test_score_all_queues_only_the_unscored_and_cancel_and_pause_reach_it(setup):
    model, jobs, studies, _ = setup
    assert model.score_all() == []  # no model: told so
    _load(model, _info("a"))
    model.session.put_result(_result(studies[0], 0.9))
    model.session.model = model.model.record
    events = Recorder(model)
    todo = model.score_all()
    assert [s.uid for s in todo] == ["s1", "s2"]
    job = model.dataset.job
    assert jobs.datasets[job] == ["s1", "s2"] and ("dataset", "started", 2) in events.events
    assert model.score_all() == []  # one dataset run at a time
    model.dataset.pause(True)
    model.dataset.cancel()
    assert jobs.paused == [(job, True)] and job in jobs.cancelled
    model.dataset_study(job - 1, _result(studies[1], 0.1))  # an older run's answer
    assert "s1" not in model.session.results
    model.dataset_study(job, _result(studies[1], 0.1))
    model.dataset.finished(job, True)
    assert "s1" in model.session.results and model.dataset.job is None
    assert ("dataset", "finished", 1) in events.events


def test_the_model_waits_for_the_first_image_when_paths_are_opened(tmp_path):
    jobs = Jobs()
    model = ViewerModel(jobs)
    model.start([tmp_path], Path("/models/a.mura"))
    assert jobs.loads == [] and model.model_loading
    assert status_text(model).startswith("LOADING MODEL")
    model.release_deferred_model()
    assert jobs.loads == [(Path("/models/a.mura"), "auto", None)]
    model.release_deferred_model()
    assert len(jobs.loads) == 1  # once


def test_a_crashed_job_is_over(setup):
    model, _, _, _ = setup
    _load(model, _info("a"))
    model.show_study("s0")
    job = model.current.job
    events = Recorder(model)
    model.worker_crashed(job)
    assert model.current.job is None
    assert ("verdict", "NOT SCORED\nthe model failed on this study (see log)") in events.events


def test_images_and_failures_reach_only_the_current_request(setup, tmp_path):
    model, _, studies, _ = setup
    model.show_study("s0")
    request = model.current.request
    events = Recorder(model)
    model.image_arrived(request - 1, studies[0].views[0].path, "old")
    assert model.current.images == {}
    model.image_arrived(request, studies[0].views[0].path, "pixels")
    assert model.current.images == {studies[0].views[0].path: "pixels"}
    model.image_failed(request, tmp_path / "elsewhere.png", "truncated")
    assert [p.reason for p in model.skipped_problems()] == ["could not be read: truncated"]
    assert events.names() == ["images", "problems"]


def test_display_settings_are_clamped_and_announced(setup):
    model, _, _, _ = setup
    events = Recorder(model)
    model.set_display(heatmap_opacity=1.7, grouped=False)
    assert model.display.heatmap_opacity == 1.0 and not model.display.grouped
    assert events.names() == ["display"]
    with pytest.raises(AttributeError):
        model.set_display(colour="red")


def test_heatmaps_missing_means_scoring_again(setup):
    model, jobs, studies, _ = setup
    _load(model, _info("a"))
    model.show_study("s0")
    model.study_scored(model.current.job, Prediction(_result(studies[0], 0.9), {}))
    model.show_study("s1")
    model.session.put_heatmaps("s0", {})
    model.show_study("s0")
    assert model.current.job is None  # scores and heatmaps are there
    model.session._heatmaps.clear()  # evicted from the heatmap cache
    model.show_study("s1")
    model.show_study("s0")
    assert jobs.studies[model.current.job] == "s0"
    assert np.isfinite(model.session.results["s0"].probability)


def test_another_kind_of_map_scores_the_study_again_and_each_kind_is_kept(setup):
    model, jobs, studies, _ = setup
    _load(model, _info("a"))
    model.show_study("s0")
    exact = {studies[0].views[0].path: np.zeros((2, 2))}
    model.study_scored(model.current.job, Prediction(_result(studies[0], 0.9), exact))
    model.set_display(map_kind="layercam")
    job = model.current.job
    assert jobs.maps[job] == "layercam"  # the scores are there, this kind of map is not
    approximate = {studies[0].views[0].path: np.ones((2, 2))}
    model.study_scored(job, Prediction(_result(studies[0], 0.9), approximate, "layercam"))
    assert model.session.heatmaps("s0", "layercam") is approximate
    assert model.session.heatmaps("s0") is exact
    model.set_display(map_kind="cam")
    assert model.current.job is None  # the exact maps are kept: nothing to compute
    model.show_study("s1")
    assert jobs.maps[model.current.job] == "cam"
    with pytest.raises(ValueError, match="kind of map"):
        model.set_display(map_kind="saliency")
