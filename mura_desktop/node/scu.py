"""Talking to another DICOM node as a user (SCU): C-ECHO to test the settings, C-STORE to
send results (our SR and Secondary Captures, or any DICOM files)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pynetdicom import AE, _config
from pynetdicom.sop_class import Verification

# Send a file's dataset bytes as stored, read in chunks: no re-encoding, and a large file is
# never held whole in memory. Each file goes in a context of its own transfer syntax.
_config.STORE_SEND_CHUNKED_DATASET = True
DEFAULT_TIMEOUT = 30.0
_NODE = re.compile(r"(?P<aet>[^@]{1,16})@(?P<host>[^:@]+):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class Node:
    """A DICOM node: its AE title, host and port."""

    ae_title: str
    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.ae_title.strip() or len(self.ae_title) > 16:
            raise ValueError(f"AE title {self.ae_title!r} must be 1 to 16 characters")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is not between 1 and 65535")

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def parse_node(text: str) -> Node:
    """``AET@host:port`` → ``Node``; ``ValueError`` says what is wrong."""
    match = _NODE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not AET@host:port (e.g. ORTHANC@127.0.0.1:4242)")
    return Node(match["aet"], match["host"], int(match["port"]))


class NodeUnreachable(OSError):
    """No association could be made with a node; the message says which and why."""


@dataclass
class SendReport:
    """What a C-STORE run delivered: the files sent, and each failure with its reason."""

    node: Node
    sent: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def echo(node: Node, calling_ae_title: str = "MURA", timeout: float = DEFAULT_TIMEOUT) -> None:
    """C-ECHO ``node``; raises ``NodeUnreachable`` unless it answers with success."""
    ae = _ae(calling_ae_title, timeout)
    ae.add_requested_context(Verification)
    assoc = _associate(ae, node)
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    if not status or status.Status != 0x0000:
        raise NodeUnreachable(f"{node}: C-ECHO failed ({_status_text(status)})")


def send_files(
    node: Node,
    paths: Sequence[str | os.PathLike[str]],
    calling_ae_title: str = "MURA",
    timeout: float = DEFAULT_TIMEOUT,
) -> SendReport:
    """C-STORE each file to ``node`` in one association, as stored (no re-encoding).

    A file that cannot be read, or that the node refuses, is listed in ``failed`` and
    the others are still sent; ``NodeUnreachable`` when no association can be made.
    """
    report = SendReport(node)
    files: list[tuple[Path, str, str]] = []
    for item in map(Path, paths):
        try:
            meta = dcmread(item, stop_before_pixels=True).file_meta
            files.append((item, meta.MediaStorageSOPClassUID, meta.TransferSyntaxUID))
        except Exception as exc:  # pydicom raises many types on damaged files
            report.failed.append((item, f"cannot read: {exc}"))
    if not files:
        return report
    ae = _ae(calling_ae_title, timeout)
    for sop_class, syntax in sorted({(sop, ts) for _p, sop, ts in files}):
        ae.add_requested_context(sop_class, syntax)
    assoc = _associate(ae, node)
    try:
        for path, _sop, _ts in files:
            if not assoc.is_established:
                report.failed.append((path, "the association ended before it was sent"))
                continue
            try:
                status = assoc.send_c_store(path)
            except (ValueError, RuntimeError) as exc:  # no accepted context for it
                report.failed.append((path, str(exc)))
                continue
            if status and status.Status in (0x0000, 0xB000, 0xB006, 0xB007):
                report.sent.append(path)
            else:
                report.failed.append((path, f"refused by {node}: {_status_text(status)}"))
    finally:
        if assoc.is_established:
            assoc.release()
    return report


def _ae(calling_ae_title: str, timeout: float) -> AE:
    ae = AE(ae_title=calling_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = min(timeout, 10.0)
    return ae


def _associate(ae: AE, node: Node):
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        why = "the association was rejected (check both AE titles)"
    else:  # pynetdicom reports a refused connection as an abort
        why = (
            "no association: connection refused, aborted or unanswered (check host and "
            "port, and that the node is running)"
        )
    raise NodeUnreachable(f"{node}: {why}")


def _status_text(status) -> str:
    if not status or "Status" not in status:
        return "no response (connection lost or timed out)"
    return f"status 0x{int(status.Status):04X}"
