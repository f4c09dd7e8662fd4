"""Whole training runs on a tiny generated dataset: files, log, bundle, resume, NaN, DDP.

densenet121 at 64 px on ~20 phantom studies of 96 px, on the CPU. One run is trained per
module and shared by the tests that only read it.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from mura_desktop.core.discovery import discover
from mura_desktop.core.run_log import read_records
from mura_desktop.core.study import BODY_PARTS
from mura_desktop.inference.alternative_maps import ALTERNATIVE_MAPS
from mura_desktop.inference.bundle import load_bundle
from mura_desktop.inference.predictor import Predictor
from mura_desktop.phantoms import generate_dataset
from trainer.__main__ import main
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.fit import (
    COMPLETED,
    DIVERGED,
    RunError,
    _lr_scheduler,
    _step_reporter,
    amp_dtype,
    fit,
)
from trainer.initial_weights import InitError, initial_network
from trainer.metrics_log import MetricsLog

ROOT = Path(__file__).resolve().parents[1]
TINY = {"arch": "densenet121", "size": 64, "init": "random", "batch_size": 8, "workers": 0}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Two OpenMP threads on a busy 2-core machine spin against each other; one is faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trainer-runs") / "phantoms"
    generate_dataset(out, 20, seed=11, size=96)
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def run(dataset, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    config = TrainConfig(
        data=str(dataset), out=str(out), epochs=2, keep_best=2, cache_dir=str(cache_dir),
        log_every=2, **TINY,
    )  # fmt: skip
    result = fit(config)
    assert result.status == COMPLETED, result.message
    return out


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
    }


def _tiny_flags(cache_dir: Path) -> list[str]:
    return [
        "--arch", "densenet121", "--size", "64", "--init", "random", "--batch-size", "8",
        "--cache-dir", str(cache_dir),
    ]  # fmt: skip


def test_a_run_folder_has_everything(run):
    assert TrainConfig.load(run).epochs == 2
    assert {p.name for p in (run / "checkpoints").iterdir()} == {
        "last.pt",
        "epoch-001.pt",
        "epoch-002.pt",
    }
    for name in ("loss", "kappa", "roc", "confusion"):
        with Image.open(run / "plots" / f"{name}.png") as im:
            assert im.format == "PNG" and min(im.size) >= 300
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert last["epoch"] == 2 and set(last) >= {
        "model", "optimizer", "scheduler", "scaler", "rng", "config", "kept", "valid",
    }  # fmt: skip


def test_metrics_log_schema(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # strict JSON, one object per line
    events = [r["event"] for r in records]
    assert events[0] == "start" and events[-1] == "end"
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2]
    start = records[0]
    assert start["resumed_from"] is None and start["world_size"] == 1
    assert start["config"]["arch"] == "densenet121" and start["epochs"] == 2
    steps = [r for r in records if r["event"] == "step"]
    assert steps and all(
        {"epoch", "step", "batch", "batches", "train_loss"} <= set(r) for r in steps
    )
    epoch = next(r for r in records if r["event"] == "epoch")
    assert set(epoch) >= {
        "epoch", "epochs", "step", "lr", "train_loss", "valid_loss", "kappa", "auroc",
        "accuracy", "sensitivity", "specificity", "precision", "f1", "tn", "fp", "fn", "tp",
        "parts", "best", "images_per_s", "time",
    }  # fmt: skip
    end = records[-1]
    assert end["status"] == "completed" and Path(end["bundle"]) == run / "model.mura"
    assert all(isinstance(r["time"], float) for r in records)
    assert start["device"] == "cpu"


def test_the_device_used_is_recorded_in_the_bundle(run):
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert last["device"].startswith("cpu × 1")
    bundle = load_bundle(run / "model.mura")
    assert bundle.provenance["trained_on"] == [last["device"]]
    assert f"training device   {last['device']}" in bundle.describe()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a usable GPU")
@pytest.mark.parametrize("program", ["trainer", "mura_desktop"])
def test_an_explicit_gpu_that_cannot_be_used_is_fatal(program, dataset, run, tmp_path):
    if program == "trainer":
        cmd = ["fit", str(dataset), "--out", str(tmp_path / "run"), "--device", "cuda"]
    else:
        cmd = ["predict", str(dataset), "--model", str(run / "model.mura"), "--device", "cuda"]
    done = subprocess.run(
        [sys.executable, "-m", program, *cmd],
        capture_output=True, text=True, env=_env(), timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "device 'cuda' cannot be used" in done.stderr
    assert "--device cpu" in done.stderr  # what to do
    assert not (tmp_path / "run").exists()


def test_epoch_metrics_match_sklearn_on_the_stored_predictions(run):
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    valid = state["valid"]
    probs = valid["view_probs"].numpy()
    view_study = valid["view_study"].numpy()
    labels = valid["study_labels"].numpy()
    means = np.array([probs[view_study == s].mean() for s in range(len(labels))])
    epoch = [r for r in read_records(run / "metrics.jsonl") if r["event"] == "epoch"][-1]
    assert epoch["kappa"] == pytest.approx(cohen_kappa_score(labels, means >= 0.5))
    assert epoch["auroc"] == pytest.approx(roc_auc_score(labels, means))
    assert epoch["n"] == len(labels)


def test_bundle_predicts_like_the_trainer_scored(run, dataset):
    bundle = load_bundle(run / "model.mura")
    assert bundle.architecture == "densenet121" and bundle.input_size == 64
    points = bundle.operating_points
    assert points["default"] == 0.5
    assert points["high_sensitivity"] <= points["high_specificity"]
    prov = bundle.provenance
    assert prov["trainer_version"] and prov["config"]["epochs"] == 2 and not prov["demo"]
    assert "shipped train/valid" in prov["split"] and "kappa" in prov["metrics"]

    best = load_checkpoint(run / "checkpoints" / f"epoch-{prov['members_epochs'][0]:03d}.pt")
    stored = best["valid"]["study_uids"]
    view_probs = best["valid"]["view_probs"].numpy()
    view_study = best["valid"]["view_study"].numpy()
    trainer_probs = {uid: float(view_probs[view_study == i].mean()) for i, uid in enumerate(stored)}
    studies = [s for s in discover([dataset / "MURA-v1.1"]).studies if s.uid in stored]
    assert len(studies) == len(stored)
    with Predictor(bundle, device="cpu") as predictor:
        for study in studies[:4]:
            prediction = predictor.predict_study(study)
            result = prediction.result
            # the same preprocessing; only the trainer's uint8 cache rounding differs
            assert result.probability == pytest.approx(trainer_probs[study.uid], abs=0.02)
            for view in study.views:
                heatmap = prediction.heatmaps[view.path]
                assert heatmap.shape == prediction.images[view.path].pixels.shape


def test_export_an_ensemble_and_evaluate_it(run, dataset, tmp_path, capsys):
    out = tmp_path / "ens.mura"
    assert main(["export", str(run), str(out), "--top-k", "2", "--half", "--demo"]) == 0
    bundle = load_bundle(out)
    assert len(bundle.members) == 2 and bundle.is_demo
    assert sorted(bundle.provenance["members_epochs"]) == [1, 2]
    assert main(["export", str(run), str(out), "--top-k", "2"]) == 2  # exists, no --force
    assert main(["export", str(run), str(tmp_path / "x.mura"), "--top-k", "3"]) == 2
    capsys.readouterr()

    results = tmp_path / "results.json"
    assert (
        main(["evaluate", str(out), str(dataset), "--json", str(results), "--device", "cpu"]) == 0
    )
    printed = capsys.readouterr().out
    assert "kappa" in printed and "ALL" in printed
    scored = json.loads(results.read_text())["studies"]
    assert (
        len(scored)
        == load_checkpoint(run / "checkpoints" / "last.pt")["valid"]["study_labels"].numel()
    )
    assert all(s["split"] == "valid" for s in scored)
    # a run folder works as the model too (its best checkpoint, as export would make it)
    assert main(["evaluate", str(run), str(dataset / "MURA-v1.1"), "--device", "cpu"]) == 0


def test_evaluate_reports_intervals_calibration_and_which_split_chose_the_model(
    run, dataset, tmp_path, capsys
):
    results, metrics_csv, plots = tmp_path / "r.json", tmp_path / "m.csv", tmp_path / "plots"
    argv = [
        "evaluate", str(run / "model.mura"), str(dataset), "--device", "cpu", "--json",
        str(results), "--metrics-csv", str(metrics_csv), "--plots", str(plots),
        "--bootstrap", "200", "--seed", "3", "--alternative-maps", "layercam,gradcam++",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "patient bootstrap (200 resamples, seed 3)" in printed
    assert "model chosen on: shipped train/valid" in printed
    assert "scored on:       valid split of" in printed
    assert "selected on these same studies" in printed  # the run chose on this valid split
    assert "Calibration" in printed and "ECE" in printed
    # the phantoms carry masks: the heatmaps' localisation, beside the 2x2 grid's oracle
    table = printed.split("Heatmap localisation")[1]
    assert "CAM (exact)" in table and "oracle 2x2 grid" in table and "ALL" in table
    for label in ALTERNATIVE_MAPS.values():  # grad-cam's maps, labelled as approximate
        assert label in table
    payload = json.loads(results.read_text())
    overall = payload["metrics"]["ALL"]
    assert {"intervals", "auroc_delong", "calibration", "view_calibration"} <= set(overall)
    bins = overall["view_calibration"]["bins"]
    assert sum(b["count"] for b in bins) == sum(len(s["views"]) for s in payload["studies"])
    assert overall["calibration"]["brier"] == pytest.approx(
        np.mean([(s["probability"] - s["label"]) ** 2 for s in payload["studies"]])
    )
    assert payload["model"]["selected_on"].startswith("shipped train/valid")
    assert metrics_csv.read_text().startswith("group,n,metric,value,low,high,method,note")
    for name in ("roc", "confusion", "reliability", "intervals"):
        with Image.open(plots / f"{name}.png") as im:
            assert im.format == "PNG"
    assert main([*argv[:7], "--bootstrap", "0"]) == 0
    assert main([*argv[:7], "--alternative-maps", "smoothgrad"]) == 2
    assert "bootstrap" not in capsys.readouterr().out.split("Calibration")[0]


def test_compare_a_bundle_with_a_results_file_made_elsewhere(run, dataset, tmp_path, capsys):
    first = tmp_path / "first.mura"
    assert main(["export", str(run), str(first), "--top-k", "1"]) == 0
    ensemble = tmp_path / "ensemble.json"
    argv = ["evaluate", str(run), str(dataset), "--device", "cpu", "--top-k", "2"]
    assert main([*argv, "--json", str(ensemble), "--bootstrap", "0"]) == 0
    capsys.readouterr()
    out, plots = tmp_path / "cmp.json", tmp_path / "plots"
    code = main([
        "compare", str(first), str(ensemble), str(dataset), "--device", "cpu", "--json",
        str(out), "--plots", str(plots), "--bootstrap", "200",
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    n = len(json.loads(ensemble.read_text())["studies"])
    assert f"matched {n} studies; unmatched: 0 only in A, 0 only in B" in printed
    assert "DeLong" in printed and "McNemar" in printed
    payload = json.loads(out.read_text())
    assert payload["format"] == "mura-desktop-comparison" and payload["matched"] == n
    overall = payload["groups"]["ALL"]
    assert overall["mcnemar"]["only_a"] + overall["mcnemar"]["only_b"] <= len(
        payload["disagreements"]
    )
    with Image.open(plots / "roc.png") as im:
        assert im.format == "PNG"
    # two results files, no dataset: a run made elsewhere against another
    assert main(["compare", str(ensemble), str(ensemble), "--bootstrap", "0"]) == 0
    same = capsys.readouterr().out
    assert "disagree on 0 studies" in same
    assert main(["compare", str(first), str(ensemble)]) == 2  # a bundle needs the dataset


def test_export_calibrates_and_chooses_per_part_thresholds_after_it(run, tmp_path, capsys):
    from mura_desktop.core.stats.calibration import logit, scaled_probabilities
    from mura_desktop.core.stats.summary import validation_note

    out = tmp_path / "cal.mura"
    argv = ["export", str(run), str(out), "--calibrate", "--per-part-thresholds"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    bundle = load_bundle(out)
    assert "ECE of the views" in printed
    assert ("per-part thresholds" in printed) == bool(bundle.part_thresholds)
    record = bundle.provenance["calibration"]
    assert bundle.temperature == pytest.approx(record["temperature"]) and bundle.temperature != 1
    assert record["ece_views_after"] <= record["ece_views_before"] + 1e-9
    assert "after temperature scaling" in bundle.provenance["notes"]
    # the operating points are those of the calibrated validation probabilities
    best = load_checkpoint(
        run / "checkpoints" / f"epoch-{bundle.provenance['members_epochs'][0]:03d}.pt"
    )
    valid = best["valid"]
    probs = scaled_probabilities(logit(valid["view_probs"].numpy()), bundle.temperature)
    view_study = valid["view_study"].numpy()
    means = np.array([probs[view_study == s].mean() for s in range(len(valid["study_uids"]))])
    labels = valid["study_labels"].numpy()
    from trainer.export import operating_points

    expected = operating_points(list(labels), list(means))
    assert bundle.operating_points == pytest.approx(expected)
    assert bundle.part_thresholds == {}  # no part has 10 validation studies here
    per_part = bundle.provenance["metrics"]["per_part"]
    part = next(iter(per_part))
    assert "kappa" in per_part[part]["intervals"]
    note = validation_note(bundle.provenance, part)
    assert note.startswith(f"{part.lower()}: κ") and "on validation" in note
    assert validation_note(bundle.provenance, "NOSE") is None
    assert validation_note({}, part) is None


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    before = (copy / "checkpoints" / "last.pt").read_bytes()
    config = replace(TrainConfig.load(copy), out=str(copy))
    result = fit(config.with_overrides({"epochs": 3, "lr": 1e38}), resume=True)
    assert result.status == DIVERGED and "became nan" in result.message.lower()
    assert (copy / "checkpoints" / "last.pt").read_bytes() == before
    records = read_records(copy / "metrics.jsonl")
    error = next(r for r in records if r["event"] == "error")
    assert error["kind"] == "non_finite_loss" and error["epoch"] == 3
    assert records[-1]["event"] == "end" and records[-1]["status"] == "diverged"
    assert records[-1]["epoch"] == 2


def test_a_used_run_folder_is_refused(run):
    config = replace(TrainConfig.load(run), out=str(run))
    with pytest.raises(RunError, match="--resume"):
        fit(config)


def test_init_from_a_local_file_and_a_clear_offline_error(tmp_path, monkeypatch):
    import torchvision

    source = torchvision.models.densenet121(weights=None)
    # torchvision's published files use the old names (norm.1 for norm1), no step counters
    state = {
        k.replace(".norm1.", ".norm.1.").replace(".conv1.", ".conv.1."): v
        for k, v in source.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    torch.save({"state_dict": state}, tmp_path / "imagenet.pth")
    net = initial_network("densenet121", str(tmp_path / "imagenet.pth"))
    for name, tensor in source.features.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            assert torch.equal(net.features.state_dict()[name], tensor), name
    with pytest.raises(InitError, match="do not fit densenet169"):
        initial_network("densenet169", str(tmp_path / "imagenet.pth"))

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))  # nothing cached there
    for var in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a refused connection, instantly
    with pytest.raises(InitError, match="--init random"):
        initial_network("densenet121", "imagenet")


@pytest.mark.slow
def test_kill_9_mid_epoch_then_resume_finishes(dataset, cache_dir, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "trainer", "fit", str(dataset), "--out", str(out)]
    cmd += [*_tiny_flags(cache_dir), "--epochs", "2", "--workers", "1"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env()
    )
    seen = []
    try:
        in_epoch_2 = False
        for line in proc.stdout:
            seen.append(line)
            in_epoch_2 = in_epoch_2 or line.startswith("epoch 2/2")
            if in_epoch_2 and line.startswith("["):  # a progress line: a batch of epoch 2 is done
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1

    resumed = subprocess.run(
        [sys.executable, "-m", "trainer", "fit", "--resume", str(out), "--workers", "0"],
        capture_output=True, text=True, env=_env(), timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    records = read_records(out / "metrics.jsonl")
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2]
    starts = [r for r in records if r["event"] == "start"]
    assert [s["resumed_from"] for s in starts] == [None, 1]
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 2
    assert load_bundle(out / "model.mura").architecture == "densenet121"


@pytest.mark.slow
def test_two_process_ddp_on_cpu_with_a_body_part_head_writes_a_bundle(dataset, cache_dir, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "trainer", "fit", str(dataset), "--out", str(out), "--device", "cpu"]
    cmd += [*_tiny_flags(cache_dir), "--epochs", "1", "--workers", "0", "--body-part-head"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = read_records(out / "metrics.jsonl")
    assert [r["event"] for r in records].count("start") == 1  # only rank 0 writes
    start = records[0]
    assert start["world_size"] == 2
    epoch = next(r for r in records if r["event"] == "epoch")
    # every training view was seen once across the two ranks (the sampler pads to even)
    assert start["train_views"] <= epoch["train_images"] <= start["train_views"] + 1
    assert epoch["n"] == start["valid_studies"]  # metrics over all ranks' predictions
    assert done.stdout.count("epoch 1/1") == 1  # only rank 0 prints
    bundle = load_bundle(out / "model.mura")  # multi-task: the body-part head is exported
    assert bundle.body_parts == BODY_PARTS and bundle.provenance["config"]["body_part_head"]


def test_cosine_schedule_warms_up_then_decays_to_zero() -> None:
    config = TrainConfig(lr=1e-3, epochs=2, schedule="cosine")
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = _lr_scheduler(config, optimizer, steps_per_epoch=100)
    lrs = []
    for _ in range(200):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(1e-3 / 10)  # warm-up: 200 steps // 20
    assert max(lrs) == pytest.approx(1e-3)
    assert lrs.index(max(lrs)) == 9
    assert all(b <= a for a, b in itertools.pairwise(lrs[9:]))
    assert lrs[-1] < 1e-6


def test_step_records_carry_the_learning_rate_of_their_step(tmp_path: Path) -> None:
    """Under a cosine schedule the rate moves every batch; a step record logs the rate at
    that step, not the epoch's first."""
    config = TrainConfig(lr=1e-3, epochs=1, schedule="cosine", log_every=1)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = _lr_scheduler(config, optimizer, steps_per_epoch=40)
    log = MetricsLog(tmp_path / "metrics.jsonl")
    on_step = _step_reporter(log, config, 1, 0, 40, True, io.StringIO(), optimizer)
    expected = []
    for batch in range(1, 41):
        optimizer.step()
        scheduler.step()
        expected.append(optimizer.param_groups[0]["lr"])
        on_step(batch, 40, 0.5, 10.0)
    logged = [r["lr"] for r in read_records(log.path) if r["event"] == "step"]
    assert logged == pytest.approx(expected) and len(set(logged)) > 30


