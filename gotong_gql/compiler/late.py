"""Values a statement cannot compute, computed in Python once it has run: a presigned download
URL (`Evidence.fileUrl`) is signed with a secret and the time, by the object store.

The SQL puts a marker string where such a value goes: `<TOKEN><kind>:<argument>`, the argument
being SQL text (an object key). TOKEN is random per process and never leaves it: every marker is
replaced before the response is sent, so no stored text can hold one (nobody outside knows it),
and a marker cannot be confused with data. `resolve` finds the markers in the statement's JSON
text (each is a whole JSON string), computes each distinct value once (concurrently), and writes
it in as a JSON string (or null) in the marker's place. A value that cannot be computed fails the
read, and the executor answers instead (read_path.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Text, cast

from gotong_gql.compiler.build import Builder
from gotong_gql.compiler.dialect import quote

TOKEN = f"gqllate{uuid.uuid4().hex}"
# kind -> async (services, argument) -> the value (a str or None)
Compute = Callable[[Any, str], Awaitable[str | None]]
KINDS: dict[str, Compute] = {}
_MARKER = re.compile('"' + TOKEN + r'([a-z]+):((?:[^"\\]|\\.)*)"')


def kind(name: str, compute: Compute) -> None:
    assert name.isalpha() and name.islower(), name
    KINDS[name] = compute


def marker(b: Builder, name: str, argument: Any) -> Any:
    """The SQL of the marker of a `name` value computed from `argument` (a text column)."""
    assert name in KINDS, name
    b.late.add(name)
    return quote(f"{TOKEN}{name}:").op("||")(cast(argument, Text))


async def resolve(text: str, services: Any) -> str:
    """The JSON text with every marker replaced by its value."""
    wanted = {match.group(0) for match in _MARKER.finditer(text)}
    if not wanted:
        return text
    markers = sorted(wanted)

    async def compute(found: str) -> str:
        match = _MARKER.fullmatch(found)
        assert match is not None
        name, argument = match.group(1), json.loads(f'"{match.group(2)}"')
        return json.dumps(await KINDS[name](services, argument))

    values = dict(zip(markers, await asyncio.gather(*map(compute, markers)), strict=True))
    return _MARKER.sub(lambda match: values[match.group(0)], text)
