"""A request refused by a rate-limit window (code RATE_LIMITED, with `retryAfter`), and the
client address a window is kept by."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from gotong_gql.ratelimit import Decision, client_key

RATE_LIMITED = "RATE_LIMITED"


def rate_limited(decision: Decision, what: str) -> GraphQLError:
    return GraphQLError(
        f"rate limit exceeded ({what}); retry in {decision.retry_after} s",
        extensions={"code": RATE_LIMITED, "retryAfter": decision.retry_after},
    )


def client_ip(request: Any) -> str:
    client = getattr(request, "client", None)
    return client_key(client.host if client else None)
