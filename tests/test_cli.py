"""The headless CLI end to end: real discovery, real decoding, a real (tiny, random) model."""

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from mura_desktop.__main__ import main
from mura_desktop.cli.predict import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL
from mura_desktop.core.results import ResultSet


def _tree_snapshot(root):
    return sorted(
        (p.relative_to(root), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    )


def test_predict_writes_results_heatmaps_and_metrics(
    phantom_dataset, tiny_bundle_path, tmp_path, capsys
):
    before = _tree_snapshot(phantom_dataset)
    out_json, out_csv, heat = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "heat"
    code = main([
        "predict", str(phantom_dataset), "--model", str(tiny_bundle_path),
        "--json", str(out_json), "--csv", str(out_csv), "--heatmaps", str(heat), "--device", "cpu",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    results = ResultSet.from_json(out_json)
    assert len(results.studies) == 10
    assert all(
        s.probability is not None and s.verdict in {"normal", "abnormal"} for s in results.studies
    )
    assert all(
        s.label in (0, 1) and s.body_part in {"WRIST", "HAND", "ELBOW"} for s in results.studies
    )
    assert results.model.content_hash and results.model.demo is True
    assert results.model.details["runtime"].split()[0] in ("torch", "openvino")
    n_views = sum(len(s.views) for s in results.studies)
    assert len(out_csv.read_text().splitlines()) == n_views + 1
    assert len(list(heat.rglob("*_heatmap.png"))) == n_views
    assert "Study-level metrics" in captured.out and "kappa" in captured.out
    assert "DEMO MODEL" in captured.err
    assert _tree_snapshot(phantom_dataset) == before  # user data untouched


def test_predict_heatmaps_draw_only_views_at_the_operating_point_unless_asked(
    phantom_dataset, tiny_bundle_path, tmp_path, capsys
):
    """Below the threshold a view is written without a map; --all-views draws every map,
    in the mode asked for (the same drawing as the viewer's)."""
    import numpy as np
    from PIL import Image

    from mura_desktop.core.display import gray_rgb
    from mura_desktop.core.pixels import load_image

    study = next(p for p in phantom_dataset.rglob("study*") if list(p.glob("*.png")))
    view = sorted(study.glob("*.png"))[0]
    pixels = load_image(view).pixels
    written, modes = {}, {}
    for name, extra in {"none": ["--threshold", "1.0"], "box": ["--all-views"]}.items():
        out = tmp_path / name
        code = main([
            "predict", str(study), "--model", str(tiny_bundle_path), "--heatmaps", str(out),
            "--device", "cpu", "--heatmap-mode", "box", *extra,
        ])  # fmt: skip
        assert code == EXIT_OK, capsys.readouterr().err
        [png] = out.rglob(f"{view.stem}_heatmap.png")
        with Image.open(png) as image:
            modes[name] = image.mode
            written[name] = np.asarray(image.convert("RGB"))
    assert modes == {"none": "L", "box": "RGB"}  # a view without a map is stored gray
    assert np.array_equal(written["none"], gray_rgb(pixels))
    assert not np.array_equal(written["box"], gray_rgb(pixels))
    colours = written["box"][(written["box"] != gray_rgb(pixels)).any(-1)]
    assert (colours == [255, 214, 0]).all()  # only the amber box was drawn


def test_unreadable_view_gives_partial_exit(phantom_dataset, tiny_bundle_path, tmp_path, capsys):
    study = next(p for p in phantom_dataset.rglob("study*") if len(list(p.glob("*.png"))) >= 2)
    copy = tmp_path / "XR_WRIST" / "patient99999" / "study1_positive"
    shutil.copytree(study, copy)
    (copy / "image1.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out_json = tmp_path / "r.json"
    code = main(["predict", str(copy), "--model", str(tiny_bundle_path), "--json", str(out_json)])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    assert "1 view(s) could not be scored" in err
    [result] = ResultSet.from_json(out_json).studies
    assert result.probability is not None  # the rest of the study still scored
    failed = [v for v in result.views if v.error]
    assert len(failed) == 1 and "image1.png" in failed[0].error


def test_no_model_explains_how_to_get_one(phantom_dataset, capsys, monkeypatch):
    monkeypatch.setattr("mura_desktop.cli.predict.default_model_path", lambda: None)
    assert main(["predict", str(phantom_dataset)]) == EXIT_FATAL
    err = capsys.readouterr().err
    assert "import-weights" in err and "mura-train" in err


def test_bad_bundle_and_empty_input_are_fatal(phantom_dataset, tiny_bundle_path, tmp_path, capsys):
    bogus = tmp_path / "bogus.mura"
    bogus.write_bytes(b"not a model")
    assert main(["predict", str(phantom_dataset), "--model", str(bogus)]) == EXIT_FATAL
    assert "bogus.mura" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(empty), "--model", str(tiny_bundle_path)]) == EXIT_FATAL
    assert "no studies found" in capsys.readouterr().err


def test_refuses_to_write_into_input_data(phantom_dataset, tiny_bundle_path, tmp_path, capsys):
    model = ["--model", str(tiny_bundle_path)]
    study = next(p for p in phantom_dataset.rglob("study*") if len(list(p.glob("*.png"))) >= 2)
    radiograph = study / "image2.png"
    before = radiograph.read_bytes()
    link = tmp_path / "link-into-data"
    link.symlink_to(study)
    cases = [
        [str(phantom_dataset), "--json", str(phantom_dataset / "results.json")],
        # a file input: its folder is the data (this once overwrote a radiograph with CSV)
        [str(study / "image1.png"), "--csv", str(radiograph)],
        # a MURA CSV input: its folder is the dataset
        [str(phantom_dataset / "valid_labeled_studies.csv"), "--json", str(phantom_dataset / "r")],
        # a symbolic link into the data is the data
        [str(study), "--heatmaps", str(link / "heat")],
    ]  # fmt: skip
    for case in cases:
        assert main(["predict", *case, *model]) == EXIT_FATAL, case
        assert "is inside the input data" in capsys.readouterr().err
    assert radiograph.read_bytes() == before
    assert not (phantom_dataset / "results.json").exists() and not (study / "heat").exists()


def test_outputs_are_checked_before_scoring(phantom_dataset, tiny_bundle_path, tmp_path, capsys):
    model = ["--model", str(tiny_bundle_path)]
    notes = tmp_path / "notes.csv"
    notes.write_text("my own notes\n")
    assert main(["predict", str(phantom_dataset), *model, "--csv", str(notes)]) == EXIT_FATAL
    err = capsys.readouterr().err
    assert "not a results file of ours (use --force" in err and "studies," not in err
    assert notes.read_text() == "my own notes\n"
    missing = tmp_path / "no" / "such" / "r.json"
    assert main(["predict", str(phantom_dataset), *model, "--json", str(missing)]) == EXIT_FATAL
    assert "folder does not exist" in capsys.readouterr().err
    same = tmp_path / "r.out"
    args = ["predict", str(phantom_dataset), *model, "--json", str(same), "--csv", str(same)]
    assert main(args) == EXIT_FATAL
    # our own previous results are replaced; --force replaces a foreign file
    ours = tmp_path / "r.json"
    assert main(["predict", str(phantom_dataset), *model, "--json", str(ours)]) == EXIT_OK
    assert main(["predict", str(phantom_dataset), *model, "--json", str(ours)]) == EXIT_OK
    args = ["predict", str(phantom_dataset), *model, "--csv", str(notes), "--force"]
    assert main(args) == EXIT_OK
    assert notes.read_text().startswith("study_uid,")
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_names_that_are_not_utf8_are_written_losslessly(
    phantom_dataset, tiny_bundle_path, tmp_path, capfd
):
    study = next(p for p in phantom_dataset.rglob("study*") if p.is_dir())
    folder = tmp_path / os.fsdecode(b"study\xff_positive")
    shutil.copytree(study, folder)
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    args = ["predict", str(folder), "--model", str(tiny_bundle_path)]
    assert main([*args, "--json", str(out_json), "--csv", str(out_csv)]) == EXIT_OK
    assert b"study\xff_positive" in capfd.readouterr().out.encode("utf-8", "surrogateescape")
    [from_json] = ResultSet.from_json(out_json).studies
    [from_csv] = ResultSet.from_csv(out_csv).studies
    assert from_json.uid == from_csv.uid == str(folder)
    assert all(Path(v.path).exists() for v in from_json.views + from_csv.views)


def test_threshold_override_changes_verdicts(phantom_dataset, tiny_bundle_path, tmp_path):
    for thr, expected in (("0", "abnormal"), ("1", "normal")):
        out = tmp_path / f"t{thr}.json"
        main(["predict", str(phantom_dataset), "--model", str(tiny_bundle_path), "--threshold", thr,
              "--json", str(out), "-q"])  # fmt: skip
        studies = ResultSet.from_json(out).studies
        assert {s.verdict for s in studies} == {expected}
        assert all(s.rule.threshold == float(thr) for s in studies)


def test_import_weights_and_model_info(tmp_path, capsys):
    from torchvision.models import densenet121

    net = densenet121(weights=None)
    net.classifier = torch.nn.Linear(net.classifier.in_features, 1)
    ckpt = tmp_path / "public.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, ckpt)
    out = tmp_path / "imported.mura"
    assert main(["import-weights", str(ckpt), str(out), "--name", "public repo"]) == EXIT_OK
    assert main(["model-info", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "public repo" in text and "densenet121" in text
    assert main(["import-weights", str(ckpt), str(out)]) == EXIT_FATAL  # never overwrites
    assert "exists" in capsys.readouterr().err


def test_results_json_is_plain_json(phantom_dataset, tiny_bundle_path, tmp_path):
    out = tmp_path / "r.json"
    main(
        [
            "predict",
            str(phantom_dataset),
            "--model",
            str(tiny_bundle_path),
            "--json",
            str(out),
            "-q",
        ]
    )
    payload = json.loads(out.read_text())
    assert payload["format"] == "mura-desktop-results"
    assert {"uid", "views", "probability", "verdict", "rule"} <= set(payload["studies"][0])


@pytest.mark.parametrize("argv", [["predict"], ["predict", "x", "--device"], ["model-info"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_undefined_metrics_read_na_with_the_reason(
    phantom_dataset, tiny_bundle_path, tmp_path, capsys
):
    normal = next(p for p in phantom_dataset.rglob("study*_negative") if p.is_dir())
    out_json = tmp_path / "r.json"
    code = main(["predict", str(normal), "--model", str(tiny_bundle_path), "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    overall = next(line for line in out.splitlines() if line.startswith("ALL"))
    assert overall.split()[3] == "n/a"  # κ of a one-class group, once printed as 1.000
    assert "only normal studies: needs both classes" in out
    metrics = json.loads(out_json.read_text())["metrics"]["ALL"]
    assert metrics["kappa"] is None and "only normal studies" in metrics["undefined"]["kappa"]
    assert metrics["accuracy"] is not None and "accuracy" not in metrics["undefined"]


def test_predict_writes_intervals_reproducibly(phantom_dataset, tiny_bundle_path, tmp_path, capsys):
    runs = []
    for name in ("a", "b"):
        out_json, out_csv = tmp_path / f"{name}.json", tmp_path / f"{name}-metrics.csv"
        code = main([
            "predict", str(phantom_dataset), "--model", str(tiny_bundle_path), "--json",
            str(out_json), "--metrics-csv", str(out_csv), "--bootstrap", "300", "--seed", "4",
            "--device", "cpu", "-q",
        ])  # fmt: skip
        assert code == EXIT_OK
        runs.append((json.loads(out_json.read_text())["metrics"], out_csv.read_text()))
    out = capsys.readouterr().out
    assert "patient bootstrap (300 resamples, seed 4)" in out and "ECE" in out
    (metrics, csv_text), (again, csv_again) = runs
    assert metrics == again and csv_text == csv_again
    overall = metrics["ALL"]
    assert overall["bootstrap"] == {"unit": "patient", "resamples": 300, "seed": 4}
    assert set(overall["intervals"]) == {
        "kappa", "auroc", "accuracy", "sensitivity", "specificity", "precision", "f1",
    }  # fmt: skip
    assert csv_text.splitlines()[0] == "group,n,metric,value,low,high,method,note"
    assert "ALL,10,ece_study," in csv_text
    # 10 studies of fewer patients: the interval says why it is missing, in every output
    kappa = overall["intervals"]["kappa"]
    if kappa["reason"]:
        assert kappa["low"] is None and kappa["reason"] in out


def test_a_heatmap_that_cannot_be_written_is_reported_and_the_rest_are_written(
    phantom_dataset, tiny_bundle_path, tmp_path, capsys
):
    heat = tmp_path / "heat"
    heat.mkdir()
    (heat / "train").write_text("a file where a study folder would go")  # mkdir fails below
    out_json = tmp_path / "r.json"
    code = main([
        "predict", str(phantom_dataset), "--model", str(tiny_bundle_path), "--device", "cpu",
        "--heatmaps", str(heat), "--json", str(out_json), "--bootstrap", "0", "-q", "--force",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_FATAL
    studies = ResultSet.from_json(out_json).studies
    train = [s for s in studies if s.split == "train"]
    assert train and err.count("error: heatmaps of") == len(train)
    valid_views = sum(len(s.views) for s in studies if s.split != "train")
    assert len(list(heat.rglob("*_heatmap.png"))) == valid_views > 0