@pytest.mark.parametrize(
    ("amp", "expected"), [("off", None), ("bf16", torch.bfloat16), ("fp16", None)]
)
def test_cpu_mixed_precision_is_bfloat16_or_nothing(amp: str, expected) -> None:
    assert amp_dtype(TrainConfig(amp=amp), torch.device("cpu")) is expected


def test_per_part_thresholds_maximise_kappa_where_there_are_enough_studies():
    from mura_desktop.core.results import StudyResult
    from trainer.export import part_thresholds

    rng = np.random.default_rng(0)
    studies = []
    for part, shift, n in (("HAND", 0.2, 40), ("WRIST", -0.1, 40), ("ELBOW", 0.0, 6)):
        labels = rng.integers(0, 2, n)
        probs = np.clip(0.5 + shift + 0.3 * (labels - 0.5) + rng.normal(0, 0.1, n), 0, 1)
        studies += [
            StudyResult(uid=f"{part}{i}", name="", body_part=part, label=int(y), probability=p)
            for i, (y, p) in enumerate(zip(labels, probs, strict=True))
        ]
    chosen = part_thresholds(studies)
    assert set(chosen) == {"HAND", "WRIST"}  # ELBOW: 6 studies
    for part, threshold in chosen.items():
        group = [s for s in studies if s.body_part == part]
        y = [s.label for s in group]
        best = max(
            cohen_kappa_score(y, [s.probability >= c for s in group]) for c in
            {s.probability for s in group}
        )  # fmt: skip
        assert cohen_kappa_score(y, [s.probability >= threshold for s in group]) == best
    assert chosen["HAND"] > 0.5 > chosen["WRIST"]


