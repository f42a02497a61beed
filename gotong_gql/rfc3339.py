"""RFC 3339 date-times, the one way times are written in the API (no GraphQL imports here).

Read: any RFC 3339 `date-time` with an offset (`Z`, `+07:00`; fractions optional, kept to the
microsecond). Dates alone, times without an offset, Unix numbers and impossible dates are not.
Written: always UTC with exactly six fraction digits and `Z` (`2026-02-09T10:30:00.000000Z`): a
fixed width, so that SQL can build the same text (`to_char` on PostgreSQL, the stored text on
SQLite) and such strings sort as the times do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class NotADateTime(NamedTuple):
    """What a `DateTime` input holds when the client sent something else, so that the rule that
    reads it refuses it with its own code (see `gotong_gql.graphql.scalars`)."""

    value: object


def parse(value: object) -> datetime | None:
    """The aware datetime an RFC 3339 date-time with an offset names; None for anything else."""
    if not isinstance(value, str):
        return None
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return None
    date, time, fraction, offset = match.groups()
    micros = (fraction or "")[:6].ljust(6, "0")
    zone = "+00:00" if offset in "Zz" else offset
    try:
        return datetime.fromisoformat(f"{date}T{time}.{micros}{zone}")
    except ValueError:  # 2026-02-30, 25:00:00, an offset of 24 hours or more
        return None


def format_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in this system carries its zone")
    return moment.astimezone(UTC).strftime(UTC_FORMAT)
