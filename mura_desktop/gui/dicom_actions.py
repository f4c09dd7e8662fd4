"""The main window's DICOM network and DICOM results commands: export the scores as DICOM
(SR + heatmap Secondary Captures), send them to the configured PACS, set that PACS up, and
run the DICOM listener, whose arriving studies appear in the study list as they come.

highdicom and pynetdicom (0.4-0.6 s of imports) load when one of these commands is first
used, not with the window."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from mura_desktop.core.display import HeatmapStyle, draw_heatmap, windowed
from mura_desktop.core.results import ResultSet

if TYPE_CHECKING:
    from mura_desktop.gui.listener_service import ListenerService
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.pacs_dialog import PacsSender

RESCAN_MS = 1000  # studies completed meanwhile are listed together


class DicomActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._listener: ListenerService | None = None
        self._sender: PacsSender | None = None
        self._rescan = QTimer(window)
        self._rescan.setSingleShot(True)
        self._rescan.setInterval(RESCAN_MS)
        self._rescan.timeout.connect(self._show_received)

    @property
    def listener(self) -> ListenerService:
        if self._listener is None:
            from mura_desktop.gui.listener_service import ListenerService

            window, listener = self.window, ListenerService(self.window)
            listener.started.connect(self._started)
            listener.stored.connect(lambda _uid, text: self._say(text))
            listener.scored.connect(lambda _scored: self._arrived())
            listener.problem.connect(self._say)
            listener.failed.connect(
                lambda text: window.report(
                    f"The listener did not start: {text}", "Check the port and the model."
                )
            )
            listener.stopped.connect(lambda: self._say("The DICOM listener stopped."))
            self._listener = listener
        return self._listener

    @property
    def sender(self) -> PacsSender:
        if self._sender is None:
            from mura_desktop.gui.pacs_dialog import PacsSender, describe

            window, sender = self.window, PacsSender(self.window.settings, self.window)
            sender.sent.connect(lambda report: self._say(describe(report)))
            sender.failed.connect(
                lambda text: window.report(f"Not sent: {text}", "Check the PACS settings (C-ECHO).")
            )
            self._sender = sender
        return self._sender

    # --- DICOM results ------------------------------------------------------------------

    def choose_export_folder(self) -> None:
        results = self._results()
        if results is None:
            return
        folder = QFileDialog.getExistingDirectory(
            self.window, "Export DICOM results into", self.window.settings.last_save_dir
        )
        if folder:
            from mura_desktop.gui.dicom_export import export_dicom_results

            export_dicom_results(self.window, results, folder, self.overlays())

    def send_to_pacs(self) -> None:
        """Write the DICOM results to a temporary folder and send them (C-STORE)."""
        results = self._results()
        if results is None:
            return
        from mura_desktop.gui.dicom_export import write_dicom_export

        folder = Path(tempfile.mkdtemp(prefix="mura-send-"))
        export = write_dicom_export(results, folder, self.overlays())
        files = [p for w in export.written for p in (w.report, *w.overlays)]
        if not files:
            self.window.report(export.message(), "Only DICOM studies have results to send.")
            return
        if self.sender.send(files):
            self._say(f"Sending {len(files)} DICOM objects to {self.window.settings.pacs_node}…")

    def pacs_settings(self) -> None:
        from mura_desktop.gui.pacs_dialog import PacsDialog

        PacsDialog(self.window.settings, self.window).open()

    def overlays(self) -> dict[str, np.ndarray]:
        """The heatmap overlays the viewer holds (recent studies), drawn in the viewer's
        style; a view below the operating point shows no map unless the style asks."""
        window, out = self.window, {}
        session, style = window.viewer.session, window.viewer.display.heatmap_style()
        for study in session.studies:
            result = session.results.get(study.uid)
            if result is None:
                continue
            floor = result.rule.map_floor(result.body_part)
            scores = {Path(v.path): v.probability for v in result.views}
            for path, heatmap in (window.viewer.shown_heatmaps(study.uid) or {}).items():
                item = window.display.cache.get(path)
                if item is None or item.image.pixels.shape != heatmap.shape:
                    continue
                image, p = item.image, scores.get(Path(path))
                low = image.window_center - image.window_width / 2
                gray = windowed(image.pixels, low, low + image.window_width)
                shown = style if style.shown(p, floor) else HeatmapStyle("off")
                out[str(path)] = draw_heatmap(gray, heatmap, shown, p)
        return out

    # --- the listener -------------------------------------------------------------------

    def toggle_listener(self, on: bool, port: int | None = None) -> None:
        """Start (or stop) the listener on ``port`` (default: the saved one, 11112 at
        first), filing into the saved folder (asked for the first time)."""
        window = self.window
        if not on:
            if self._listener is not None:
                self._listener.stop()
            return
        model = window.viewer.model
        if model is None or model.bundle is None:
            window.report(
                "No model is loaded.", "Load a model first: the listener scores what arrives."
            )
            window.act_listen.setChecked(False)
            return
        folder = window.settings.listener_folder or QFileDialog.getExistingDirectory(
            window, "File arriving studies in", str(Path.home())
        )
        if not folder:
            window.act_listen.setChecked(False)
            return
        window.settings.listener_folder = folder
        bundle, device, rule = model.bundle, model.device, model.rule

        def make_scorer():
            from mura_desktop.node.scoring import StudyScorer

            return StudyScorer(bundle, folder, device=device, threshold=rule.threshold)

        self.listener.start(
            make_scorer,
            folder,
            ae_title=window.settings.local_ae_title,
            port=window.settings.listener_port if port is None else port,
        )

    def shutdown(self) -> None:
        if self._listener is not None:
            self._listener.shutdown()
        if self._sender is not None:
            self._sender.shutdown()

    # --- internals ----------------------------------------------------------------------

    def _results(self) -> ResultSet | None:
        session = self.window.viewer.session
        if not session.results:
            self.window.report("There are no scores yet.", "Score the studies first.")
            return None
        return session.result_set()

    def _arrived(self) -> None:
        """A study is complete (and scored): list it, with the others received."""
        if not self._rescan.isActive():
            self._rescan.start()

    def _show_received(self) -> None:
        """Show the listener's folder in the study list (again), keeping the study on screen."""
        window = self.window
        folder = window.settings.listener_folder
        if not folder:
            return
        target = Path(folder) / "studies"  # where the listener files complete studies
        if not target.is_dir() or not any(target.iterdir()):
            return
        current = window.viewer.current
        keep = current.study.uid if current is not None else None
        if keep is not None:
            window.scanFinished.connect(
                lambda _n: self._reselect(keep), type=Qt.ConnectionType.SingleShotConnection
            )
        window.open_paths([target])

    def _reselect(self, uid: str) -> None:
        if self.window.viewer.session.study(uid) is not None:
            self.window.browser.select(uid)
            self.window.show_study(uid)

    def _started(self, port: int) -> None:
        title = self.window.settings.local_ae_title
        self._say(f"Listening for DICOM on port {port} (AE title {title}).")

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15_000)
