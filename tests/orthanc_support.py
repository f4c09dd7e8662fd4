"""A real Orthanc PACS for the tests and bench/bench_pacs_load.py: started on free local
ports with a temporary configuration and storage, driven over its REST API, stopped after.

Nothing here mocks Orthanc: it is the ``Orthanc`` binary (Debian package ``orthanc``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

AE_TITLE = "ORTHANC"


def orthanc_binary() -> str | None:
    return shutil.which("Orthanc")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Orthanc:
    """One Orthanc process; ``modalities`` maps a name to (AE title, port) on localhost."""

    def __init__(self, folder: Path, modalities: dict[str, tuple[str, int]]) -> None:
        binary = orthanc_binary()
        if binary is None:
            raise FileNotFoundError("the Orthanc binary is not installed (apt-get install orthanc)")
        self.http_port, self.dicom_port = free_port(), free_port()
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "mura-test",
            "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "storage"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": AE_TITLE,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomModalities": {
                name: [aet, "127.0.0.1", port] for name, (aet, port) in modalities.items()
            },
            "DicomAlwaysAllowStore": True,
            "Plugins": [],
            "ConcurrentJobs": 2,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
        }
        (folder / "orthanc.json").write_text(json.dumps(config, indent=1))
        self.log = (folder / "orthanc.log").open("w")
        self.process = subprocess.Popen(
            [binary, str(folder / "orthanc.json")], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.http_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/system")
                break
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = (folder / "orthanc.log").read_text()[-2000:]
                    raise RuntimeError(f"Orthanc did not start:\n{log}") from None
                time.sleep(0.2)

    def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.read()

    def get(self, path: str) -> Any:
        return json.loads(self.request("GET", path))

    def post(self, path: str, body: bytes | dict) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return json.loads(self.request("POST", path, data))

    def upload(self, path: Path) -> dict:
        """``POST /instances`` one DICOM file; Orthanc's answer (ID, ParentStudy, ...)."""
        return self.post("/instances", path.read_bytes())

    def find_instance(self, sop_instance_uid: str) -> str | None:
        found = self.post(
            "/tools/find", {"Level": "Instance", "Query": {"SOPInstanceUID": sop_instance_uid}}
        )
        return found[0] if found else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
