"""A dataset is counted once, and only real views are studies (the real CLI on real files)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from mura_desktop.__main__ import main
from mura_desktop.cli.predict import EXIT_OK, EXIT_PARTIAL
from mura_desktop.core.discovery import discover
from mura_desktop.core.results import ResultSet
from mura_desktop.core.study import FAILED, IGNORED
from mura_desktop.phantoms import generate_dataset
from trainer.__main__ import main as train_main


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, int, int]:
    """``mura-train phantoms OUT`` output root, with its study and view counts."""
    out = tmp_path_factory.mktemp("gen") / "out"
    assert train_main(["phantoms", str(out), "--studies", "9", "--seed", "2", "--size", "64"]) == 0
    summary = generate_dataset(out, 9, seed=2, size=64)  # same seed: same files, and the counts
    return out, summary.n_studies, summary.n_views


def test_generator_root_holds_exactly_its_studies(generated) -> None:
    out, n_studies, n_views = generated
    scan = discover([out])
    assert len(scan.studies) == n_studies
    assert scan.n_views == n_views
    assert all(s.label in (0, 1) and s.split in ("train", "valid") for s in scan.studies)
    assert scan.failures == []
    ignored = {p.path.name for p in scan.problems if p.kind == IGNORED}
    assert {"masks.zip", "ground_truth.csv", "README.txt"} <= ignored


def test_two_copies_of_a_dataset_are_two_sets_of_studies(
    generated, tmp_path, tiny_bundle_path, one_torch_thread
) -> None:
    out, n_studies, n_views = generated
    both = tmp_path / "both"
    shutil.copytree(out, both / "a")
    shutil.copytree(out, both / "b")
    scan = discover([both])
    assert len(scan.studies) == 2 * n_studies
    assert len({s.uid for s in scan.studies}) == 2 * n_studies
    names = [s.name for s in scan.studies]
    assert len(set(names)) == n_studies  # same names, different studies

    results, heat = tmp_path / "r.json", tmp_path / "heat"
    code = main(["predict", str(both), "--model", str(tiny_bundle_path), "--json", str(results),
                 "--heatmaps", str(heat), "--quiet"])  # fmt: skip
    assert code == EXIT_OK
    studies = ResultSet.from_json(results).studies
    assert len(studies) == 2 * n_studies
    assert len({s.uid for s in studies}) == 2 * n_studies
    assert len(list(heat.rglob("*_heatmap.png"))) == 2 * n_views  # no folder collided
    assert {p.name for p in heat.iterdir()} == {"a", "b"}


def test_junk_files_are_listed_not_partial(
    generated, tmp_path, capsys, tiny_bundle_path, one_torch_thread
) -> None:
    out = generated[0]
    data = tmp_path / "data"
    shutil.copytree(out, data)
    study = next(p for p in (data / "MURA-v1.1").rglob("study*") if p.is_dir())
    for name in ("README", "LICENSE", "notes.csv", ".DS_Store", "Thumbs.db", "desktop.ini"):
        (study / name).write_text("not an image\n")
    json_out, csv_out = tmp_path / "r.json", tmp_path / "r.csv"
    args = ["predict", str(data), "--model", str(tiny_bundle_path), "--json", str(json_out),
            "--csv", str(csv_out), "--quiet"]  # fmt: skip
    assert main(args) == EXIT_OK, capsys.readouterr().err
    skipped = json.loads(json_out.read_text())["skipped"]
    listed = {Path(p["path"]).name: p for p in skipped}
    assert {"README", "LICENSE", "notes.csv", ".DS_Store", "Thumbs.db", "desktop.ini"} <= set(
        listed
    )
    assert all(p["kind"] == IGNORED and p["reason"] for p in skipped)
    with csv_out.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["skipped"]]
    assert {Path(r["view_path"]).name for r in rows} == set(listed)
    assert len(ResultSet.from_csv(csv_out).problems) == len(skipped)

    # An image that cannot be read is a failure: the run is partial, and it says which.
    (study / "image9.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (study / "empty.png").write_bytes(b"")
    assert main(args) == EXIT_PARTIAL
    skipped = json.loads(json_out.read_text())["skipped"]
    failed = {Path(p["path"]).name for p in skipped if p["kind"] == FAILED}
    assert failed == {"empty.png"}  # image9.png is a view that failed to decode, not a skip
    views = [v for s in ResultSet.from_json(json_out).studies for v in s.views if v.error]
    assert [Path(v.path).name for v in views] == ["image9.png"]
