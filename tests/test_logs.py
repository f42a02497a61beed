"""Structured JSON logs with request context; secrets never reach a line."""

from __future__ import annotations

import json
import logging

import structlog

from gotong_gql.logs import configure_logging


def test_json_lines_with_context_and_no_secrets(capsys):
    configure_logging("INFO", json=True)
    try:
        structlog.contextvars.bind_contextvars(request_id="req-1", user_id="u-1")
        structlog.get_logger("gotong_gql.test").info(
            "graphql",
            operation="Login",
            duration_ms=3.5,
            password="hunter2",
            refresh_token="abc",
            note="see /objects/k?expires=1&signature=deadbeef",
        )
        logging.getLogger("uvicorn.error").info(
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
        )
    finally:
        structlog.contextvars.clear_contextvars()
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    first, second = lines
    assert first["event"] == "graphql"
    assert (first["request_id"], first["user_id"], first["operation"]) == ("req-1", "u-1", "Login")
    assert first["duration_ms"] == 3.5
    assert first["password"] == first["refresh_token"] == "[redacted]"
    assert first["note"] == "see /objects/k?expires=1&signature=[redacted]"
    assert second["logger"] == "uvicorn.error"
    assert second["event"] == "token [redacted]"
    assert "hunter2" not in json.dumps(lines)
