"""The codes `vouchCreate` refuses with."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class VouchErrorCode(ErrorCode):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND", "No user has the `voucheeId`."
    SELF_VOUCH = "SELF_VOUCH", "Nobody may vouch for themselves."
    DUPLICATE_VOUCH = (
        "DUPLICATE_VOUCH",
        "The viewer already vouched for this user for this skill (or generally).",
    )
    REPUTATION_TOO_LOW = (
        "REPUTATION_TOO_LOW",
        "The viewer's reputation is below VOUCH_MIN_REPUTATION.",
    )
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
