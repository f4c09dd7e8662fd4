"""The viewer's DICOM modules on their own: PACS settings and C-ECHO test, sending results,
the listener service's signals, exporting DICOM results, and our SR/SC opened in a view."""

from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt

from mura_desktop.__main__ import main
from mura_desktop.core.results import ResultSet
from mura_desktop.gui.dicom_export import write_dicom_export
from mura_desktop.gui.dicom_results_view import DicomResultsView
from mura_desktop.gui.listener_service import ListenerService
from mura_desktop.gui.pacs_dialog import PacsDialog, PacsSender, describe
from mura_desktop.gui.settings import Settings
from mura_desktop.inference.bundle import load_bundle
from mura_desktop.node.scoring import StudyScorer
from mura_desktop.node.scu import Node, send_files

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def dicom_study(tmp_path_factory) -> list[Path]:
    from mura_desktop.phantoms import generate_dataset

    out = tmp_path_factory.mktemp("gui-dicom")
    generate_dataset(out / "data", 1, seed=4, size=96, parts=("WRIST",), dicom=True)
    return sorted((out / "data" / "dicom").rglob("*.dcm"))


@pytest.fixture
def pacs():
    """A plain pynetdicom storage SCP (C-ECHO too) that keeps what it is sent."""
    arrived = []

    def keep(event):
        arrived.append(event.dataset)
        return 0x0000

    ae = AE(ae_title="PACS")
    for context in AllStoragePresentationContexts:  # in any transfer syntax, as Orthanc
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context("1.2.840.10008.1.1")  # Verification
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, keep)])
    yield Node("PACS", "127.0.0.1", server.server_address[1]), arrived
    server.shutdown()


def test_pacs_settings_persist_and_bad_values_fall_back(tmp_path):
    path = tmp_path / "s.ini"
    settings = Settings(path)
    assert settings.pacs_node is None and settings.local_ae_title == "MURA"
    settings.pacs_node = Node("ORTHANC", "pacs.example", 4242)
    settings.local_ae_title = "VIEWER1"
    settings.listener_port = 11113
    settings.sync()
    again = Settings(path)
    assert again.pacs_node == Node("ORTHANC", "pacs.example", 4242)
    assert (again.local_ae_title, again.listener_port) == ("VIEWER1", 11113)
    again._q.setValue("dicom/pacs", "not a node")
    again._q.setValue("dicom/listener_port", "99999")
    assert again.pacs_node is None and again.listener_port == 11112


def test_dialog_echo_test_and_save(qtbot, tmp_path, pacs):
    node, _arrived = pacs
    settings = Settings(tmp_path / "s.ini")
    dialog = PacsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.remote_ae.setText(node.ae_title)
    dialog.host.setText(node.host)
    dialog.port.setValue(node.port)
    dialog.test()
    qtbot.waitUntil(lambda: "answered" in dialog.status.text(), timeout=WAIT_MS)
    dialog.port.setValue(1)  # nothing listens there
    dialog.test()
    qtbot.waitUntil(lambda: "C-ECHO failed" in dialog.status.text(), timeout=WAIT_MS)
    assert "check host and port" in dialog.status.text()
    dialog.port.setValue(node.port)
    dialog.local_ae.setText("")
    dialog.accept()
    assert "Not saved" in dialog.status.text() and settings.pacs_node is None
    dialog.local_ae.setText("VIEWER")
    dialog.accept()
    assert Settings(tmp_path / "s.ini").pacs_node == node


def test_sender_sends_and_says_when_no_pacs_is_set(qtbot, tmp_path, pacs, dicom_study):
    node, arrived = pacs
    settings = Settings(tmp_path / "s.ini")
    sender = PacsSender(settings)
    with qtbot.waitSignal(sender.failed, timeout=WAIT_MS) as blocker:
        assert sender.send(dicom_study) is False
    assert "No PACS node is set" in blocker.args[0]
    settings.pacs_node = node
    with qtbot.waitSignal(sender.sent, timeout=WAIT_MS) as blocker:
        assert sender.send(dicom_study) is True
    report = blocker.args[0]
    sender.shutdown()
    assert report.ok and len(arrived) == len(dicom_study)
    assert describe(report) == f"Sent {len(dicom_study)} file(s) to {node}"


def test_listener_service_signals_arrivals_and_scores(
    qtbot, tmp_path, tiny_bundle_path, dicom_study, one_torch_thread
):
    service = ListenerService()
    out = tmp_path / "node"
    bundle = load_bundle(tiny_bundle_path)
    with qtbot.waitSignal(service.started, timeout=WAIT_MS) as started:
        service.start(
            lambda: StudyScorer(bundle, out, device="cpu"), out, host="127.0.0.1", port=0,
            quiet_seconds=0.3,
        )  # fmt: skip
    port = started.args[0]
    assert service.running and port > 0
    arrivals = []
    service.stored.connect(lambda uid, text: arrivals.append(uid))
    with qtbot.waitSignal(service.scored, timeout=WAIT_MS) as scored:
        assert send_files(Node("MURA", "127.0.0.1", port), dicom_study, "MODALITY").ok
    study_uid = str(dcmread(dicom_study[0], stop_before_pixels=True).StudyInstanceUID)
    assert scored.args[0].study_uid == study_uid and scored.args[0].result.probability is not None
    assert arrivals == [study_uid] * len(dicom_study)
    with qtbot.waitSignal(service.stopped, timeout=WAIT_MS):
        service.stop()
    assert not service.running
    service.shutdown()


