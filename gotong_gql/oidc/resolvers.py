"""Signing in with OpenID Connect providers: the flow's start, its end (oidcTokenCreate answers
as tokenCreate does), linking and unlinking identities, and the list of providers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import strawberry
from sqlalchemy.exc import IntegrityError

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import Input
from gotong_gql.graphql.mutations import refused, run_mutation
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.oidc import service
from gotong_gql.oidc.client import VerifiedIdentity
from gotong_gql.oidc.models import OidcIdentity
from gotong_gql.oidc.types import OidcIdentityType, OidcProviderType
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User
from gotong_gql.user.payloads import AccountError, TokenCreatePayload
from gotong_gql.user.service import TokenPair, issue_tokens
from gotong_gql.user.types import UserType

Info = strawberry.Info[Context, None]
ATTEMPTS = 3
T = TypeVar("T")

PROVIDER = "The provider's name, as `oidcProviders` lists it."
STATE = "The `state` that oidcAuthorizationStart returned (and the redirect carries)."
CODE = "The `code` parameter of the redirect to the app."


@strawberry.input(description="Begin signing in (or linking) with a provider.")
class OidcAuthorizationStartInput:
    provider: str = strawberry.field(description=PROVIDER)
    redirect_uri: str = strawberry.field(
        description="Where the provider sends the browser back: one of OIDC_REDIRECT_URIS, exactly."
    )


@strawberry.type(description="Open `authorizationUrl` in a browser; keep `state` to finish.")
class OidcAuthorizationStartPayload:
    authorization_url: str | None = strawberry.field(
        description="The provider's authorization URL (code flow, PKCE S256, a nonce)."
    )
    state: str | None = strawberry.field(
        description="Single use, valid 10 minutes; compare it with the redirect's `state`."
    )
    expires_at: datetime | None = strawberry.field(description="When the state expires.")
    errors: list[AccountError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="The redirect's code and state, to sign in.")
class OidcTokenCreateInput:
    provider: str = strawberry.field(description=PROVIDER)
    code: str = strawberry.field(description=CODE)
    state: str = strawberry.field(description=STATE)


@strawberry.input(description="The redirect's code and state, to link the identity.")
class OidcIdentityLinkInput:
    provider: str = strawberry.field(description=PROVIDER)
    code: str = strawberry.field(description=CODE)
    state: str = strawberry.field(
        description=STATE + " It must have been started while signed in as this user."
    )


@strawberry.type(description="The identity now linked, and its user.")
class OidcIdentityLinkPayload:
    identity: OidcIdentityType | None = strawberry.field(description="Null when refused.")
    user: UserType | None = strawberry.field(description="Null when refused.")
    errors: list[AccountError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Which identity to remove.")
class OidcIdentityUnlinkInput:
    provider: str = strawberry.field(description="The provider the identity belongs to.")


@strawberry.type(description="The user, without the removed identity.")
class OidcIdentityUnlinkPayload:
    user: UserType | None = strawberry.field(description="Null when refused.")
    errors: list[AccountError] = strawberry.field(description="Empty on success.")


@strawberry.type
class OidcQueries:
    @strawberry.field(description="The providers one can sign in with; needs no sign-in.")
    def oidc_providers(self, info: Info) -> list[OidcProviderType]:
        providers = info.context.services.oidc.providers.values()
        return [OidcProviderType.from_config(provider) for provider in providers]


@strawberry.type
class OidcMutations:
    @strawberry.mutation(
        description="Begin the authorization code flow (PKCE S256, a nonce) at a provider. "
        "Sent with a bearer token, the flow belongs to that user and can only be finished by "
        "their oidcIdentityLink."
    )
    async def oidc_authorization_start(
        self, info: Info, input: Input[OidcAuthorizationStartInput]
    ) -> OidcAuthorizationStartPayload:
        context = info.context
        clients = context.services.oidc
        viewer = await context.require_viewer() if context.token else None
        try:
            provider = clients.provider(input.provider)
            clients.ensure_redirect_allowed(input.redirect_uri)
            flow = service.new_flow()
            url = await clients.authorization_url(
                provider, input.redirect_uri, flow.state, flow.code_verifier, flow.nonce
            )
            async with context.unit_of_work(viewer) as uow:
                await service.save_flow(
                    uow, flow, provider.name, input.redirect_uri, viewer.id if viewer else None
                )
        except DomainError as exc:
            return refused(OidcAuthorizationStartPayload, exc)
        return OidcAuthorizationStartPayload(
            authorization_url=url, state=flow.state, expires_at=flow.expires_at, errors=[]
        )

    @strawberry.mutation(
        description="Finish the flow: the provider's code for our own token pair, as tokenCreate "
        "answers. A known identity signs in; a new one with a verified email that no account "
        "has makes an account (without a password). The state is spent by this call whatever "
        "it answers."
    )
    async def oidc_token_create(
        self, info: Info, input: Input[OidcTokenCreateInput]
    ) -> TokenCreatePayload:
        try:
            name, identity = await _redeem(info.context, input.provider, input.code, input.state)
            user, pair = await _sign_in(info.context, name, identity)
        except DomainError as exc:
            return refused(TokenCreatePayload, exc)
        return TokenCreatePayload.issued(pair, user)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Finish a flow started while signed in: the identity signs in to this "
        "account from now on (e.g. after OIDC_ACCOUNT_EXISTS).",
    )
    async def oidc_identity_link(
        self, info: Info, input: Input[OidcIdentityLinkInput]
    ) -> OidcIdentityLinkPayload:
        context = info.context
        viewer = await context.require_viewer()
        try:
            name, identity = await _redeem(
                context, input.provider, input.code, input.state, owner=viewer
            )
            row = await _link(context, viewer, name, identity)
        except DomainError as exc:
            return refused(OidcIdentityLinkPayload, exc)
        user = (await context.require_viewer()).user
        return OidcIdentityLinkPayload(
            identity=OidcIdentityType.from_row(row), user=UserType.from_row(user), errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Remove the identity at a provider, while another way to sign in remains "
        "(a password or another identity).",
    )
    async def oidc_identity_unlink(
        self, info: Info, input: Input[OidcIdentityUnlinkInput]
    ) -> OidcIdentityUnlinkPayload:

        async def work(uow: UnitOfWork, viewer: Viewer) -> User:
            await service.unlink(uow, viewer.id, input.provider)
            return viewer.user

        return await run_mutation(
            info,
            OidcIdentityUnlinkPayload,
            work,
            lambda user: OidcIdentityUnlinkPayload(user=UserType.from_row(user), errors=[]),
        )


async def _redeem(
    context: Context, name: str, code: str, state: str, *, owner: Viewer | None = None
) -> tuple[str, VerifiedIdentity]:
    """Spends the state (committed before the provider is asked), then redeems the code."""
    clients = context.services.oidc
    provider = clients.provider(name)
    async with context.unit_of_work(owner) as uow:
        flow = await service.redeem_flow(
            uow, state, provider.name, owner=owner.id if owner else None
        )
    identity = await clients.redeem(
        provider, code, flow.redirect_uri, flow.code_verifier, flow.nonce
    )
    return provider.name, identity


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """A concurrent sign-in of the same person, or one that took the same username, makes an
    insert fail on a unique index; trying again sees the winner's rows."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await attempt()
        except IntegrityError:
            continue
    return await attempt()


async def _sign_in(
    context: Context, provider: str, identity: VerifiedIdentity
) -> tuple[User, TokenPair]:
    async def attempt() -> tuple[User, TokenPair]:
        async with context.unit_of_work(None) as uow:
            user = await service.sign_in(uow, provider, identity)
            uow.actor_id = user.id
            return user, await issue_tokens(uow, context.services.tokens, user)

    return await _retrying(attempt)


async def _link(
    context: Context, viewer: Viewer, provider: str, identity: VerifiedIdentity
) -> OidcIdentity:
    async def attempt() -> OidcIdentity:
        async with context.unit_of_work(viewer) as uow:
            return await service.link(uow, viewer.id, provider, identity)

    return await _retrying(attempt)
