"""The probe that sorts viewers into visibility classes, with the resolvers' own rules.

A class read runs the selection for `ProbeId`, a viewer id that is nobody's, with the roles of
the class. Every rule that singles a viewer out compares the viewer's id with some row's
(`viewer.id == user.id` for an email, `task.creator_id == actor_id` for `viewerCanUpdate`,
`viewer_id in (contributor, creator)` for evidence): the probe answers "not equal" and writes down
what it was compared with. A member whose id is not among those would have got the very same
answer from every rule, and so gets the class's payload, byte for byte; a member whose id is
(the task's creator, its assignee, a past assignee when the selection reaches the assignments'
users' emails) is read again as themselves. Any other use of the probe (hashed, ordered, printed,
turned to bytes for a SQL parameter, its User row read, its reputation asked for) makes the class
read unusable: each member is then read as themselves (correct, only not multiplexed).

Both sides of `==` are covered: Python asks the probe first when the other side is a plain
`uuid.UUID` (the probe's class is a subclass); asyncpg's UUID (a final class, which PostgreSQL
rows carry) compares `self.int == other.int`, and the probe's `int` is a `ProbeInt`, which Python
asks first in turn. Code that formats `probe.int` with `%` is not seen (nothing here does).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

_INT = uuid.UUID.__dict__["int"]  # the slot of the value, under the `int` property below
_IS_SAFE = uuid.UUID.__dict__["is_safe"]


class Witness:
    """What a probe saw during one read."""

    __slots__ = ("compared", "opaque")

    def __init__(self) -> None:
        self.compared: set[uuid.UUID] = set()
        self.opaque = False

    def equal(self, other: object) -> bool:
        """The probe compared with `other`: never equal; an id is written down."""
        if isinstance(other, ProbeId | ProbeInt) or other is None:
            return False
        if isinstance(other, uuid.UUID):
            self.compared.add(other)
        elif isinstance(other, int) and not isinstance(other, bool) and 0 <= other < 1 << 128:
            self.compared.add(uuid.UUID(int=other))
        else:
            self.opaque = True
        return False


def _opaque(name: str, kind: str) -> Any:
    """A member of uuid.UUID (kind "property" or "method") that marks the read opaque and
    answers as the plain id would."""

    def plain(self: Any) -> Any:
        self._witness.opaque = True
        return self._plain()

    if kind == "property":
        return property(lambda self: getattr(plain(self), name))
    return lambda self, *args: getattr(plain(self), name)(*args)


class ProbeId(uuid.UUID):
    __slots__ = ("_witness",)

    def __init__(self, witness: Witness) -> None:  # no super().__init__: `int` is a property
        _INT.__set__(self, secrets.randbits(128) & ~(0xF000 << 64) | (0x4000 << 64))
        _IS_SAFE.__set__(self, uuid.SafeUUID.unknown)
        object.__setattr__(self, "_witness", witness)

    def _plain(self) -> uuid.UUID:
        return uuid.UUID(int=_INT.__get__(self))

    @property  # type: ignore[override]
    def int(self) -> ProbeInt:
        return ProbeInt(_INT.__get__(self), self._witness)

    def __eq__(self, other: object) -> bool:
        return other is self or self._witness.equal(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    for _name in ("bytes", "bytes_le", "fields", "hex", "urn", "node", "time", "version"):
        locals()[_name] = _opaque(_name, "property")
    for _name in ("__str__", "__repr__", "__int__", "__hash__", "__reduce__", "__getstate__"):
        locals()[_name] = _opaque(_name, "method")
    for _name in ("__lt__", "__le__", "__gt__", "__ge__"):
        locals()[_name] = _opaque(_name, "method")
    del _name


class ProbeInt(int):
    """`probe.int`: unequal to every other int (written down as an id); any other use opaque."""

    _witness: Witness

    def __new__(cls, value: int, witness: Witness) -> ProbeInt:
        made = super().__new__(cls, value)
        made._witness = witness
        return made

    def __eq__(self, other: object) -> bool:
        return other is self or self._witness.equal(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def _plain(self) -> int:
        return int.__int__(self)

    for _name in (
        "__hash__", "__index__", "__int__", "__float__", "__str__", "__repr__", "__format__",
        "__bool__", "to_bytes", "bit_length", "__lt__", "__le__", "__gt__", "__ge__", "__add__",
        "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__floordiv__", "__mod__",
        "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lshift__",
        "__rshift__", "__neg__", "__abs__", "__divmod__", "__pow__", "__truediv__",
    ):  # fmt: skip
        locals()[_name] = _opaque(_name, "method")
    del _name


class ProbeUser:
    """The probe's User row: its id, and nothing else a rule could read without being seen."""

    __slots__ = ("_witness", "id")

    def __init__(self, probe: ProbeId, witness: Witness) -> None:
        self.id, self._witness = probe, witness

    def __getattr__(self, name: str) -> Any:
        self._witness.opaque = True
        return None
