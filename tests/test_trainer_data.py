"""Trainer data pipeline: CSV/folder parsing through discovery, splits, cache, dataset, config."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mura_desktop.core.discovery import discover
from mura_desktop.core.errors import ImageLoadError
from mura_desktop.core.study import Study, View
from mura_desktop.inference.preprocess import resize_gray
from mura_desktop.phantoms import generate_dataset
from trainer.augment import Augmentation
from trainer.config import TrainConfig, add_fit_arguments, config_from_args
from trainer.data import (
    DataError,
    dataset_root,
    make_split,
    patient_grouped_split,
    patient_key,
    view_samples,
)
from trainer.dataset import ViewDataset, collate, make_loader
from trainer.image_cache import ImageCache


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trainer-data") / "phantoms"
    generate_dataset(out, 20, seed=3, size=96)
    return out


def _study(uid: str, patient: str | None, label: int = 0, part: str = "WRIST") -> Study:
    return Study(
        uid=uid,
        name=uid,
        views=[View(Path(f"/x/{uid}/image1.png"))],
        body_part=part,
        label=label,
        patient_id=patient,
        split="train",
    )


def test_dataset_root_skips_the_phantoms_mask_tree(phantoms):
    root, note = dataset_root(phantoms)
    assert root == phantoms / "MURA-v1.1"
    assert note and "MURA-v1.1" in note
    assert dataset_root(root) == (root, None)
    with pytest.raises(DataError, match="not a folder"):
        dataset_root(phantoms / "nope")


def test_shipped_split_follows_the_csvs(phantoms):
    root, _ = dataset_root(phantoms)
    split = make_split(discover([root]).studies)
    expected = {}
    for name in ("train", "valid"):
        lines = (root / f"{name}_labeled_studies.csv").read_text().splitlines()
        expected[name] = {line.rsplit(",", 1)[0].rstrip("/").split("/", 1)[1] for line in lines}
    got = {
        name: {Path(s.uid).relative_to(root).as_posix() for s in studies}
        for name, studies in (("train", split.train), ("valid", split.valid))
    }
    assert got == expected
    labels = {
        line.rsplit(",", 1)[0].rstrip("/").split("/", 1)[1]: int(line.rsplit(",", 1)[1])
        for line in (root / "train_labeled_studies.csv").read_text().splitlines()
    }
    for study in split.train:
        assert study.label == labels[Path(study.uid).relative_to(root).as_posix()]
    assert split.description == "shipped train/valid"


def test_parts_selection_and_unlabelled_studies(phantoms):
    root, _ = dataset_root(phantoms)
    studies = discover([root]).studies
    studies.append(Study(uid="/u", name="u", views=[View(Path("/u/1.png"))], label=None))
    split = make_split(studies, parts=["wrist"])
    assert {s.body_part for s in split.train + split.valid} == {"WRIST"}
    assert split.excluded["unlabelled studies"] == 1
    assert split.excluded["studies of other body parts"] > 0
    with pytest.raises(DataError, match="no labelled"):
        make_split([s for s in studies if s.split == "valid"], parts=["WRIST"], valid_fraction=0.5)


def test_patient_grouped_split_keeps_patients_on_one_side():
    studies = [_study(f"s{i}", f"patient{i // 3}", label=i % 2) for i in range(60)] + [
        _study("lonely", None)
    ]
    train, valid = patient_grouped_split(studies, 0.25, seed=1)
    assert len(train) + len(valid) == len(studies)
    assert not {patient_key(s) for s in train} & {patient_key(s) for s in valid}
    assert 15 <= len(valid) <= 18  # whole patients of 3 studies: reaches 25% within one patient
    again = patient_grouped_split(list(reversed(studies)), 0.25, seed=1)
    assert {s.uid for s in again[1]} == {s.uid for s in valid}
    other = patient_grouped_split(studies, 0.25, seed=2)
    assert {s.uid for s in other[1]} != {s.uid for s in valid}


def test_fraction_split_of_a_mura_tree_uses_only_train(phantoms):
    root, _ = dataset_root(phantoms)
    studies = discover([root]).studies
    split = make_split(studies, valid_fraction=0.3, seed=0)
    assert all(s.split == "train" for s in split.train + split.valid)
    assert not {s.patient_id for s in split.train} & {s.patient_id for s in split.valid}
    assert "held out by patient" in split.description


def test_view_samples_index_their_studies(phantoms):
    root, _ = dataset_root(phantoms)
    split = make_split(discover([root]).studies)
    samples = view_samples(split.valid)
    assert len(samples) == sum(len(s.views) for s in split.valid)
    for sample in samples:
        study = split.valid[sample.study]
        assert sample.path in {str(v.path) for v in study.views}
        assert sample.label == study.label


def test_cache_reads_back_without_decoding(tmp_path):
    source = tmp_path / "view.png"
    pixels = (np.arange(80 * 60).reshape(60, 80) % 251).astype(np.uint8)
    Image.fromarray(pixels).save(source)
    cache = ImageCache(tmp_path / "cache", 32)
    first = cache.load(source)
    expected = np.round(resize_gray(pixels / 255.0, 32) * 255).astype(np.uint8)
    np.testing.assert_array_equal(first, expected)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1
    # Same bytes count and mtime but garbage content: a cache hit never decodes the file.
    stat = source.stat()
    source.write_bytes(b"\0" * stat.st_size)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    np.testing.assert_array_equal(cache.load(source), first)
    # A changed file is decoded again: now it is garbage.
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ImageLoadError):
        cache.load(source)
    assert len(list((tmp_path / "cache").rglob("*.bad"))) == 1
    with pytest.raises(ImageLoadError):  # remembered, not decoded again
        cache.load(source)


def test_a_corrupt_view_is_skipped_and_counted(phantoms, tmp_path):
    root, _ = dataset_root(phantoms)
    split = make_split(discover([root]).studies)
    samples = view_samples(split.train)[:6]
    broken = tmp_path / "broken.png"
    broken.write_bytes(Path(samples[0].path).read_bytes()[:200])  # truncated PNG
    samples[0] = samples[0].__class__(str(broken), samples[0].study, samples[0].label, 0)
    dataset = ViewDataset(samples, ImageCache(tmp_path / "cache", 48), Augmentation(), seed=0)
    loader, sampler = make_loader(dataset, batch_size=4, train=True, workers=0, seed=0)
    sampler.set_epoch(1)
    batches = list(loader)
    assert sum(len(b) for b in batches) == 5
    skipped = [s for b in batches for s in b.skipped]
    assert [index for index, _ in skipped] == [0]
    assert all(b.images.shape[1:] == (48, 48) for b in batches if len(b))


def test_augmentation_is_a_function_of_seed_epoch_and_index(phantoms, tmp_path):
    root, _ = dataset_root(phantoms)
    samples = view_samples(make_split(discover([root]).studies).train)[:3]
    dataset = ViewDataset(samples, ImageCache(tmp_path / "c", 48), Augmentation(), seed=7)
    a, b, c = dataset[(1, 2)], dataset[(1, 2)], dataset[(2, 2)]
    assert torch.equal(a["image"], b["image"])
    assert not torch.equal(a["image"], c["image"])
    plain = ViewDataset(samples, ImageCache(tmp_path / "c", 48), None)[(1, 2)]["image"]
    assert not torch.equal(a["image"], plain)
    assert float(a["image"].min()) >= 0.0 and float(a["image"].max()) <= 1.0


def test_flip_and_contrast_do_what_they_say():
    image = torch.linspace(0, 1, 16).repeat(16, 1)
    rng_flip = next(
        np.random.default_rng(s) for s in range(100) if np.random.default_rng(s).random() < 0.5
    )
    flipped = Augmentation(flip=True, rotation=0.0)(image, rng_flip)
    assert torch.equal(flipped, image.flip(-1))
    same = Augmentation(flip=False, rotation=0.0)(image, np.random.default_rng(0))
    assert torch.equal(same, image)
    jittered = Augmentation(flip=False, rotation=0.0, contrast=0.5)(image, np.random.default_rng(1))
    assert not torch.equal(jittered, image)
    assert jittered.mean().item() == pytest.approx(image.mean().item(), abs=0.05)


def test_collate_of_only_failures_is_an_empty_batch():
    batch = collate([{"index": 3, "error": "bad"}])
    assert len(batch) == 0 and batch.skipped == [(3, "bad")]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_fit_arguments(parser)
    return parser.parse_args(argv)


def test_config_flags_defaults_and_resume_rules(tmp_path):
    config, resume = config_from_args(
        _parse([str(tmp_path), "--out", str(tmp_path / "run"), "--parts", "wrist,hand"])
    )
    assert not resume
    assert (config.arch, config.size, config.batch_size, config.lr) == ("densenet169", 320, 8, 1e-4)
    assert (config.loss, config.class_weights, config.rotation, config.flip) == (
        "wbce",
        "part-studies",
        30.0,
        True,
    )
    assert config.parts == ["WRIST", "HAND"]
    (tmp_path / "run").mkdir()
    config.save(tmp_path / "run")
    assert TrainConfig.load(tmp_path / "run") == config
    resumed, resume = config_from_args(
        _parse(["--resume", str(tmp_path / "run"), "--epochs", "40", "--lr", "1e-5"])
    )
    assert resume and resumed.epochs == 40 and resumed.lr == 1e-5 and resumed.parts == config.parts
    with pytest.raises(ValueError, match="--arch cannot change"):
        config_from_args(_parse(["--resume", str(tmp_path / "run"), "--arch", "resnet50"]))
    with pytest.raises(ValueError, match="--size 8 must be at least"):
        TrainConfig(size=8)
    with pytest.raises(ValueError, match="--parts KNEE"):
        TrainConfig(parts=["knee"])
