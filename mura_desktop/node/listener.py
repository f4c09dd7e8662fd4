"""The listener: a C-STORE SCP (with C-ECHO) for radiographs that scores each study once
it is complete, i.e. when no instance of it has arrived for a quiet period.

Accepted: CR, DX (for presentation and for processing) and Secondary Capture, in the
transfer syntaxes the pixel pipeline decodes; anything else is refused in negotiation and
logged, as is an association from an AE title not in ``allow_ae`` (when given). Studies are
scored one at a time on a thread of their own, so receiving never waits for the model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    SecondaryCaptureImageStorage,
    Verification,
)

from mura_desktop.node.store import SUCCESS, StudyStore

log = logging.getLogger(__name__)

STORAGE_CLASSES = (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    SecondaryCaptureImageStorage,
)
TRANSFER_SYNTAXES = [
    uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian, uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLossless,
    uid.JPEGLosslessSV1, uid.JPEGLSLossless, uid.JPEGLSNearLossless, uid.JPEG2000Lossless,
    uid.JPEG2000, uid.RLELossless,
]  # fmt: skip
POLL_SECONDS = 0.2
MAX_LISTED = 8  # refused SOP classes named in one log line


@dataclass(frozen=True)
class NodeEvent:
    """What the listener tells its owner: ``kind`` is ``stored``, ``refused`` (an
    association or a presentation context), ``problem``, ``scored`` or ``failed``;
    ``payload`` is the ``ScoredStudy`` for ``scored``."""

    kind: str
    text: str
    study_uid: str | None = None
    payload: Any = None


class Listener:
    """A running DICOM node. ``scorer(folder)`` is called for each complete study, on the
    listener's scoring thread; ``on_event`` on the thread that saw the event."""

    def __init__(
        self,
        store: StudyStore,
        scorer: Callable[[Path], Any],
        *,
        ae_title: str = "MURA",
        host: str = "0.0.0.0",
        port: int = 11112,
        quiet_seconds: float = 5.0,
        allow_ae: Sequence[str] = (),
        on_event: Callable[[NodeEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.scorer = scorer
        self.quiet_seconds = quiet_seconds
        self.on_event = on_event or (lambda event: None)
        self._ae = AE(ae_title=ae_title)
        self._ae.require_calling_aet = list(allow_ae)
        self._ae.maximum_associations = 16
        for sop_class in STORAGE_CLASSES:
            self._ae.add_supported_context(sop_class, TRANSFER_SYNTAXES)
        self._ae.add_supported_context(Verification)
        self._address = (host, port)
        self._server = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._score_loop, name="mura-node-scoring")

    @property
    def port(self) -> int:
        """The port listened on (the real one when started with port 0)."""
        return self._server.server_address[1] if self._server else self._address[1]

    def start(self) -> None:
        handlers = [
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_ABORTED, self._on_aborted),
        ]
        self._server = self._ae.start_server(self._address, block=False, evt_handlers=handlers)
        self._thread.start()
        log.info("listening as %s on port %d", self._ae.ae_title, self.port)

    def stop(self) -> None:
        """Stop accepting, let the study being scored finish, and return."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    # --- network events (pynetdicom's threads) ---------------------------------------

    def _on_store(self, event) -> int:
        sop_uid = str(event.request.AffectedSOPInstanceUID)
        stored = self.store.store(sop_uid, event.encoded_dataset(include_meta=True))
        kind = "stored" if stored.status == SUCCESS else "problem"
        text = stored.problem or f"instance {sop_uid}"
        self._emit(NodeEvent(kind, text, stored.study_uid))
        return stored.status

    def _on_accepted(self, event) -> None:
        """Log each SOP class the peer proposed and got no context for (one line a class,
        however many transfer syntaxes it was proposed with)."""
        accepted = {cx.abstract_syntax for cx in event.assoc.accepted_contexts}
        refused: dict[str, list] = {}
        for context in event.assoc.rejected_contexts:
            if context.abstract_syntax not in accepted:
                refused.setdefault(context.abstract_syntax, []).append(context)
        lines = []
        for sop_class, contexts in refused.items():
            name = getattr(sop_class, "name", sop_class)
            if contexts[0].result == 0x03:
                lines.append(f"{name} (SOP class not supported)")
            else:
                syntaxes = {ts for cx in contexts for ts in cx.transfer_syntax}
                names = sorted(getattr(ts, "name", ts) for ts in syntaxes)
                lines.append(f"{name} (transfer syntax not supported: {', '.join(names)})")
        if lines:  # one event an association: a PACS may propose a hundred classes
            shown = "; ".join(lines[:MAX_LISTED])
            more = f"; and {len(lines) - MAX_LISTED} more" if len(lines) > MAX_LISTED else ""
            self._emit(NodeEvent("refused", f"{_peer(event)}: refused {shown}{more}"))

    def _on_rejected(self, event) -> None:
        self._emit(NodeEvent("refused", f"{_peer(event)}: association rejected"))

    def _on_aborted(self, event) -> None:
        self._emit(NodeEvent("problem", f"{_peer(event)}: association aborted (peer dropped)"))

    # --- scoring (one thread) -------------------------------------------------------

    def _score_loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            for study_uid in self.store.quiet_studies(self.quiet_seconds):
                folder = self.store.complete(study_uid)
                try:
                    scored = self.scorer(folder)
                except Exception as exc:  # one study's failure never stops the node
                    log.exception("scoring study %s failed", study_uid)
                    self._emit(NodeEvent("failed", f"scoring failed: {exc}", study_uid))
                    continue
                self._emit(NodeEvent("scored", f"study {study_uid} scored", study_uid, scored))

    def _emit(self, event: NodeEvent) -> None:
        level = logging.INFO if event.kind in ("stored", "scored") else logging.WARNING
        log.log(level, "%s: %s", event.kind, event.text)
        try:
            self.on_event(event)
        except Exception:
            log.exception("the listener's event handler failed")


def _peer(event) -> str:
    requestor = event.assoc.requestor
    return f"{requestor.ae_title}@{requestor.address}:{requestor.port}"
