"""The codes a credit mutation refuses with."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class CreditErrorCode(ErrorCode):
    INSUFFICIENT_CREDIT = (
        "INSUFFICIENT_CREDIT",
        "The account would go below its limit (or a new limit above what it holds).",
    )
    SELF_TRANSFER = "SELF_TRANSFER", "Nobody transfers credit to themselves."
    INVALID_AMOUNT = (
        "INVALID_AMOUNT",
        "Minutes out of range: a transfer is 1 to 6000, a limit -600000 to 0.",
    )
    NOT_FOUND = "NOT_FOUND", "No such user."
    FORBIDDEN = "FORBIDDEN", "The viewer may not do this (limits are for admins)."
    INVALID_INPUT = "INVALID_INPUT", "An input field is malformed (a memo over 500 characters)."
