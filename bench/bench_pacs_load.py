"""Load check of the DICOM node: a real Orthanc pushes N generated studies at once (one
store job) to `mura-desktop listen`, which scores each and sends its SR and Secondary
Captures back. Prints whether all were scored and none lost, the throughput, and the
peak memory of the listener (its process and its decoder worker processes).

    PYTHONPATH=. .venv/bin/python bench/bench_pacs_load.py [--studies 200] [--size 192]
        [--model BUNDLE] [--quiet-period 2]

Needs the Orthanc binary (apt-get install orthanc). Not a timed test: it prints numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from orthanc_support import AE_TITLE, Orthanc, free_port

from mura_desktop.core.resources import default_model_path
from mura_desktop.node.scu import Node, NodeUnreachable, echo
from mura_desktop.phantoms import generate_dataset


def tree_peak_kib(pid: int) -> tuple[int, int]:
    """(VmHWM of ``pid``, sum of its descendants' VmHWM), KiB, from /proc."""

    def status(p: str) -> dict[str, str]:
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:  # gone meanwhile
            return {}
        return dict(line.split(":", 1) for line in lines if ":" in line)

    table = {p.name: status(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()}
    descendants, frontier = set(), {str(pid)}
    while frontier:
        frontier = {p for p, s in table.items() if s.get("PPid", "").strip() in frontier}
        descendants |= frontier

    def hwm(p: str) -> int:
        return int(table[p].get("VmHWM", "0 kB").split()[0])

    return hwm(str(pid)), sum(hwm(p) for p in descendants)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--size", type=int, default=192, help="phantom image size (px)")
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--quiet-period", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mura-pacs-load-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        generate_dataset(tmp / "gen", args.studies, seed=1, size=args.size, dicom=True, workers=2)
        files = sorted((tmp / "gen" / "dicom").rglob("*.dcm"))
        print(f"generated {args.studies} studies, {len(files)} instances "
              f"({args.size} px) in {time.perf_counter() - started:.0f} s")  # fmt: skip

        port = free_port()
        pacs = Orthanc(tmp / "orthanc", {"mura": ("MURA", port)})
        out = tmp / "node"
        command = [
            sys.executable, "-m", "mura_desktop", "listen", "--host", "127.0.0.1",
            "--port", str(port), "--out", str(out), "--model", str(args.model),
            "--device", "cpu", "--quiet-period", str(args.quiet_period),
            "--send-to", f"{AE_TITLE}@127.0.0.1:{pacs.dicom_port}",
        ]  # fmt: skip
        log = (tmp / "listen.log").open("w")
        listener = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            for path in files:
                pacs.upload(path)
            studies = pacs.get("/studies")
            while True:  # until the model has loaded
                try:
                    echo(Node("MURA", "127.0.0.1", port), "BENCH", timeout=2)
                    break
                except NodeUnreachable:
                    if listener.poll() is not None:
                        print((tmp / "listen.log").read_text()[-3000:])
                        return 1
                    time.sleep(0.5)

            pushed = time.perf_counter()
            job = pacs.post("/modalities/mura/store", {"Resources": studies, "Asynchronous": True})
            results = out / "results"
            sent_done = None
            deadline = pushed + args.timeout
            while time.perf_counter() < deadline:
                if sent_done is None and pacs.get(f"/jobs/{job['ID']}")["State"] == "Success":
                    sent_done = time.perf_counter() - pushed
                done = len(list(results.glob("*.json"))) if results.is_dir() else 0
                if done >= len(studies):
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - pushed
            peak_self, peak_children = tree_peak_kib(listener.pid)
        finally:
            listener.terminate()
            listener.wait(timeout=120)

        uids = {pacs.get(f"/studies/{s}")["MainDicomTags"]["StudyInstanceUID"] for s in studies}
        scored, views, failed_views = set(), 0, 0
        for path in (out / "results").glob("*.json"):
            payload = json.loads(path.read_text())
            for study in payload["studies"]:
                scored.add(study["uid"].removeprefix("dicom:"))
                views += len(study["views"])
                failed_views += sum(v["error"] is not None for v in study["views"])
        received = len(list((out / "studies").rglob("*.dcm")))
        srs = pacs.post("/tools/find", {"Level": "Series", "Query": {"Modality": "SR"}})
        pacs.stop()

    print(f"model: {args.model.name}, CPU; quiet period {args.quiet_period} s")
    print(f"Orthanc store job finished after {sent_done or float('nan'):.1f} s")
    print(f"studies: {len(uids)} pushed, {len(scored & uids)} scored, "
          f"{len(uids - scored)} lost; instances: {len(files)} sent, {received} filed, "
          f"{views} scored views ({failed_views} failed); SR series back in Orthanc: "
          f"{len(srs)}")  # fmt: skip
    print(f"push → last result: {elapsed:.1f} s = {len(scored) / elapsed:.2f} studies/s, "
          f"{views / elapsed:.2f} views/s")  # fmt: skip
    print(f"peak memory (VmHWM): listener {peak_self / 1024:.0f} MiB, its decoder workers "
          f"{peak_children / 1024:.0f} MiB together")  # fmt: skip
    return 0 if scored >= uids and received == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