def test_output_stride_16_and_flip_averaging_travel_from_the_run_into_the_bundle(
    dataset, cache_dir, tmp_path
):
    out = tmp_path / "fine"
    config = TrainConfig(
        data=str(dataset), out=str(out), epochs=1, keep_best=1, cache_dir=str(cache_dir),
        output_stride=16, flip_average=True, **TINY,
    )  # fmt: skip
    assert fit(config).status == COMPLETED
    bundle = load_bundle(out / "model.mura")
    assert (bundle.output_stride, bundle.flip_average, bundle.feature_grid) == (16, True, (4, 4))
    with pytest.raises(ValueError, match="--output-stride 8"):
        TrainConfig(output_stride=8)


def test_a_model_chosen_on_a_held_out_fraction_is_tested_on_the_shipped_valid_split(
    dataset, cache_dir, tmp_path, capsys
):
    out = tmp_path / "held-out"
    config = TrainConfig(
        data=str(dataset), out=str(out), epochs=1, keep_best=1, cache_dir=str(cache_dir),
        valid_fraction=0.3, **TINY,
    )  # fmt: skip
    assert fit(config).status == COMPLETED
    printed = capsys.readouterr().out
    assert "they chose the model, so these figures are optimistic" in printed
    assert "Clean test: model chosen on 30% of train held out by patient" in printed
    assert "scored on valid split of" in printed
    end = [r for r in read_records(out / "metrics.jsonl") if r["event"] == "end"][-1]
    test = end["test"]
    assert test["chosen_on"].startswith("30% of train") and test["studies"] > 0
    scored = json.loads((out / test["results"]).read_text())["studies"]
    assert {s["split"] for s in scored} == {"valid"} and len(scored) == test["studies"]
    trained_on = load_checkpoint(out / "checkpoints" / "last.pt")["valid"]["study_uids"]
    assert not {s["uid"] for s in scored} & set(trained_on)  # the test took no part in selection


def test_cpu_amp_auto_follows_a_measured_speedup_kept_per_machine(runtime_cache) -> None:
    from mura_desktop.inference.backends.torch_runtime import cpu_bfloat16_supported
    from trainer.amp_probe import MIN_SPEEDUP, bfloat16_trains_faster

    if not cpu_bfloat16_supported():
        assert amp_dtype(TrainConfig(amp="auto", size=32), torch.device("cpu")) is None
        pytest.skip("no bfloat16 kernels on this CPU: auto is float32 without measuring")
    decided = bfloat16_trains_faster("densenet121", 32)
    (record,) = (runtime_cache / "mura-desktop" / "runtime" / "amp").glob("densenet121-32px-*")
    speedup = json.loads(record.read_text())["speedup"]
    assert speedup > 0 and decided == (speedup >= MIN_SPEEDUP)
    config = TrainConfig(amp="auto", arch="densenet121", size=32)
    for stored, expected in ((2.0, torch.bfloat16), (1.0, None)):
        record.write_text(json.dumps({"speedup": stored}))
        assert amp_dtype(config, torch.device("cpu")) is expected
