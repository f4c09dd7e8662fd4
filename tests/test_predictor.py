"""The predictor on real PNG studies with a tiny random DenseNet-121."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mura_desktop.core.labels import Verdict
from mura_desktop.core.pixels import load_image
from mura_desktop.core.study import BODY_PARTS, Study, View
from mura_desktop.inference.bundle import ModelBundle
from mura_desktop.inference.cam import display_heatmap
from mura_desktop.inference.device import (
    DeviceUnavailableError,
    choose_device,
    cuda_unusable_reason,
    driver_gpu_absence,
)
from mura_desktop.inference.network import build_network, network_from_state_dict
from mura_desktop.inference.predictor import PredictionCancelled, Predictor, StudyPrediction
from mura_desktop.inference.preprocess import preprocess_batch

SIZE = 64
EXACT = {"device": "cpu", "backend": "torch", "precision": "float32"}  # as the references
SHAPES = [(90, 70), (64, 100), (120, 120)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def members() -> list[dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    return [
        build_network("densenet121", body_part_head=True).state_dict(),
        build_network("densenet121", body_part_head=True).state_dict(),
    ]


def _bundle(members: list[dict[str, torch.Tensor]], **fields: object) -> ModelBundle:
    return ModelBundle("densenet121", members, input_size=SIZE, body_parts=BODY_PARTS, **fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def predictor(members: list[dict[str, torch.Tensor]]) -> Iterator[Predictor]:
    with Predictor(_bundle(members[:1]), **EXACT) as p:
        yield p


def _radiograph(path: Path, shape: tuple[int, int], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    h, w = shape
    image = Image.fromarray((rng.random((h, w)) * 40).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    draw.ellipse((x0, y0, x0 + w // 3, y0 + h // 2), fill=220)
    draw.rectangle((w // 2, 0, w // 2 + 6, h - 1), fill=160)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("XR_WRIST") / "patient00001" / "study1_positive"
    folder.mkdir(parents=True)
    for i, shape in enumerate(SHAPES):
        _radiograph(folder / f"image{i + 1}.png", shape, seed=i)
    (folder / "image4.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    return folder


def _study(folder: Path, names: list[str] | None = None) -> Study:
    names = names or sorted(p.name for p in folder.iterdir())
    return Study(
        uid=str(folder),
        name="patient00001/study1",
        views=[View(folder / n) for n in names],
        body_part="WRIST",
        label=1,
        patient_id="patient00001",
        split="valid",
        folder=folder,
    )


def _reference_probabilities(member: dict, paths: list[Path]) -> np.ndarray:
    """Independent path: load, preprocess, plain forward of one member."""
    net = network_from_state_dict("densenet121", member, body_part_head=True)
    batch = torch.from_numpy(preprocess_batch([load_image(p).pixels for p in paths], SIZE))
    with torch.inference_mode():
        return torch.sigmoid(net(batch)).numpy()


def test_study_with_a_corrupt_view_still_scores(
    predictor: Predictor, members: list, study_dir: Path
) -> None:
    prediction = predictor.predict_study(_study(study_dir))
    result = prediction.result
    assert [Path(v.path).name for v in result.views] == [f"image{i}.png" for i in range(1, 5)]
    bad = result.views[3]
    assert bad.probability is None and bad.error and "image4.png" in bad.error
    good = result.views[:3]
    assert all(v.ok and v.predicted_body_part in BODY_PARTS for v in good)
    expected = _reference_probabilities(members[0], [Path(v.path) for v in good])
    np.testing.assert_allclose([v.probability for v in good], expected, atol=1e-5)
    assert result.probability == pytest.approx(float(np.mean(expected)), abs=1e-5)
    assert result.verdict == ("abnormal" if result.probability >= 0.5 else "normal")
    assert result.n_failed == 1 and result.rule == predictor.rule
    assert (result.uid, result.label, result.body_part, result.split) == (
        str(study_dir),
        1,
        "WRIST",
        "valid",
    )
    assert result.predicted_body_part in BODY_PARTS

    assert (
        set(prediction.heatmaps)
        == set(prediction.images)
        == {study_dir / f"image{i}.png" for i in range(1, 4)}
    )
    for path, heatmap in prediction.heatmaps.items():
        image = prediction.images[path]
        assert heatmap.shape == image.pixels.shape and heatmap.dtype == np.float32
        assert heatmap.min() == 0.0 and heatmap.max() == 1.0
    assert [prediction.images[study_dir / f"image{i + 1}.png"].pixels.shape for i in range(3)] == (
        SHAPES
    )


def test_heatmaps_can_be_skipped(predictor: Predictor, study_dir: Path) -> None:
    prediction = predictor.predict_study(_study(study_dir), heatmaps=False)
    assert prediction.heatmaps == {} and len(prediction.images) == 3
    assert prediction.result.probability is not None


def test_all_views_corrupt(predictor: Predictor, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not an image at all")
    (tmp_path / "b.png").write_bytes(b"")
    prediction = predictor.predict_study(_study(tmp_path))
    assert prediction.result.probability is None and prediction.result.verdict is None
    assert all(v.error for v in prediction.result.views)
    assert prediction.heatmaps == {} and prediction.images == {}


def test_progress_counts_views(predictor: Predictor, study_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    predictor.predict_study(_study(study_dir), progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
    done = [d for d, _ in calls]
    assert done == sorted(done)


@pytest.mark.parametrize("allowed_checks", [0, 2, 5])
def test_cancellation(predictor: Predictor, study_dir: Path, allowed_checks: int) -> None:
    checks = 0

    def should_cancel() -> bool:
        nonlocal checks
        checks += 1
        return checks > allowed_checks

    with pytest.raises(PredictionCancelled):
        predictor.predict_study(_study(study_dir), should_cancel=should_cancel)
    assert checks == allowed_checks + 1


def test_band_gives_indeterminate_and_threshold_override(members: list, study_dir: Path) -> None:
    points = {"default": 0.5, "high_sensitivity": 0.0, "high_specificity": 1.0}
    with Predictor(_bundle(members[:1], operating_points=points), **EXACT) as p:
        assert p.rule.band == (0.0, 1.0)
        assert p.predict_study(_study(study_dir)).result.verdict == Verdict.INDETERMINATE
    with Predictor(_bundle(members[:1]), **EXACT, threshold=0.0) as p:
        result = p.predict_study(_study(study_dir)).result
        assert result.verdict == "abnormal" and result.rule.threshold == 0.0


def test_max_aggregation(members: list, study_dir: Path) -> None:
    with Predictor(_bundle(members[:1], aggregation="max"), **EXACT) as p:
        result = p.predict_study(_study(study_dir)).result
    scores = [v.probability for v in result.views if v.ok]
    assert result.probability == max(scores) and result.probability > min(scores)


def test_ensemble_averages_members(members: list, study_dir: Path) -> None:
    paths = [study_dir / f"image{i}.png" for i in (1, 2, 3)]
    with Predictor(_bundle(members), **EXACT, max_batch=2) as p:
        prediction = p.predict_study(_study(study_dir, [path.name for path in paths]))
    each = [_reference_probabilities(m, paths) for m in members]
    assert not np.allclose(each[0], each[1])
    got = [v.probability for v in prediction.result.views]
    np.testing.assert_allclose(got, (each[0] + each[1]) / 2, atol=1e-5)

    # heatmap = mean of the members' own normalised maps
    pixels = load_image(paths[0]).pixels
    batch = torch.from_numpy(preprocess_batch([pixels], SIZE))
    raw = []
    for member in members:
        net = network_from_state_dict("densenet121", member, body_part_head=True)
        with torch.inference_mode():
            maps = net.forward_all(batch).maps
            raw.append(torch.einsum("nchw,c->nhw", maps, net.classifier.weight[0])[0].numpy())
    single = [display_heatmap(r, pixels.shape) for r in raw]
    np.testing.assert_allclose(
        prediction.heatmaps[paths[0]], (single[0] + single[1]) / 2, atol=1e-5
    )


def test_predict_many_matches_predict_study(predictor: Predictor, study_dir: Path) -> None:
    first = _study(study_dir)
    second = _study(study_dir, ["image2.png"])
    calls: list[tuple[int, int]] = []
    results = list(
        predictor.predict_many([first, second], progress=lambda d, t: calls.append((d, t)))
    )
    assert all(isinstance(r, StudyPrediction) for r in results)
    alone = predictor.predict_study(second).result
    assert results[1].result.probability == pytest.approx(alone.probability, abs=1e-6)
    assert results[0].result.views[1].probability == pytest.approx(alone.probability, abs=1e-6)
    assert calls[-1] == (5, 5) and all(t == 5 for _, t in calls)
    assert list(predictor.predict_many([])) == []


def test_an_inference_error_fails_its_study_and_the_batch_goes_on(
    members: list, study_dir: Path
) -> None:
    with Predictor(_bundle(members[:1]), **EXACT) as p:
        # Fails for the first study's one view alone and for any batch that holds it.
        def fail_with_one_view(module: torch.nn.Module, args: tuple) -> None:
            if args[0].shape[0] in (1, 3):
                raise RuntimeError("out of memory while scoring")

        p.backend.members[0].features.register_forward_pre_hook(fail_with_one_view)
        first = _study(study_dir, ["image1.png"])
        second = _study(study_dir, ["image2.png", "image3.png"])
        results = [r.result for r in p.predict_many([first, second])]
    assert results[0].probability is None and results[0].verdict is None
    assert "inference failed: RuntimeError: out of memory" in results[0].views[0].error
    assert results[1].probability is not None and all(v.ok for v in results[1].views)


def test_device_asked_for_is_device_used(members: list) -> None:
    assert choose_device("cpu") == (torch.device("cpu"), None)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        choose_device("tpu")
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        with pytest.raises(DeviceUnavailableError, match=f"has {count} CUDA device"):
            choose_device(f"cuda:{count}")
        pytest.skip("this machine has CUDA; the refusal is for machines without it")
    reason = driver_gpu_absence() or cuda_unusable_reason()
    assert reason
    device, note = choose_device("auto")
    assert device == torch.device("cpu") and note is not None and reason.split(" (")[0] in note
    for request in ("cuda", "cuda:1"):
        with pytest.raises(DeviceUnavailableError, match=f"'{request}' cannot be used"):
            Predictor(_bundle(members[:1]), device=request)
    with Predictor(_bundle(members[:1]), device="auto") as p:
        assert p.device == "cpu" and any("running on the CPU" in n for n in p.notes)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_error_falls_back_to_cpu_once(members: list, study_dir: Path) -> None:
    with Predictor(_bundle(members[:1]), device="auto") as p:
        on_gpu = p.predict_study(_study(study_dir)).result

        def fail_once(module: torch.nn.Module, args: tuple) -> None:
            handle.remove()
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

        handle = p.backend.members[0].features.register_forward_pre_hook(fail_once)
        with pytest.warns(RuntimeWarning, match="continuing on the CPU"):
            on_cpu = p.predict_study(_study(study_dir)).result
        assert p.device == "cpu" and "CUDA failed" in p.notes[-1]
    assert on_cpu.probability == pytest.approx(on_gpu.probability, abs=2e-3)


def test_views_of_several_studies_share_forward_passes(members: list, study_dir: Path) -> None:
    studies = [
        _study(study_dir),
        _study(study_dir, ["image2.png"]),
        _study(study_dir, ["image1.png", "image3.png"]),
    ]
    batches: list[int] = []
    with Predictor(_bundle(members[:1]), **EXACT, max_batch=4) as p:
        p.backend.members[0].features.register_forward_pre_hook(
            lambda module, args: batches.append(args[0].shape[0])
        )
        together = [r.result for r in p.predict_many(studies)]
        batches_together = list(batches)
        alone = [p.predict_study(s).result for s in studies]
    # 3 + 1 + 2 decodable views in batches of at most 4, in study order
    assert batches_together == [4, 2]
    for a, b in zip(together, alone, strict=True):
        assert [v.probability for v in a.views] == pytest.approx(
            [v.probability for v in b.views], abs=1e-5
        )
        assert a.uid == b.uid and a.verdict == b.verdict
