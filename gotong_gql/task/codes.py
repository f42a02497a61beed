"""The codes a task mutation refuses with (taskComplete's among them)."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class TaskErrorCode(ErrorCode):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = (
        "INVALID_TRANSITION",
        "The task's status does not allow this (e.g. starting a COMPLETED task).",
    )
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    INSUFFICIENT_CREDIT = (
        "INSUFFICIENT_CREDIT",
        "taskAssign, taskClaim: the payer's account cannot reserve the task's estimate without "
        "crossing its credit limit.",
    )
