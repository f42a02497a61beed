"""The codes a contribution mutation refuses with."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class ContributionErrorCode(ErrorCode):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
