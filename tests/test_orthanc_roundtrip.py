"""The round trip through a real PACS: Orthanc holds real and generated radiographs, sends
them to our listener (C-STORE), our node scores each study and sends its SR and Secondary
Captures back to Orthanc, where they are read back and checked.

Skips when the ``Orthanc`` binary is absent (``apt-get install orthanc``; .ci/run does).
"""

import queue

import pytest
from orthanc_support import AE_TITLE, Orthanc, orthanc_binary
from pydicom import dcmread
from pydicom.filebase import DicomBytesIO

from mura_desktop.core.dicom_results import SC_SERIES_DESCRIPTION, dicom_report
from mura_desktop.inference.bundle import load_bundle
from mura_desktop.node.listener import Listener
from mura_desktop.node.scoring import StudyScorer
from mura_desktop.node.scu import Node
from mura_desktop.node.store import StudyStore

pytestmark = pytest.mark.skipif(
    orthanc_binary() is None, reason="Orthanc is not installed (apt-get install orthanc)"
)


@pytest.fixture
def node_and_pacs(tmp_path, tiny_bundle_path, one_torch_thread):
    events: queue.Queue = queue.Queue()
    scorer = StudyScorer(load_bundle(tiny_bundle_path), tmp_path / "node", device="cpu")
    listener = Listener(
        StudyStore(tmp_path / "node"), scorer, ae_title="MURA", host="127.0.0.1", port=0,
        quiet_seconds=1.0, on_event=events.put,
    )  # fmt: skip
    listener.start()
    pacs = Orthanc(tmp_path / "orthanc", {"mura": ("MURA", listener.port)})
    scorer.send_to = Node(AE_TITLE, "127.0.0.1", pacs.dicom_port)
    scorer.dicom_results = True
    try:
        yield events, pacs
    finally:
        pacs.stop()
        listener.stop()
        scorer.close()


def test_orthanc_sends_studies_and_gets_our_sr_and_sc_back(
    node_and_pacs, shared_dicom_dir, tmp_path, capsys
):
    from mura_desktop.phantoms import generate_dataset

    events, pacs = node_and_pacs
    generate_dataset(tmp_path / "gen", 2, seed=3, size=96, parts=("ELBOW",), dicom=True)
    files = sorted(shared_dicom_dir.glob("*.dcm")) + sorted((tmp_path / "gen").rglob("*.dcm"))
    for path in files:
        pacs.upload(path)
    studies = pacs.get("/studies")
    sent = {}  # StudyInstanceUID -> SOP Instance UIDs Orthanc holds and sends
    for study in studies:
        uid = pacs.get(f"/studies/{study}")["MainDicomTags"]["StudyInstanceUID"]
        instances = pacs.get(f"/studies/{study}/instances")
        sent[uid] = {i["MainDicomTags"]["SOPInstanceUID"] for i in instances}
    assert len(sent) >= 3  # real studies (5 here) + 2 generated

    job = pacs.post("/modalities/mura/store", {"Resources": studies, "Synchronous": True})
    assert job.get("FailedInstancesCount", 0) == 0, job

    scored = {}
    while len(scored) < len(sent):
        event = events.get(timeout=300)
        assert event.kind != "failed", event.text
        if event.kind == "scored":
            scored[event.study_uid] = event.payload
    assert set(scored) == set(sent)

    for uid, outcome in scored.items():
        assert outcome.sent is not None and outcome.sent.ok, outcome.problems
        local = dicom_report(dcmread(outcome.dicom.report))
        sr_uid = str(dcmread(outcome.dicom.report, stop_before_pixels=True).SOPInstanceUID)
        remote_id = pacs.find_instance(sr_uid)
        assert remote_id is not None, f"SR of {uid} not in Orthanc"
        remote = dcmread(DicomBytesIO(pacs.request("GET", f"/instances/{remote_id}/file")))
        assert remote.StudyInstanceUID == uid
        assert dicom_report(remote) == local
        assert set(local["views"]) == sent[uid]  # every instance Orthanc sent is reported
        sc_uids = []
        for path in outcome.dicom.overlays:
            sc_uid = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
            sc_id = pacs.find_instance(sc_uid)
            assert sc_id is not None, f"SC {path.name} of {uid} not in Orthanc"
            sc = dcmread(DicomBytesIO(pacs.request("GET", f"/instances/{sc_id}/file")))
            assert sc.SeriesDescription == SC_SERIES_DESCRIPTION
            assert sc.pixel_array.shape[2] == 3 and sc.StudyInstanceUID == uid
            sc_uids.append(sc_uid)
        scored_views = [u for u, v in local["views"].items() if v["probability"] is not None]
        assert len(sc_uids) == len(scored_views)
        with capsys.disabled():
            p = local["probability"]
            print(
                f"\nstudy {uid}: sent {len(sent[uid])} instance(s), {len(scored_views)} scored; "
                f"back in Orthanc: SR {sr_uid} ({local['verdict']}, "
                f"p={'—' if p is None else f'{p:.3f}'}), {len(sc_uids)} SC: {', '.join(sc_uids)}"
            )
