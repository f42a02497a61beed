"""The windows of the credential mutations: tokenCreate (password guessing) and accountRegister.

A tokenCreate is charged before its password is checked, one atomic increment per window (the
limiter's `hit`), so that concurrent guesses cannot all pass a look taken before any of them was
counted: first the IP's window (no SQL yet), then the account's. The account's window is kept by
the account (its id, looked up by the login as `authenticate` does), so that its username and
its email draw on one budget; a login that names no account is kept by the login itself (hashed).
Past either window the request is refused before the password is checked.

A right password is given back afterwards: logins still cost only when they fail, so an owner
under the limit logs in as often as they like. What counts as right is a payload showing issued
tokens (`accessToken`, `refreshToken` or `user`): a client that selects none of them keeps its
charge, since only answers an attacker cannot fake are refunded. (A refund that lands after its
window has ended opens the next one a step lower: at most one more guess, once per login of the
owner that straddles a window's end.)

oidcTokenCreate and oidcIdentityLink redeem a provider's code: they are charged like tokenCreate
(the IP's login window before any SQL; oidcIdentityLink also the signed-in account's, known from
the token alone) and given back when they succeed. oidcTokenCreate's account is known only once
the provider has answered, and nothing about it can be guessed, so it has no account window.
oidcAuthorizationStart redeems nothing: it is charged as any anonymous request is.

accountRegister counts every attempt, per email and per IP.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from limits import RateLimitItem
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.graphql.limits.cost import arguments
from gotong_gql.graphql.limits.rate import client_ip, rate_limited
from gotong_gql.graphql.limits.shape import DocumentShape, response_key
from gotong_gql.ratelimit import Decision, Policies, RateLimiter, account_key

# The account a login (username or email) names, if any: the user domain's lookup, given by the
# app (app.py), so that the framework imports no domain.
AccountOfLogin = Callable[[AsyncSession, str], Awaitable[uuid.UUID | None]]

# Checked by a password or a provider's code (or create an account); at most one per
# operation (the limits rule).
CREDENTIAL_FIELDS = frozenset(
    {"tokenCreate", "accountRegister", "oidcTokenCreate", "oidcIdentityLink"}
)
# The fields of a payload that only a success fills, per login mutation: the charge is given back.
ISSUED_FIELDS = {
    "tokenCreate": ("accessToken", "refreshToken", "user"),
    "oidcTokenCreate": ("accessToken", "refreshToken", "user"),
    "oidcIdentityLink": ("identity", "user"),
}


@dataclass(frozen=True)
class LoginCharge:
    """The windows one login (tokenCreate, oidcTokenCreate, oidcIdentityLink) was charged to,
    given back if it succeeded."""

    node: FieldNode
    windows: tuple[tuple[RateLimitItem, tuple[str, ...]], ...]

    def succeeded(self, shape: DocumentShape, result: Any) -> bool:
        data = getattr(result, "data", None) or {}
        payload = data.get(response_key(self.node))
        if not isinstance(payload, dict) or self.node.selection_set is None:
            return False
        issued_fields = ISSUED_FIELDS[self.node.name.value]
        issued = [
            response_key(field)
            for field in shape.fields(self.node.selection_set)
            if field.name.value in issued_fields
        ]
        return any(payload.get(key) is not None for key in issued)


async def charge_credentials(
    limiter: RateLimiter,
    policies: Policies,
    account_of_login: AccountOfLogin,
    schema: GraphQLSchema,
    shape: DocumentShape,
    operation: OperationDefinitionNode,
    variables: Any,
    context: Any,
) -> LoginCharge | None:
    """Charges the credential mutations to their windows, refusing past them; returns what a
    login was charged, for `refund_login`."""
    if operation.operation != OperationType.MUTATION:
        return None
    mutation = schema.mutation_type
    assert mutation is not None
    request = context.request
    ip = client_ip(request)
    for node in shape.fields(operation.selection_set):
        name = node.name.value
        if name not in CREDENTIAL_FIELDS or name not in mutation.fields:
            continue
        data = arguments(mutation.fields[name], node, variables).get("input")
        if name == "tokenCreate":
            login = _text(data, "login")
            return await _charge_login(
                limiter, policies, account_of_login, node, login, ip, context
            )
        if name in ("oidcTokenCreate", "oidcIdentityLink"):
            return await _charge_oidc(limiter, policies, node, ip, context)
        email = _text(data, "email")
        by_account = await limiter.hit(
            policies.register_account, "register", "account", account_key(email)
        )
        by_ip = await limiter.hit(policies.register_ip, "register", "ip", ip)
        _refuse_unless_allowed(request, (by_account, by_ip), "registrations")
    return None


async def refund_login(limiter: RateLimiter, charge: LoginCharge) -> None:
    for item, key in charge.windows:
        await limiter.refund(item, *key)


async def _charge_login(
    limiter: RateLimiter,
    policies: Policies,
    account_of_login: AccountOfLogin,
    node: FieldNode,
    login: str,
    ip: str,
    context: Any,
) -> LoginCharge:
    request = context.request
    by_ip = (policies.login_ip, ("login", "ip", ip))
    _refuse_unless_allowed(request, [await limiter.hit(by_ip[0], *by_ip[1])], "login attempts")
    # Its own short session: the request's stays untouched for the mutation's unit of work.
    async with context.services.session_factory() as session:
        user_id = await account_of_login(session, login)
    account = f"user-{user_id}" if user_id is not None else account_key(login)
    by_account = (policies.login_account, ("login", "account", account))
    decision = await limiter.hit(by_account[0], *by_account[1])
    _refuse_unless_allowed(request, [decision], "login attempts")
    return LoginCharge(node, (by_ip, by_account))


async def _charge_oidc(
    limiter: RateLimiter, policies: Policies, node: FieldNode, ip: str, context: Any
) -> LoginCharge:
    request = context.request
    windows = [(policies.login_ip, ("login", "ip", ip))]
    user_id = context.user_id  # from the token alone; oidcIdentityLink needs one anyway
    if node.name.value == "oidcIdentityLink" and user_id is not None:
        windows.append((policies.login_account, ("login", "account", f"user-{user_id}")))
    for item, key in windows:
        _refuse_unless_allowed(request, [await limiter.hit(item, *key)], "login attempts")
    return LoginCharge(node, tuple(windows))


def _text(value: Any, name: str) -> str:
    found = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
    return found if isinstance(found, str) else ""


def _refuse_unless_allowed(request: Any, decisions: Iterable[Decision], what: str) -> None:
    for decision in decisions:
        if not decision.allowed:
            request.state.rate_limit = decision
            raise rate_limited(decision, what)
