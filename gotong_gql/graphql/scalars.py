"""The `DateTime` scalar: one type for times in inputs and outputs.

Output: `rfc3339.format_utc`, always UTC with six fraction digits and `Z`.

Input: an RFC 3339 date-time with an offset becomes an aware `datetime`. Anything else (no
offset, a date alone, a Unix number, garbage) is deliberately *not* refused here: a scalar that
raises turns the whole request into a request error (GRAPHQL_VALIDATION_FAILED, no `data`),
whereas SPEC 3 wants `INVALID_TIMESTAMP` in the mutation's payload with the field's path, and
nothing written. So parsing never fails: such a value arrives as `NotADateTime(value)`, and the
rule that reads the field (`evidence.rules.parse_timestamp`, for every `DateTime` input so far)
refuses it with its code. A new `DateTime` input must go through such a rule too.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from gotong_gql import rfc3339


def _parse(value: object) -> datetime | rfc3339.NotADateTime:
    moment = rfc3339.parse(value)
    return rfc3339.NotADateTime(value) if moment is None else moment


DATE_TIME: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="An RFC 3339 date-time with an offset (`2026-02-09T17:30:00+07:00`). Answers are "
    "always UTC with six fraction digits (`2026-02-09T10:30:00.000000Z`).",
    specified_by_url="https://scalars.graphql.org/andimarek/date-time",
    serialize=rfc3339.format_utc,
    parse_value=_parse,
)
