"""Model bundles: save/load round trips, the content hash, refusals and checkpoint import."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from mura_desktop.core.study import BODY_PARTS
from mura_desktop.inference.bundle import (
    BUNDLE_VERSION,
    BundleError,
    ModelBundle,
    import_state_dict,
    load_bundle,
    save_bundle,
)
from mura_desktop.inference.network import build_network, network_from_state_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def torchvision_densenet() -> torch.nn.Module:
    """A torchvision DenseNet-121 with a one-logit classifier, as public MURA repos publish."""
    torch.manual_seed(0)
    return torchvision.models.densenet121(num_classes=1).eval()


@pytest.fixture(scope="module")
def bundle(torchvision_densenet: torch.nn.Module) -> ModelBundle:
    return ModelBundle(
        architecture="densenet121",
        members=[torchvision_densenet.state_dict()],
        input_size=64,
        operating_points={"default": 0.5, "high_sensitivity": 0.3, "high_specificity": 0.7},
        provenance={
            "name": "tiny test model",
            "data": "none",
            "metrics": {"kappa": 0.5, "auroc": 0.8},
            "config": {"lr": 1e-4, "sizes": (1, 2)},
            "demo": True,
        },
    )


@pytest.fixture(scope="module")
def saved(bundle: ModelBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "model.mura.pt"
    save_bundle(bundle, path)
    return path


def _logits(architecture: str, state_dict: dict, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return network_from_state_dict(architecture, state_dict)(x)


def _rewrite(src: Path, dst: Path, **changes: object) -> Path:
    payload = torch.load(src, weights_only=True)
    payload.update(changes)
    torch.save(payload, dst)
    return dst


# --- round trips and the hash -----------------------------------------------------------


def test_round_trip_keeps_everything(bundle: ModelBundle, saved: Path) -> None:
    loaded = load_bundle(saved)
    assert loaded.architecture == "densenet121" and loaded.input_size == 64
    assert loaded.operating_points == bundle.operating_points
    assert loaded.provenance["config"]["sizes"] == (1, 2)
    assert loaded.body_parts is None and loaded.heads == {"abnormality": {"outputs": 1}}
    assert loaded.content_hash == bundle.content_hash
    for key, array in bundle.members[0].items():
        assert isinstance(loaded.members[0][key], np.ndarray), key
        assert np.array_equal(loaded.members[0][key], array), key
    assert not list(saved.parent.glob("*.part")), "temporary file left behind"


def test_hash_is_stable_and_sensitive(bundle: ModelBundle, saved: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.pt"
    assert save_bundle(load_bundle(saved), again) == bundle.content_hash
    assert load_bundle(again).content_hash == bundle.content_hash
    assert len(bundle.content_hash) == 64
    changed_weight = dict(bundle.members[0])
    changed_weight["classifier.bias"] = changed_weight["classifier.bias"] + 1e-3
    other = ModelBundle(
        "densenet121", [changed_weight], input_size=64, provenance=bundle.provenance
    )
    same = ModelBundle("densenet121", bundle.members, input_size=64, provenance=bundle.provenance)
    assert other.content_hash != same.content_hash
    moved_point = ModelBundle(
        "densenet121",
        bundle.members,
        input_size=64,
        provenance=bundle.provenance,
        operating_points={"default": 0.4},
    )
    assert moved_point.content_hash != same.content_hash


def test_half_storage_is_smaller_and_close(
    bundle: ModelBundle, saved: Path, tmp_path: Path
) -> None:
    half = tmp_path / "half.pt"
    written = save_bundle(bundle, half, half=True)
    assert half.stat().st_size < 0.6 * saved.stat().st_size
    loaded = load_bundle(half)
    assert loaded.content_hash == written != bundle.content_hash
    assert loaded.members[0]["features.conv0.weight"].dtype == np.float32
    assert save_bundle(loaded, tmp_path / "half2.pt", half=True) == written  # stable

    torch.manual_seed(3)
    x = torch.randn(4, 3, 64, 64)
    full_logits = _logits("densenet121", bundle.members[0], x)
    half_logits = _logits("densenet121", loaded.members[0], x)
    diff = float((full_logits - half_logits).abs().max())
    print(f"float16 storage: max |logit difference| = {diff:.2e}")
    assert 0 < diff < 1e-2


def test_verdict_rule_and_description(bundle: ModelBundle) -> None:
    rule = bundle.verdict_rule()
    assert rule.threshold == 0.5 and rule.band == (0.3, 0.7) and rule.aggregation == "mean"
    assert bundle.verdict_rule(0.6).threshold == 0.6
    plain = ModelBundle("densenet121", bundle.members, input_size=64, aggregation="max")
    assert plain.verdict_rule().band is None and plain.verdict_rule().aggregation == "max"
    text = bundle.describe()
    for expected in ("tiny test model", "DEMO", "densenet121", "64×64", "0.300", "kappa 0.500"):
        assert expected in text
    assert bundle.content_hash[:12] in text
    assert bundle.record().content_hash == bundle.content_hash
    assert bundle.record().details["metrics"] == bundle.provenance["metrics"]  # viewer notes
    assert "metrics" not in plain.record().details


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"architecture": "vgg16"}, "unknown architecture 'vgg16'"),
        ({"operating_points": {"default": 1.5}}, "outside"),
        ({"operating_points": {"high_sensitivity": 0.4}}, "lack 'default'"),
        (
            {
                "operating_points": {
                    "default": 0.5,
                    "high_sensitivity": 0.8,
                    "high_specificity": 0.2,
                }
            },
            "above",
        ),
        ({"provenance": {"created": object()}}, "provenance.created is a object"),
        ({"aggregation": "median"}, "unknown aggregation"),
        ({"body_parts": ("A", "B")}, "body-part head"),
        ({"members": []}, "at least one member"),
    ],
)
def test_construction_validates(bundle: ModelBundle, changes: dict, message: str) -> None:
    fields = {"architecture": "densenet121", "members": bundle.members, "input_size": 64}
    with pytest.raises(ValueError, match=message):
        ModelBundle(**{**fields, **changes})


def test_body_part_head_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_network("densenet121", body_part_head=True)
    bundle = ModelBundle("densenet121", [net.state_dict()], input_size=64, body_parts=BODY_PARTS)
    save_bundle(bundle, tmp_path / "bp.pt")
    loaded = load_bundle(tmp_path / "bp.pt")
    assert loaded.body_parts == BODY_PARTS
    assert loaded.heads["body_part"]["classes"] == list(BODY_PARTS)
    with pytest.raises(ValueError, match=r"2 unexpected tensors \(body_part\.weight"):
        ModelBundle("densenet121", [net.state_dict()], input_size=64)


# --- refusals ---------------------------------------------------------------------------


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "exploit-ran"
    path = tmp_path / "evil.pt"
    torch.save({"format": "mura-desktop-bundle", "payload": _Exploit(marker)}, path)
    with pytest.raises(BundleError, match="contains executable pickled objects; refusing to load"):
        load_bundle(path)
    with pytest.raises(BundleError, match="executable pickled objects"):
        import_state_dict(path)
    assert not marker.exists()


def test_whole_pickled_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(2, 1), path)
    with pytest.raises(BundleError, match="executable pickled objects"):
        load_bundle(path)


def test_missing_empty_foreign_and_truncated_files(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="file not found") as info:
        load_bundle(tmp_path / "nope.pt")
    assert info.value.path == tmp_path / "nope.pt"
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(BundleError, match="empty file"):
        load_bundle(tmp_path / "empty.pt")
    (tmp_path / "notes.txt").write_text("weights are elsewhere")
    with pytest.raises(BundleError, match="not a PyTorch file"):
        load_bundle(tmp_path / "notes.txt")
    data = saved.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated or damaged"):
        load_bundle(tmp_path / "cut.pt")
    with pytest.raises(BundleError, match="is a folder"):
        load_bundle(tmp_path)


def test_plain_checkpoints_are_pointed_to_import(plain_checkpoint: Path, tmp_path: Path) -> None:
    small = {"features.conv0.weight": torch.zeros(2, 3, 1, 1)}
    trainer = _save(tmp_path / "trainer.pth", {"epoch": 3, "model": small, "optimizer": {}})
    for path in (plain_checkpoint, trainer):
        with pytest.raises(
            BundleError, match="plain checkpoint; use `mura-desktop import-weights`"
        ):
            load_bundle(path)
    torch.save({"hello": "world"}, tmp_path / "other.pt")
    with pytest.raises(BundleError, match="no format marker"):
        load_bundle(tmp_path / "other.pt")


def test_weights_that_do_not_fit(saved: Path, tmp_path: Path) -> None:
    payload = torch.load(saved, weights_only=True)
    member = dict(payload["members"][0])
    member["classifier.weight"] = torch.zeros(2, 1024)
    member.pop("features.norm5.bias")
    path = _rewrite(saved, tmp_path / "bad.pt", members=[member])
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert "classifier.weight (2, 1024) instead of (1, 1024)" in info.value.reason
    assert "1 missing tensors (features.norm5.bias)" in info.value.reason
    path = _rewrite(saved, tmp_path / "bad.pt", provenance={"name": "renamed"})
    with pytest.raises(BundleError, match="content hash mismatch"):
        load_bundle(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"architecture": "alexnet"}, "unknown architecture 'alexnet'"),
        ({"format_version": BUNDLE_VERSION + 1}, "newer than this program understands"),
        ({"format_version": "1"}, "invalid bundle format version"),
        ({"format": "something-else"}, "not a MURA Desktop model bundle"),
        ({"input_size": None}, "missing the field 'input_size'"),
        ({"members": {"a": 1}}, "not a list"),
    ],
)
def test_bad_metadata(bundle: ModelBundle, tmp_path: Path, changes: dict, message: str) -> None:
    payload = {
        "format": "mura-desktop-bundle",
        "format_version": BUNDLE_VERSION,
        "architecture": "densenet121",
        "input_size": 64,
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
        "heads": {"abnormality": {"outputs": 1}},
        "operating_points": {"default": 0.5},
        "aggregation": "mean",
        "provenance": {},
        "members": [{k: torch.from_numpy(v) for k, v in bundle.members[0].items()}],
        **changes,
    }
    if payload["input_size"] is None:
        del payload["input_size"]
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "bad.pt")


# --- importing plain checkpoints --------------------------------------------------------


@pytest.fixture(scope="module")
def plain_checkpoint(
    torchvision_densenet: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return _save(
        tmp_path_factory.mktemp("plain") / "densenet_mura.pth", torchvision_densenet.state_dict()
    )


def test_import_plain_torchvision_densenet(
    torchvision_densenet: torch.nn.Module, plain_checkpoint: Path, tmp_path: Path
) -> None:
    bundle = import_state_dict(plain_checkpoint, input_size=64)
    assert bundle.architecture == "densenet121"  # recognised from the tensor names
    assert bundle.provenance["name"] == "densenet_mura" and bundle.provenance["demo"] is False
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        expected = torchvision_densenet(x)[:, 0]
    assert torch.allclose(_logits("densenet121", bundle.members[0], x), expected, atol=1e-5)
    save_bundle(bundle, tmp_path / "imported.pt")
    assert load_bundle(tmp_path / "imported.pt").content_hash == bundle.content_hash


def test_import_nested_prefixed_and_old_style(
    torchvision_densenet: torch.nn.Module, tmp_path: Path
) -> None:
    state_dict = torchvision_densenet.state_dict()
    # PyTorch < 0.4.1 names (norm.1, conv.2), no BatchNorm counters, Sequential classifier
    old_style = {
        k.replace("norm1.", "norm.1.")
        .replace("conv2.", "conv.2.")
        .replace("classifier.", "classifier.0."): v
        for k, v in state_dict.items()
        if not k.endswith("num_batches_tracked")
    }
    variants = {
        "nested_dataparallel": {"state_dict": {f"module.{k}": v for k, v in state_dict.items()}},
        "trainer_checkpoint": {
            "model": {f"model.{k}": v for k, v in state_dict.items()},
            "epoch": 9,
        },
        "old_style": {"model_state_dict": old_style},
    }
    for name, payload in variants.items():
        imported = import_state_dict(
            _save(tmp_path / f"{name}.pth", payload), architecture="densenet121", input_size=64
        )
        assert set(imported.members[0]) == set(state_dict), name
        for key, tensor in state_dict.items():
            if name != "old_style" or not key.endswith("num_batches_tracked"):
                assert np.array_equal(imported.members[0][key], tensor.numpy()), (name, key)


def test_import_resnet50(tmp_path: Path) -> None:
    torch.manual_seed(0)
    resnet = torchvision.models.resnet50(num_classes=1).eval()
    bundle = import_state_dict(_save(tmp_path / "r.pth", resnet.state_dict()), input_size=64)
    assert bundle.architecture == "resnet50"
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        expected = resnet(x)[:, 0]
    assert torch.allclose(_logits("resnet50", bundle.members[0], x), expected, atol=1e-5)


def test_import_refuses_wrong_heads_and_architectures(
    torchvision_densenet: torch.nn.Module, plain_checkpoint: Path, tmp_path: Path
) -> None:
    state_dict = dict(torchvision_densenet.state_dict())
    imagenet = {**state_dict, "classifier.weight": torch.zeros(1000, 1024)}
    imagenet["classifier.bias"] = torch.zeros(1000)
    with pytest.raises(BundleError, match=r"1000 outputs.*ImageNet classifier"):
        import_state_dict(_save(tmp_path / "imagenet.pth", imagenet))
    two = {
        **state_dict,
        "classifier.weight": torch.zeros(2, 1024),
        "classifier.bias": torch.zeros(2),
    }
    with pytest.raises(BundleError, match=r"2 outputs.*two-output"):
        import_state_dict(_save(tmp_path / "two.pth", two))
    with pytest.raises(BundleError, match="the weights are a densenet121, not a densenet169"):
        import_state_dict(plain_checkpoint, architecture="densenet169")
    with pytest.raises(BundleError, match="unknown architecture 'vit'"):
        import_state_dict(plain_checkpoint, architecture="vit")
    with pytest.raises(BundleError, match="could not recognise the architecture"):
        import_state_dict(_save(tmp_path / "mlp.pth", {"fc1.weight": torch.zeros(3, 3)}))
    with pytest.raises(BundleError, match="no state_dict"):
        import_state_dict(_save(tmp_path / "nothing.pth", {"epoch": 3}))


def test_import_refuses_a_bundle(saved: Path) -> None:
    with pytest.raises(BundleError, match="already a MURA Desktop model bundle"):
        import_state_dict(saved)


def _save(path: Path, payload: object) -> Path:
    torch.save(payload, path)
    return path


# --- hostile and damaged weights ---------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_at_load_import_and_init(
    saved: Path, plain_checkpoint: Path, tmp_path: Path, bad: float
) -> None:
    from trainer.initial_weights import InitError, load_initial_state

    payload = torch.load(saved, weights_only=True)
    member = {k: v.clone() for k, v in payload["members"][0].items()}
    member["classifier.bias"][0] = bad
    # a bundle whose hash was recomputed over the damaged weights: only the finite check helps
    with pytest.raises(ValueError, match=r"NaN or infinite values .*classifier\.bias"):
        ModelBundle(architecture="densenet121", members=[member], input_size=64)
    path = _rewrite(saved, tmp_path / "nan.mura", members=[member])
    with pytest.raises(BundleError, match="NaN or infinite"):
        load_bundle(path)
    state = {k: v.clone() for k, v in torch.load(plain_checkpoint, weights_only=True).items()}
    state["features.conv0.weight"][0, 0, 0, 0] = bad
    checkpoint = _save(tmp_path / "nan.pth", state)
    with pytest.raises(BundleError, match=r"NaN or infinite .*features\.conv0\.weight"):
        import_state_dict(checkpoint)
    with pytest.raises(InitError, match="NaN or infinite"):
        load_initial_state(build_network("densenet121"), checkpoint)


def test_a_zip_bomb_is_refused_before_it_is_read(saved: Path, tmp_path: Path) -> None:
    import zipfile

    bomb = tmp_path / "bomb.mura"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (64 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(BundleError, match="would inflate from"):
        load_bundle(bomb)
    load_bundle(saved)  # a real bundle passes the same check


# --- temperature and per-part thresholds ------------------------------------------------


def test_bundles_from_before_temperature_load_with_their_hash() -> None:
    demo = Path(__file__).resolve().parents[1] / "resources" / "models"
    [path] = demo.glob("*.mura")
    payload = torch.load(path, weights_only=True)
    assert "temperature" not in payload and "part_thresholds" not in payload
    loaded = load_bundle(path)  # the stored hash is checked on load
    assert loaded.content_hash == payload["content_hash"]
    assert loaded.temperature == 1.0 and loaded.part_thresholds == {}
    assert loaded.verdict_rule().part_thresholds == ()


def test_temperature_and_part_thresholds_round_trip_and_are_hashed(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    fields = {"architecture": "densenet121", "members": bundle.members, "input_size": 64}
    plain = ModelBundle(**fields)
    calibrated = ModelBundle(**fields, temperature=1.7, part_thresholds={"HAND": 0.42})
    assert len({plain.content_hash, calibrated.content_hash,
                ModelBundle(**fields, temperature=1.7).content_hash}) == 3  # fmt: skip
    assert ModelBundle(**fields, temperature=1.0).content_hash == plain.content_hash
    path = tmp_path / "calibrated.mura"
    save_bundle(calibrated, path)
    loaded = load_bundle(path)
    assert loaded.temperature == 1.7 and loaded.part_thresholds == {"HAND": 0.42}
    assert loaded.content_hash == calibrated.content_hash
    rule = loaded.verdict_rule()
    assert rule.threshold_for("HAND") == 0.42 and rule.threshold_for("WRIST") == 0.5
    assert loaded.verdict_rule(0.6).part_thresholds == ()  # an explicit threshold wins
    text = loaded.describe()
    assert "per body part: HAND 0.420" in text and "temperature 1.700" in text
    tampered = _rewrite(path, tmp_path / "tampered.mura", temperature=1.0)
    with pytest.raises(BundleError, match="content hash mismatch"):
        load_bundle(tampered)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"temperature": 0.0}, "temperature 0.0 is outside"),
        ({"temperature": float("nan")}, "temperature nan is outside"),
        ({"part_thresholds": {"KNEE": 0.5}}, "unknown body part 'KNEE'"),
        ({"part_thresholds": {"HAND": 1.5}}, "threshold 1.5 for HAND is outside"),
    ],
)
def test_calibration_fields_are_validated(bundle: ModelBundle, changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelBundle("densenet121", bundle.members, input_size=64, **changes)


def test_the_predictor_divides_the_logits_by_the_temperature(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    from mura_desktop.core.discovery import discover
    from mura_desktop.inference.predictor import Predictor
    from mura_desktop.phantoms import generate_dataset

    generate_dataset(tmp_path / "data", 2, seed=1, size=64)
    study = discover([tmp_path / "data"]).studies[0]
    fields = {"architecture": "densenet121", "members": bundle.members, "input_size": 64}
    probs = {}
    for t in (1.0, 2.5):
        exact = {"device": "cpu", "backend": "torch", "precision": "float32"}
        with Predictor(ModelBundle(**fields, temperature=t), **exact) as predictor:
            probs[t] = [v.probability for v in predictor.predict_study(study).result.views]
    for p1, p2 in zip(probs[1.0], probs[2.5], strict=True):
        logit = torch.logit(torch.tensor(p1, dtype=torch.float64))
        assert p2 == pytest.approx(float(torch.sigmoid(logit / 2.5)), abs=1e-5)


# --- output stride and test-time flips --------------------------------------------------


def test_output_stride_and_flip_average_round_trip_and_are_hashed(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    fields = {"architecture": "densenet121", "members": bundle.members, "input_size": 64}
    plain = ModelBundle(**fields)
    assert (plain.output_stride, plain.flip_average, plain.feature_grid) == (32, False, (2, 2))
    fine = ModelBundle(**fields, output_stride=16, flip_average=True)
    assert fine.feature_grid == (4, 4)
    hashes = {plain.content_hash, fine.content_hash,
              ModelBundle(**fields, output_stride=16).content_hash,
              ModelBundle(**fields, flip_average=True).content_hash}  # fmt: skip
    assert len(hashes) == 4
    assert ModelBundle(**fields, output_stride=32).content_hash == plain.content_hash
    path = tmp_path / "fine.mura"
    save_bundle(fine, path)
    loaded = load_bundle(path)
    assert (loaded.output_stride, loaded.flip_average) == (16, True)
    assert loaded.content_hash == fine.content_hash
    details = loaded.record().details
    assert details["output_stride"] == 16 and details["flip_average"] is True
    text = loaded.describe()
    assert "output stride 16 (4×4 heatmap cells)" in text and "test-time flips" in text
    tampered = _rewrite(path, tmp_path / "tampered.mura", output_stride=32)
    with pytest.raises(BundleError, match="content hash mismatch"):
        load_bundle(tampered)
    save_bundle(plain, tmp_path / "plain.mura")
    payload = torch.load(tmp_path / "plain.mura", weights_only=True)
    assert "output_stride" not in payload and "flip_average" not in payload
    assert load_bundle(tmp_path / "plain.mura").content_hash == plain.content_hash


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"output_stride": 8}, "output stride 8"),
        ({"output_stride": True}, "output stride True"),
        ({"flip_average": "yes"}, "flip_average 'yes'"),
    ],
)
def test_stride_and_flip_fields_are_validated(
    bundle: ModelBundle, changes: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ModelBundle("densenet121", bundle.members, input_size=64, **changes)


def test_the_predictor_runs_the_bundles_stride_and_flips(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    """Scores and maps come from the network the bundle describes: with flips, each view's
    logit is the mean of the view's and its mirror's, and the map is exact for it."""
    from mura_desktop.core.discovery import discover
    from mura_desktop.core.pixels import load_image
    from mura_desktop.inference.cam import class_activation_maps, display_heatmap
    from mura_desktop.inference.predictor import Predictor
    from mura_desktop.inference.preprocess import preprocess_batch
    from mura_desktop.phantoms import generate_dataset

    generate_dataset(tmp_path / "data", 2, seed=1, size=64)
    study = discover([tmp_path / "data"]).studies[0]
    fields = {"architecture": "densenet121", "members": bundle.members, "input_size": 64}
    fine = ModelBundle(**fields, output_stride=16, flip_average=True)
    with Predictor(fine, device="cpu", backend="torch", precision="float32") as predictor:
        prediction = predictor.predict_study(study)
    net = network_from_state_dict("densenet121", bundle.members[0], output_stride=16)
    view = study.views[0]
    pixels = load_image(view.path).pixels
    x = torch.from_numpy(preprocess_batch([pixels], 64))
    with torch.inference_mode():
        plain, mirrored = net.forward_all(x), net.forward_all(x.flip(-1))
        maps = (plain.maps + mirrored.maps.flip(-1)) / 2
    cam = class_activation_maps(maps.numpy(), bundle.members[0]["classifier.weight"])[0]
    logit = (plain.logit + mirrored.logit) / 2
    assert prediction.result.views[0].probability == pytest.approx(
        float(torch.sigmoid(logit)), abs=1e-5
    )
    heatmap = prediction.heatmaps[view.path]
    assert heatmap == pytest.approx(display_heatmap(cam, pixels.shape), abs=1e-5)
    assert cam.shape == (4, 4)
