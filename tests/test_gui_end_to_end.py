"""The viewer with a real (tiny, random) model bundle through the real worker and predictor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mura_desktop.gui.main_window import MainWindow
from mura_desktop.gui.settings import Settings

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    from mura_desktop.inference.bundle import ModelBundle, save_bundle
    from mura_desktop.inference.network import build_network

    bundle = ModelBundle(
        architecture="densenet121",
        members=[build_network("densenet121").state_dict()],
        input_size=64,
        operating_points={"default": 0.5, "high_sensitivity": 0.3, "high_specificity": 0.7},
        provenance={"name": "tiny-random", "demo": True, "data": "nothing: random weights"},
    )
    path = tmp_path_factory.mktemp("model") / "tiny.mura"
    save_bundle(bundle, path)
    return path


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory) -> Path:
    from mura_desktop.phantoms.dataset import generate_dataset

    out = tmp_path_factory.mktemp("phantoms")
    generate_dataset(out, 5, seed=3, size=96, valid_fraction=0.0)
    return out


@pytest.mark.slow
def test_real_bundle_scores_a_study_and_a_dataset(qtbot, tmp_path, demo_bundle, phantoms):
    window = MainWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(demo_bundle)
    assert window.model.name == "tiny-random"
    assert window.model.device == "cpu"
    assert window.demo_banner.isVisible()
    assert window.model.rule.band == (0.3, 0.7)

    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.open_paths([phantoms / "MURA-v1.1"])
    qtbot.waitUntil(lambda: window.image_view.image is not None, timeout=WAIT_MS)
    uid = window.viewer.current.study.uid
    result = window.session.results[uid]
    assert 0.0 <= result.probability <= 1.0
    assert window.verdict.verdict_text in ("ABNORMAL", "NORMAL", "INDETERMINATE")
    assert "Indeterminate band: 0.30" in window.verdict.details_text
    heatmap = window.image_view.heatmap
    assert heatmap is not None
    assert heatmap.shape == window.image_view.image.pixels.shape
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert all(t.badge_text.startswith("p = ") for t in window.thumbnails.tiles)

    window.dialogs.show_model_dialog()
    dialog = window.dialogs.model_dialog
    assert dialog.bundle() is window.model.bundle  # shown as loaded, not read again
    assert dialog.model_path() == str(demo_bundle)
    dialog.close()

    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS) as finished:
        window.score_all()
    assert finished.args == [False]
    assert len(window.session.results) == 5
    assert all(r.probability is not None for r in window.session.results.values())
    assert np.isfinite([r.probability for r in window.session.results.values()]).all()
    window.close()
    assert window.service.thread.isFinished()


@pytest.mark.slow
def test_an_approximate_map_is_computed_on_request_and_labelled(
    qtbot, tmp_path, demo_bundle, phantoms
):
    window = MainWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(demo_bundle)
    window.act_maps_all_views.trigger()  # a random model's views may sit below the floor
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.open_paths([phantoms / "MURA-v1.1"])
    uid = window.viewer.current.study.uid
    qtbot.waitUntil(lambda: window.image_view.heatmap is not None, timeout=WAIT_MS)
    exact = window.image_view.heatmap
    layercam = next(a for a in window.map_kind_actions if a.data() == "layercam")
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        layercam.trigger()  # the real predictor runs grad-cam in the worker thread
        assert window.image_view.heatmap is None  # never the exact map under its label
    assert layercam.isChecked()
    shown = window.image_view.heatmap
    assert shown is not None and shown.shape == exact.shape and not np.array_equal(shown, exact)
    assert window.session.heatmaps(uid, "layercam") is not None
    assert window.heatmap_bar.note.text().startswith("LayerCAM, dense block 3 (approximate)")
    assert "LayerCAM" in window.image_view.heatmap_style.legend()  # the PDF's legend too
    cam = next(a for a in window.map_kind_actions if a.data() == "cam")
    cam.trigger()  # the exact maps are still there: shown at once
    assert np.array_equal(window.image_view.heatmap, exact)
    window.close()


@pytest.mark.slow
def test_a_first_launch_scores_at_once_and_takes_the_probes_choice_between_studies(
    qtbot, tmp_path, demo_bundle, phantoms, monkeypatch
):
    """Nothing kept on this machine: the study opened first is scored on float32 while the
    probe waits; the probe then runs between the dataset's studies and the rest of the
    session (status bar, the session's model record) names the runtime it chose."""
    import json

    from mura_desktop.gui import worker
    from mura_desktop.inference.backends.choice import cpu_candidates, reference

    candidates = cpu_candidates()
    if len(candidates) < 2:
        pytest.skip("this CPU offers one runtime: there is nothing to probe")
    monkeypatch.setenv("MURA_RUNTIME_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(worker, "PROBE_IDLE_S", 3600.0)  # never idle long enough here
    start = f"{reference(candidates).backend} float32 on cpu"
    window = MainWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(demo_bundle)
    assert window.model.runtime == start
    with qtbot.waitSignal(window.resultShown, timeout=WAIT_MS):
        window.open_paths([phantoms / "MURA-v1.1"])
    assert window.session.model.details["runtime"] == start
    assert not (tmp_path / "cache" / "probes").exists()

    changes = []
    window.service.runtimeChanged.connect(changes.append)
    with qtbot.waitSignal(window.datasetFinished, timeout=WAIT_MS):
        window.score_all()
    kept = list((tmp_path / "cache" / "probes").glob("*.json"))
    assert len(kept) == 1, "the probe ran between the dataset's studies"
    records = json.loads(kept[0].read_text())["candidates"]
    passing = [c for c in candidates if records[c.key]["passed"]]
    fastest = min(passing, key=lambda c: records[c.key]["ms_per_view"])
    chosen = f"{fastest.key} on cpu"
    qtbot.waitUntil(lambda: window.model.runtime == chosen, timeout=WAIT_MS)
    assert [info.runtime for info in changes] == ([] if chosen == start else [chosen])
    assert window.session.model.details["runtime"] == chosen
    assert chosen in window.status.model_label.text()
    assert len(window.session.results) == 5
    assert np.isfinite([r.probability for r in window.session.results.values()]).all()
    window.close()
