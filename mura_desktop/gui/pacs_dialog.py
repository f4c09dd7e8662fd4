"""The PACS node settings (our AE title; the PACS's AE title, host and port) with a C-ECHO
test, and sending results there (C-STORE) off the GUI thread."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mura_desktop.gui.background import BackgroundWorker
from mura_desktop.gui.settings import Settings
from mura_desktop.node.scu import Node, SendReport, echo, send_files


class PacsDialog(QDialog):
    """Edit and test the PACS node; OK stores it in the settings."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        self.settings = settings
        node = settings.pacs_node
        self.local_ae = QLineEdit(settings.local_ae_title)
        self.remote_ae = QLineEdit(node.ae_title if node else "ORTHANC")
        self.host = QLineEdit(node.host if node else "127.0.0.1")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(node.port if node else 4242)
        for edit in (self.local_ae, self.remote_ae):
            edit.setMaxLength(16)
        form = QFormLayout()
        form.addRow("Our AE title", self.local_ae)
        form.addRow("PACS AE title", self.remote_ae)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        self.test_button = QPushButton("Test (C-ECHO)")
        self.test_button.clicked.connect(self.test)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._worker = BackgroundWorker(self)
        self._worker.finished.connect(self._echo_done)
        self._worker.failed.connect(self._echo_failed)

    def node(self) -> Node:
        """The node as entered; ``ValueError`` says what is wrong with it."""
        return Node(self.remote_ae.text().strip(), self.host.text().strip(), self.port.value())

    def test(self) -> None:
        entered = self._entered("Not a valid node")
        if entered is None:
            return
        node, calling = entered
        self.status.setText(f"Asking {node} (C-ECHO)…")
        self.test_button.setEnabled(False)
        self._worker.submit(lambda: (echo(node, calling, timeout=10), node)[1])

    def accept(self) -> None:
        entered = self._entered("Not saved")
        if entered is None:
            return
        self.settings.pacs_node, self.settings.local_ae_title = entered
        self.settings.sync()
        super().accept()

    def _entered(self, failure: str) -> tuple[Node, str] | None:
        """(the PACS node, our AE title) as entered, or None with ``failure`` and the
        reason shown."""
        try:
            return self.node(), self._calling()
        except ValueError as exc:
            self.status.setText(f"{failure}: {exc}")
            return None

    def done(self, result: int) -> None:
        self._worker.shutdown()
        super().done(result)

    def _calling(self) -> str:
        calling = self.local_ae.text().strip()
        if not 0 < len(calling) <= 16:
            raise ValueError("our AE title must be 1 to 16 characters")
        return calling

    def _echo_done(self, _job: int, node: Node) -> None:
        self.test_button.setEnabled(True)
        self.status.setText(f"{node} answered the C-ECHO: the settings work.")

    def _echo_failed(self, _job: int, text: str) -> None:
        self.test_button.setEnabled(True)
        self.status.setText(f"C-ECHO failed. {text.split(': ', 1)[-1]}")


class PacsSender(QObject):
    """Sends files to the configured PACS in the background: ``sent(report)`` when the
    association ran (``report.failed`` lists files refused), ``failed(text)`` when no
    association could be made or no PACS is set."""

    sent = Signal(object)
    failed = Signal(str)

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._worker = BackgroundWorker(self)
        self._worker.finished.connect(lambda _job, report: self.sent.emit(report))
        self._worker.failed.connect(lambda _job, text: self.failed.emit(text))

    def send(self, paths: Sequence[str | os.PathLike[str]]) -> bool:
        """Start sending; False (and ``failed``) when no PACS node is configured."""
        node = self.settings.pacs_node
        if node is None:
            self.failed.emit("No PACS node is set: choose one in the PACS settings first.")
            return False
        calling = self.settings.local_ae_title
        files = list(paths)
        self._worker.submit(lambda: send_files(node, files, calling))
        return True

    def shutdown(self) -> None:
        self._worker.shutdown()


def describe(report: SendReport) -> str:
    """One line for the status bar or a message box."""
    text = f"Sent {len(report.sent)} file(s) to {report.node}"
    if report.failed:
        text += f"; {len(report.failed)} not sent: " + "; ".join(
            f"{path.name}: {why}" for path, why in report.failed
        )
    return text
