"""The two words the project decides between: a study's ground-truth ``Label`` and the
model's ``Verdict``.

Both keep their file forms: a label is stored as ``0``/``1`` (MURA's CSVs and the results
files), a verdict as ``"normal"``/``"abnormal"``/``"indeterminate"``. ``Label`` is an
``int`` and ``Verdict`` a ``str``, so values read back from files compare equal to them.
"""

from __future__ import annotations

from enum import Enum, IntEnum


class Verdict(str, Enum):
    ABNORMAL = "abnormal"
    NORMAL = "normal"
    INDETERMINATE = "indeterminate"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Label(IntEnum):
    NORMAL = 0
    ABNORMAL = 1

    @classmethod
    def of(cls, value: object) -> Label | None:
        """A label from a file's value (``0``/``1``, bools, ``None`` for unknown)."""
        return None if value is None else cls(int(bool(value)))

    @property
    def verdict(self) -> Verdict:
        """The verdict that agrees with this label."""
        return Verdict.ABNORMAL if self is Label.ABNORMAL else Verdict.NORMAL

    @property
    def word(self) -> str:
        return self.verdict.value


def label_word(label: int | None) -> str:
    """``"abnormal"``, ``"normal"``, or ``""`` when the label is unknown."""
    known = Label.of(label)
    return "" if known is None else known.word
