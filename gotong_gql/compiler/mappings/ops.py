"""What operators and sign-in screens read: `auditCheckpoint`, `webhookEvents`,
`webhookFailures`, `oidcProviders`, `User.identities`.

- `auditCheckpoint`, `webhookEvents` and `webhookFailures` are FORBIDDEN to non-admins: a guard
  (build.py `Builder.require`), so the executor answers them, with its error. A checkpoint for
  each chain in audit/verify.py's CHAINS order: its head row, or the genesis hash, 0 and null for
  a chain without one (`checkpoints`). The webhook lists are the service's listings; an event's
  `payload` is its bytes read as UTF-8 text.
- `oidcProviders` comes from the settings, as the OIDC client holds them (one per name, in the
  order configured): constants of the plan (bound values), no table read.
- `User.identities` is the user's and the admins' (policy.OWN_ACCOUNT, as user/types.py), null
  for others; oldest first (oidc/service.py `identities_of`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, func, literal, select

from gotong_gql import policy
from gotong_gql.audit.chain import GENESIS
from gotong_gql.audit.models import ChainHead
from gotong_gql.audit.verify import CHAINS
from gotong_gql.compiler.build import Builder, Selected
from gotong_gql.compiler.connection import Connection
from gotong_gql.compiler.dialect import quote
from gotong_gql.compiler.mappings import people  # noqa: F401  (User first)
from gotong_gql.compiler.registry import SPECS, register
from gotong_gql.compiler.specs import Column, Computed, Custom, Join, Spec
from gotong_gql.oidc.models import OidcIdentity
from gotong_gql.oidc.types import OidcProviderType
from gotong_gql.webhook import service as webhooks
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure

HEADS = ChainHead.__table__
IDENTITIES = OidcIdentity.__table__


def _checkpoint(b: Builder, chain: str, selected: Selected) -> Any:
    head = HEADS.alias()

    def found(column: Any) -> Any:
        return select(column).where(head.c.chain == quote(chain)).scalar_subquery()

    row = select(
        quote(chain).label("chain"),
        func.coalesce(found(head.c.hash), quote(GENESIS)).label("head"),
        func.coalesce(found(head.c.seq), literal(0)).label("count"),
        found(head.c.at).label("at"),
    ).subquery()
    query = select(b.object("AuditCheckpoint", row, selected.nodes))
    return b.dialect.nested(query.scalar_subquery())


def _checkpoints(b: Builder, row: Any, selected: Selected) -> Any:
    b.require(policy.ADMIN.sql(None, b))
    return b.dialect.values([_checkpoint(b, chain, selected) for chain in CHAINS])


def _admins_only(spec: Spec) -> Custom:
    """A root field the executor refuses to non-admins (webhook/resolvers.py `IsAdmin`)."""

    def build(b: Builder, row: Any, selected: Selected) -> Any:
        b.require(policy.ADMIN.sql(None, b))
        return spec.sql(b, row, selected)

    return Custom(build)


def _events(b: Builder, args: dict[str, Any], parent: Any) -> Any:
    wanted = args.get("filter")
    status = getattr(wanted, "status", None)
    event_type = getattr(wanted, "event_type", None)
    return webhooks.event_listing(
        status=status.value if status else None,
        event_type=event_type.value if event_type else None,
    )


def _failures(b: Builder, args: dict[str, Any], parent: Any) -> Any:
    return webhooks.failure_listing(args.get("include_replayed", False))


def _payload(b: Builder, row: Any) -> Any:
    if b.dialect.pg:
        return func.convert_from(row.c.payload, quote("UTF8"))
    return cast(row.c.payload, Text)


def _providers(b: Builder, row: Any, selected: Selected) -> Any:
    configured = {provider.name: provider for provider in b.settings.oidc_providers}
    items = []
    for provider in configured.values():
        shown = OidcProviderType.from_config(provider)
        values = select(
            literal(shown.name).label("name"), literal(shown.display_name).label("display_name")
        ).subquery()
        query = select(b.object("OidcProvider", values, selected.nodes))
        items.append(b.dialect.nested(query.scalar_subquery()))
    return b.dialect.values(items)


register(
    "AuditCheckpoint",
    None,
    chain=Column("chain"),
    head=Column("head"),
    count=Column("count"),
    at=Column("at"),
)
register("OidcProvider", None, name=Column("name"), displayName=Column("display_name"))
register("OidcIdentity", IDENTITIES)
register("WebhookEvent", WebhookEvent.__table__, payload=Computed(_payload))
register("WebhookFailure", WebhookFailure.__table__)
SPECS["User"]["identities"] = Join(
    IDENTITIES,
    lambda row, identity: identity.c.user_id == row.c.id,
    order=lambda identity: [identity.c.linked_at, identity.c.id],
    visible=lambda b, row: policy.OWN_ACCOUNT.sql(row, b),
)
SPECS["Query"].update(
    auditCheckpoint=Custom(_checkpoints),
    webhookEvents=_admins_only(Connection(_events, nested=False)),
    webhookFailures=_admins_only(Connection(_failures, nested=False)),
    oidcProviders=Custom(_providers),
)
