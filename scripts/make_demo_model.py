"""Export the bundled demo model from a ``mura-train fit`` run and measure it for its card.

    PYTHONPATH=. .venv/bin/python scripts/make_demo_model.py RUN_DIR PHANTOM_DATA [--out F]

1. ``mura-train export RUN_DIR OUT --half --demo --name ...`` (the trainer's own CLI) and, for the
   comparison only, a float32 export to a temporary file;
2. the largest |logit difference| between the float16 and float32 bundles over the held-out
   views (the networks run directly, on the preprocessed views);
3. the held-out study metrics and the heatmap pointing game through the viewer's
   ``Predictor`` (``bench/synthetic_check.py``'s ``evaluate_held_out``: views of the shipped
   ``valid`` split, never used for training or checkpoint selection);
4. file size and content hash.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from synthetic_check import evaluate_held_out  # noqa: E402

from mura_desktop.core.discovery import discover  # noqa: E402
from mura_desktop.core.pixels import load_image  # noqa: E402
from mura_desktop.inference.bundle import ModelBundle, load_bundle  # noqa: E402
from mura_desktop.inference.network import network_from_state_dict  # noqa: E402
from mura_desktop.inference.preprocess import preprocess_batch  # noqa: E402
from trainer.data import dataset_root  # noqa: E402

NAME = "mura-demo-densenet121-192.mura"
MODEL_NAME = "MURA Desktop demo (synthetic phantoms, densenet121 192px)"


def export(run_dir: Path, out: Path, *, half: bool, name: str) -> None:
    command = [sys.executable, "-m", "trainer", "export", str(run_dir), str(out), "--demo"]
    command += ["--name", name, "--force"] + (["--half"] if half else [])
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def logits(bundle: ModelBundle, batches: list[np.ndarray]) -> torch.Tensor:
    net = network_from_state_dict(
        bundle.architecture, bundle.members[0], output_stride=bundle.output_stride
    )
    with torch.inference_mode():
        return torch.cat(
            [
                net.forward_all(
                    torch.from_numpy(x), flip_average=bundle.flip_average
                ).logit.double()
                for x in batches
            ]
        )


def max_logit_difference(half: ModelBundle, full: ModelBundle, data: Path, limit: int) -> float:
    """Largest |float16 - float32| abnormality logit over up to ``limit`` held-out views."""
    studies = discover([dataset_root(data)[0]]).studies
    paths = [v.path for s in studies if s.split == "valid" for v in s.views][:limit]
    batches = [
        preprocess_batch(
            [load_image(p).pixels for p in paths[i : i + 32]], full.input_size, full.mean, full.std
        )
        for i in range(0, len(paths), 32)
    ]
    diff = (logits(half, batches) - logits(full, batches)).abs()
    print(f"float16 vs float32 bundle over {len(paths)} held-out views: max |Δlogit| "
          f"{diff.max():.2e}, mean {diff.mean():.2e}")  # fmt: skip
    return float(diff.max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("data", type=Path, help="the phantom dataset the run trained on")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "models" / NAME)
    parser.add_argument("--views", type=int, default=512, help="views for the logit check")
    args = parser.parse_args()

    export(args.run_dir, args.out, half=True, name=MODEL_NAME)
    with tempfile.TemporaryDirectory() as tmp:
        full_path = Path(tmp) / "float32.mura"
        export(args.run_dir, full_path, half=False, name=MODEL_NAME)
        full = load_bundle(full_path)
        full_size = full_path.stat().st_size
    half = load_bundle(args.out)
    max_logit_difference(half, full, args.data, args.views)
    evaluate_held_out(args.data, args.out)
    size, full_mb = args.out.stat().st_size, full_size / 1e6
    print(f"\n{args.out.name}: file size {size / 1e6:.2f} MB (float32 export {full_mb:.2f} MB); "
          f"content hash {half.content_hash[:12]}; demo {half.is_demo}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
