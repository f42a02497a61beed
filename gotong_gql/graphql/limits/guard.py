"""The limits policy of one app: the limits, production or not, the rate-limit windows and
the limiter, and how a login names its account. The view puts it on `request.state` for the
QueryGuard extension (extension.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import ValidationRule

from gotong_gql.graphql.limits.credentials import AccountOfLogin
from gotong_gql.graphql.limits.rate import client_ip
from gotong_gql.graphql.limits.rule import QueryLimits, limits_rule
from gotong_gql.ratelimit import Decision, Policies, RateLimiter
from gotong_gql.settings import Settings


@dataclass
class GraphQLGuard:
    """The per-app policy the QueryGuard extension applies (the view puts it on request.state)."""

    limits: QueryLimits
    production: bool
    policies: Policies
    limiter: RateLimiter | None
    account_of_login: AccountOfLogin

    @classmethod
    def from_settings(cls, settings: Settings, account_of_login: AccountOfLogin) -> GraphQLGuard:
        return cls(
            limits=QueryLimits.from_settings(settings),
            production=settings.is_production,
            policies=Policies.from_settings(settings),
            limiter=RateLimiter(settings.redis_url) if settings.rate_limit_enabled else None,
            account_of_login=account_of_login,
        )

    @property
    def rule(self) -> type[ValidationRule]:
        limits = self.limits
        return limits_rule(limits.max_depth, limits.max_aliases, limits.max_directives)

    async def close(self) -> None:
        if self.limiter is not None:
            await self.limiter.close()

    async def charge(self, request: Any, user_id: Any, points: int) -> Decision | None:
        """Charge a request's points to its user (signed in) or its IP (anonymous); the
        decision is kept on request.state for the response headers."""
        if self.limiter is None:
            return None
        precharged = getattr(request.state, "precharged", None)
        if precharged is not None:
            # The compiled path (compiler/read_path.py) charged this request, then handed it on.
            request.state.precharged = None
            request.state.rate_limit = precharged
            request.state.rate_limit_charged = True
            return precharged
        if user_id is not None:
            decision = await self.limiter.hit(
                self.policies.user, "query", "user", str(user_id), cost=points
            )
        else:
            decision = await self.limiter.hit(
                self.policies.ip, "query", "ip", client_ip(request), cost=points
            )
        request.state.rate_limit = decision
        request.state.rate_limit_charged = True
        return decision


def guard_of(context: Any) -> GraphQLGuard | None:
    request = getattr(context, "request", None)
    state = getattr(request, "state", None)
    return getattr(state, "graphql_guard", None) if state is not None else None
