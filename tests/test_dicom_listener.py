"""The DICOM node with pynetdicom as the peer: C-ECHO, C-STORE by study, scoring after a
quiet period, results (JSON, SR, SC) and sending them on; and bad input: unknown AE
titles, unsupported SOP classes and transfer syntaxes, corrupt and truncated datasets, a
full disk, a peer that drops mid-association."""

import queue
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import MPEG2MPML, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import (
    ComputedRadiographyImageStorage,
    CTImageStorage,
    Verification,
)

from mura_desktop.core.dicom_results import dicom_report
from mura_desktop.core.model_record import ModelRecord
from mura_desktop.core.results import ResultSet
from mura_desktop.inference.bundle import load_bundle
from mura_desktop.node.listener import TRANSFER_SYNTAXES, Listener
from mura_desktop.node.scoring import StudyScorer
from mura_desktop.node.scu import Node, NodeUnreachable, echo, send_files
from mura_desktop.node.store import CANNOT_UNDERSTAND, OUT_OF_RESOURCES, StudyStore

TIMEOUT = 60.0


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> list[list[Path]]:
    """Three generated DICOM studies, their files in view order."""
    from mura_desktop.phantoms import generate_dataset

    out = tmp_path_factory.mktemp("node-phantoms")
    generate_dataset(out / "data", 3, seed=21, size=96, parts=("HAND",), dicom=True)
    folders = sorted({p.parent for p in (out / "data" / "dicom").rglob("*.dcm")})
    return [sorted(f.glob("*.dcm")) for f in folders]


class Node_:
    """A listener on a free local port, its events in a queue."""

    def __init__(self, out: Path, scorer, **options) -> None:
        self.events: queue.Queue = queue.Queue()
        self.out = out
        store_options = {k: options.pop(k) for k in ("min_free_bytes",) if k in options}
        self.listener = Listener(
            StudyStore(out, **store_options), scorer, ae_title="MURA", host="127.0.0.1",
            port=0, quiet_seconds=options.pop("quiet_seconds", 0.5),
            on_event=self.events.put, **options,
        )  # fmt: skip
        self.listener.start()
        self.node = Node("MURA", "127.0.0.1", self.listener.port)

    def wait_for(self, kind: str, study_uid: str | None = None):
        while True:
            event = self.events.get(timeout=TIMEOUT)
            if event.kind == kind and (study_uid is None or event.study_uid == study_uid):
                return event

    def seen(self, kind: str) -> list:
        found = []
        while not self.events.empty():
            event = self.events.get_nowait()
            if event.kind == kind:
                found.append(event)
        return found


@pytest.fixture(scope="module")
def scorer(tiny_bundle_path, tmp_path_factory, one_torch_thread):
    out = tmp_path_factory.mktemp("scorer")
    scorer = StudyScorer(load_bundle(tiny_bundle_path), out, device="cpu", dicom_results=True)
    yield scorer
    scorer.close()


@pytest.fixture
def node(tmp_path, scorer):
    scorer.out = tmp_path / "out"  # each test's results in its own folder
    (scorer.out / "results").mkdir(parents=True)
    running = Node_(tmp_path / "out", scorer)
    yield running
    running.listener.stop()


def _peer(*contexts, ae_title="MODALITY") -> AE:
    """A modality proposing (SOP class[, transfer syntax]) contexts; a class alone is
    proposed once per transfer syntax we take (an SCP accepts one syntax per context)."""
    ae = AE(ae_title=ae_title)
    for context in contexts or [(ComputedRadiographyImageStorage,)]:
        for syntax in context[1:] or TRANSFER_SYNTAXES:
            ae.add_requested_context(context[0], syntax)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae


def _uid(path: Path) -> str:
    return str(dcmread(path, stop_before_pixels=True).StudyInstanceUID)


def test_echo_store_score_and_results(node, studies):
    echo(node.node, "TESTER")  # our own SCU's C-ECHO against our own SCP
    files = studies[0]
    report = send_files(node.node, files, "MODALITY")
    assert report.ok and report.sent == files
    study_uid = _uid(files[0])
    scored = node.wait_for("scored", study_uid).payload
    assert scored.result.probability is not None and scored.problems == []
    stored = sorted((node.out / "studies" / study_uid).glob("*.dcm"))
    assert {dcmread(p).SOPInstanceUID for p in stored} == {dcmread(p).SOPInstanceUID for p in files}
    assert not list((node.out / "incoming").iterdir())  # complete studies leave incoming
    results = ResultSet.from_json(node.out / "results" / f"{study_uid}.json")
    assert results.studies[0].probability == pytest.approx(scored.result.probability)
    assert results.model.demo is True
    sr = dicom_report(dcmread(scored.dicom.report))
    assert sr["probability"] == pytest.approx(scored.result.probability, abs=1e-6)
    assert len(sr["views"]) == len(files) == len(scored.dicom.overlays)