def test_listener_service_reports_a_port_in_use(qtbot, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        service = ListenerService()
        with qtbot.waitSignal(service.failed, timeout=WAIT_MS) as failed:
            service.start(
                lambda: (lambda folder: None), tmp_path / "node", host="127.0.0.1",
                port=taken.getsockname()[1],
            )  # fmt: skip
        service.shutdown()
    assert "Address already in use" in failed.args[0] and not service.running


def test_export_writes_dicom_studies_and_names_png_ones(
    tmp_path, tiny_bundle_path, dicom_study, phantom_dataset, capsys
):
    results_json = tmp_path / "r.json"
    code = main([
        "predict", str(dicom_study[0].parent), str(phantom_dataset / "valid"), "--model",
        str(tiny_bundle_path), "--device", "cpu", "--json", str(results_json), "--quiet",
        "--bootstrap", "0",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    results = ResultSet.from_json(results_json)
    export = write_dicom_export(results, tmp_path / "export")
    assert len(export.written) == 1
    assert export.not_dicom and all("patient" in name for name in export.not_dicom)
    assert "PDF report" in export.message() and export.not_dicom[0] in export.message()
    with pytest.raises(ValueError, match="inside the input data"):
        write_dicom_export(results, dicom_study[0].parent / "out")


def test_our_sr_and_sc_open_in_the_results_view(qtbot, tmp_path, tiny_bundle_path, dicom_study):
    out = tmp_path / "dicom"
    assert main([
        "predict", str(dicom_study[0].parent), "--model", str(tiny_bundle_path),
        "--device", "cpu", "--dicom-out", str(out), "--quiet",
    ]) == 0  # fmt: skip
    (folder,) = out.iterdir()
    view = DicomResultsView()
    qtbot.addWidget(view)
    view.resize(1000, 560)
    view.open_folder(folder)
    view.show()
    assert view.table.rowCount() == len(dicom_study)
    assert view.captures.count() == len(dicom_study)
    assert "DEMO MODEL" in view.summary.text() and "verdict" in view.summary.text()
    assert not view.image.pixmap().isNull()
    assert view.grab().save(str(tmp_path / "dicom_results.png"))
    with pytest.raises(ValueError, match=r"no mura_sr\.dcm"):
        view.open_folder(tmp_path)


def test_the_viewer_listens_lists_arriving_studies_and_exports_dicom(
    qtbot, tmp_path, tiny_bundle_path, dicom_study, one_torch_thread, pacs
):
    """The main window's DICOM menu: a study sent over the network appears in the list,
    scored; its results export as DICOM and go to the PACS."""
    from mura_desktop.gui.main_window import MainWindow

    settings = Settings(tmp_path / "viewer.ini")
    settings.listener_folder = tmp_path / "received"
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.modelChanged, timeout=WAIT_MS):
        window.load_model(tiny_bundle_path, "cpu")
    with qtbot.waitSignal(window.dicom.listener.started, timeout=WAIT_MS) as started:
        window.dicom.toggle_listener(True, port=0)
    port = started.args[0]
    with qtbot.waitSignal(window.scanFinished, timeout=WAIT_MS):
        assert send_files(Node("MURA", "127.0.0.1", port), dicom_study, "MODALITY").ok
    study_uid = str(dcmread(dicom_study[0], stop_before_pixels=True).StudyInstanceUID)
    uid = f"dicom:{study_uid}"
    assert window.browser.visible_uids() == [uid]
    qtbot.waitUntil(lambda: uid in window.session.results, timeout=WAIT_MS)
    out = tmp_path / "exported"
    export = write_dicom_export(window.session.result_set(), out, window.dicom.overlays())
    assert export.written and export.written[0].study_instance_uid == study_uid
    node, arrived = pacs
    settings.pacs_node = node
    with qtbot.waitSignal(window.dicom.sender.sent, timeout=WAIT_MS) as sent:
        window.dicom.send_to_pacs()
    assert sent.args[0].ok
    sop_classes = {str(ds.SOPClassUID) for ds in arrived}
    assert "1.2.840.10008.5.1.4.1.1.88.33" in sop_classes  # our Comprehensive SR
    with qtbot.waitSignal(window.dicom.listener.stopped, timeout=WAIT_MS):
        window.dicom.toggle_listener(False)
    window.close()
