"""Start the viewer: QApplication, log file, exception hooks, the main window.

Nothing here imports torch: the window is shown first and the model is loaded by the
inference worker afterwards.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from mura_desktop import __version__
from mura_desktop.core.resources import icon_path, sample_paths
from mura_desktop.gui.gui_gc import collect_on_gui_thread
from mura_desktop.gui.messages import log_file, show_unexpected
from mura_desktop.gui.settings import APPLICATION, ORGANIZATION

if TYPE_CHECKING:
    from mura_desktop.gui.model_loading import BundleLoader

log = logging.getLogger(__name__)

LOG_BYTES = 2 * 2**20
LOG_BACKUPS = 3


def configure_logging(level: int = logging.INFO) -> Path:
    """Rotating log file in the platform's log folder, plus warnings on stderr."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    root.addHandler(console)
    return path


class _ErrorRelay(QObject):
    """Carries unexpected errors from any thread to a dialog in the GUI thread."""

    raised = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def _show(self, summary: str, details: str) -> None:
        show_unexpected(QApplication.activeWindow(), summary, details)


def install_exception_hooks() -> None:
    """Log every uncaught exception (GUI thread or other threads) and show it."""
    relay = _ErrorRelay()

    def report(exc_type, exc, tb, thread_name: str) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("uncaught exception in %s\n%s", thread_name, details)
        relay.raised.emit(f"{exc_type.__name__}: {exc}", details)

    def excepthook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report(exc_type, exc, tb, "the GUI thread")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "a thread"
        report(args.exc_type, args.exc_value, args.exc_traceback, name)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    install_exception_hooks.relay = relay  # kept alive for the life of the process


# How long the GUI thread may wait for the interpreter lock while a worker thread holds it
# (preprocessing, building a runtime's graph). A paint passes through Python many times, and
# at Python's default 5 ms each pass could wait that long: bench_stall.py saw 2 runs of 8
# stall over 100 ms while scoring (122, 154 ms); at 1 ms none did (longest 82 ms), at the
# same scoring speed.
GUI_SWITCH_INTERVAL_S = 0.001


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("MURA Desktop")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(icon_path() or "")))
    collect_on_gui_thread(app)
    return app


def begin_preload(
    loader: BundleLoader, path: Path, *, device: str = "auto", backend: str = "auto"
) -> None:
    """Start loading the model at ``path`` in the background for ``loader``'s first load,
    and then what the first map drawn needs (the viewer's start and bench_startup.py)."""
    from mura_desktop.core.display import load_region_tools
    from mura_desktop.inference.preload import preload

    loader.preloaded = preload(path, device=device, backend=backend, leave_a_core=True)
    loader.preloaded.when_done(load_region_tools)


def run_viewer(paths: Sequence[str], model: str | None = None) -> int:
    """The ``mura-desktop [PATH ...]`` entry point: show the window, then open and load."""
    from mura_desktop.gui.system_libraries import preflight

    problem = preflight()  # Qt aborts the process where this would have said why
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    app = create_application()
    configure_logging()
    install_exception_hooks()
    log.info("MURA Desktop %s starting; paths %s", __version__, list(paths))
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.model_loading import BundleLoader
    from mura_desktop.gui.opening import startup_model_path
    from mura_desktop.gui.settings import Settings

    settings = Settings()
    if not paths and settings.geometry is None:  # never closed before: a first launch
        paths = [str(p) for p in sample_paths()]  # shows the bundled sample studies
    loader = BundleLoader(backend=lambda: settings.backend)
    window = MainWindow(settings, model_factory=loader)
    window.show()
    app.processEvents()  # drawn first: see below
    # The bundle and its runtime load while the images decode. Started before the window
    # was built, this load made the window 0.3-0.45 s later on two cores (both hold the
    # interpreter while importing) and the first score no sooner.
    model_path = startup_model_path(settings, model)
    if model_path is not None and model_path.is_file():
        begin_preload(loader, model_path, device=settings.device, backend=settings.backend)
    QTimer.singleShot(0, lambda: window.start([Path(p) for p in paths], model))
    return app.exec()