def test_results_are_sent_on_to_a_destination(node, studies):
    """A plain pynetdicom storage SCP plays the PACS: the SR and SCs arrive there."""
    arrived = []

    def keep(event):
        arrived.append(event.dataset)
        return 0x0000

    pacs = AE(ae_title="PACS")
    pacs.supported_contexts = AllStoragePresentationContexts
    server = pacs.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, keep)]
    )
    node.listener.scorer.send_to = Node("PACS", "127.0.0.1", server.server_address[1])
    try:
        send_files(node.node, studies[1], "MODALITY")
        scored = node.wait_for("scored", _uid(studies[1][0])).payload
    finally:
        node.listener.scorer.send_to = None
        server.shutdown()
    assert scored.sent is not None and scored.sent.ok, scored.sent.failed
    assert len(scored.sent.sent) == 1 + len(studies[1])
    kinds = sorted(ds.SOPClassUID.name for ds in arrived)
    assert kinds == ["Comprehensive SR Storage"] + ["Secondary Capture Image Storage"] * len(
        studies[1]
    )
    assert {ds.StudyInstanceUID for ds in arrived} == {_uid(studies[1][0])}


def test_our_own_secondary_captures_are_kept_aside_not_scored(node, studies, tmp_path):
    """A PACS may send our heatmaps back with the study: never scored as radiographs."""
    from mura_desktop.core.dicom_results import write_dicom_results
    from mura_desktop.core.results import StudyResult, ViewResult

    view = ViewResult(str(studies[0][0]), probability=0.5)
    study = StudyResult(uid=f"dicom:{_uid(studies[0][0])}", name="s", views=[view])
    rgb = np.zeros((8, 8, 3), np.uint8)
    files = write_dicom_results(study, ModelRecord(), tmp_path / "ours", {view.path: rgb})
    assert send_files(node.node, files.overlays, "PACS").ok
    event = node.wait_for("stored")
    assert "our own result object" in event.text
    assert len(list((node.out / "ours").rglob("*.dcm"))) == 1
    assert node.listener.store.quiet_studies(0) == []  # nothing waits to be scored


def test_unknown_ae_title_is_rejected_when_restricted(tmp_path, scorer, studies):
    restricted = Node_(tmp_path / "out", scorer, allow_ae=["MODALITY"])
    try:
        assoc = _peer(ae_title="STRANGER").associate(
            "127.0.0.1", restricted.node.port, ae_title="MURA"
        )
        assert assoc.is_rejected
        assert "association rejected" in restricted.wait_for("refused").text
        with pytest.raises(NodeUnreachable, match="rejected"):
            echo(restricted.node, "STRANGER")
        assert send_files(restricted.node, studies[0][:1], "MODALITY").ok
    finally:
        restricted.listener.stop()


def test_unsupported_sop_class_and_transfer_syntax_are_refused(node):
    ae = _peer(
        (CTImageStorage, ExplicitVRLittleEndian),
        (ComputedRadiographyImageStorage, MPEG2MPML),
        (Verification, ImplicitVRLittleEndian),
    )
    assoc = ae.associate("127.0.0.1", node.node.port, ae_title="MURA")
    assert assoc.is_established  # Verification was accepted
    assert len(assoc.rejected_contexts) == 2
    assoc.release()
    text = node.wait_for("refused").text  # one line for the association
    assert "CT Image Storage (SOP class not supported)" in text
    assert "Computed Radiography Image Storage (transfer syntax not supported: MPEG2" in text


def test_corrupt_instances_are_kept_and_the_rest_of_the_study_scores(node, studies, tmp_path):
    from mura_desktop.node import scu  # noqa: F401  (sends files as stored, undecoded)

    files = studies[2]
    truncated = tmp_path / "truncated.dcm"
    data = files[0].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])  # header whole, pixel data cut short
    garbage = tmp_path / "garbage.dcm"
    ds = dcmread(files[1])
    ds.SOPInstanceUID = "1.2.3.4.5.6.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(garbage)
    raw = garbage.read_bytes()
    meta_end = 132 + 12 + int.from_bytes(raw[140:144], "little")
    junk = b"\x08\x00\x20\x00DA\xff\xff" + b"junk" * 40  # a date claiming 64 KiB
    garbage.write_bytes(raw[:meta_end] + junk)

    ae = _peer((ComputedRadiographyImageStorage,))
    assoc = ae.associate("127.0.0.1", node.node.port, ae_title="MURA")
    statuses = [assoc.send_c_store(path).Status for path in (truncated, garbage, *files[1:])]
    assoc.release()
    assert statuses == [0x0000, CANNOT_UNDERSTAND, *[0x0000] * (len(files) - 1)]
    (kept,) = (node.out / "unfiled").iterdir()
    assert kept.read_bytes().endswith(junk)  # kept as received
    assert "no usable Study or SOP Instance UID" in node.wait_for("problem").text
    scored = node.wait_for("scored", _uid(files[1])).payload
    failed = [v for v in scored.result.views if not v.ok]
    assert len(failed) == 1 and failed[0].path.endswith(
        f"{dcmread(truncated, stop_before_pixels=True).SOPInstanceUID}.dcm"
    )
    assert scored.result.probability is not None  # the other views scored
    assert any(failed[0].error in p for p in scored.problems)


def test_a_full_disk_refuses_with_0xA700_and_leaves_nothing(tmp_path, scorer, studies):
    full = Node_(tmp_path / "out", scorer, min_free_bytes=1 << 60)
    try:
        ae = _peer((ComputedRadiographyImageStorage,))
        assoc = ae.associate("127.0.0.1", full.node.port, ae_title="MURA")
        status = assoc.send_c_store(studies[0][0])
        assoc.release()
        assert status.Status == OUT_OF_RESOURCES
        assert "disk nearly full" in full.wait_for("problem").text
        assert not any((tmp_path / "out").rglob("*.dcm"))
        assert not any(p.name.startswith(".") for p in (tmp_path / "out").rglob("*"))
    finally:
        full.listener.stop()


@pytest.mark.filterwarnings("ignore:The value:UserWarning")  # a long ImageComments
def test_a_really_full_disk_too(tmp_path, scorer, studies):
    """A real 1 MiB disk (a tmpfs; mounting needs root) and a 1.6 MB instance."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        big = tmp_path / "big.dcm"
        ds = dcmread(studies[0][0])
        ds.ImageComments = "x" * 1_600_000  # more than the disk holds
        ds.save_as(big)
        node = Node_(disk / "out", scorer, min_free_bytes=0)
        try:
            ae = _peer((ComputedRadiographyImageStorage,))
            assoc = ae.associate("127.0.0.1", node.node.port, ae_title="MURA")
            status = assoc.send_c_store(big)
            assoc.release()
            assert status.Status == OUT_OF_RESOURCES
            assert "disk nearly full (1 MiB free)" in node.wait_for("problem").text
            assert list((disk / "out").rglob("*.dcm")) == []
            assert not any(p.name.endswith(".part") for p in (disk / "out").rglob("*"))
        finally:
            node.listener.stop()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.filterwarnings("ignore:The value:UserWarning")  # a long ImageComments
def test_a_peer_that_drops_mid_association(node, studies, tmp_path):
    """The peer's socket closes while an instance is half sent: nothing of that instance
    is kept, what came before scores, and the node takes the next association."""
    files = studies[0]
    big = tmp_path / "big.dcm"
    ds = dcmread(files[1])
    ds.ImageComments = "x" * 200_000  # many PDUs
    ds.save_as(big)
    armed = []  # PDUs sent since the big instance began

    def drop_after_a_few(event):
        if armed:
            armed.append(1)
            if len(armed) == 4:  # the A-ASSOCIATE is long past; the instance is half sent
                event.assoc.dul.socket.socket.close()

    ae = _peer((ComputedRadiographyImageStorage,))
    assoc = ae.associate(
        "127.0.0.1", node.node.port, ae_title="MURA",
        evt_handlers=[(evt.EVT_PDU_SENT, drop_after_a_few)],
    )  # fmt: skip
    assert assoc.send_c_store(files[0]).Status == 0x0000
    armed.append(0)
    status = assoc.send_c_store(big)
    assert "Status" not in status  # no answer: the connection is gone
    assert "association aborted (peer dropped)" in node.wait_for("problem").text
    assert not list(node.out.rglob(f"{ds.SOPInstanceUID}.dcm"))  # nothing of it kept
    scored = node.wait_for("scored", _uid(files[0])).payload
    assert [Path(v.path).stem for v in scored.result.views] == [
        str(dcmread(files[0], stop_before_pixels=True).SOPInstanceUID)
    ]
    echo(node.node, "AFTER")  # still listening


def test_listen_command_scores_what_arrives(tmp_path, tiny_bundle_path, studies):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "listen-out"
    command = [
        sys.executable, "-m", "mura_desktop", "listen", "--host", "127.0.0.1", "--port",
        str(port), "--out", str(out), "--model", str(tiny_bundle_path), "--device", "cpu",
        "--quiet-period", "0.5", "--dicom-results",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        node = Node("MURA", "127.0.0.1", port)
        for _ in range(600):  # the model loads first
            try:
                echo(node, "TESTER", timeout=1)
                break
            except NodeUnreachable:
                if process.poll() is not None:
                    break
        assert send_files(node, studies[0], "MODALITY").ok
        line = process.stdout.readline()
        assert _uid(studies[0][0]) in line and ("normal" in line or "abnormal" in line)
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    uid = _uid(studies[0][0])
    assert (out / "results" / f"{uid}.json").is_file()
    assert (out / "dicom" / uid / "mura_sr.dcm").is_file()
    assert "DEMO MODEL" in err
    shutil.rmtree(out)
