from __future__ import annotations

from datetime import datetime

import strawberry

from gotong_gql.oidc.config import OidcProviderConfig
from gotong_gql.oidc.models import OidcIdentity


@strawberry.type(
    name="OidcIdentity",
    description="An account at an OpenID Connect provider that signs in to this user.",
)
class OidcIdentityType:
    provider: str = strawberry.field(
        description="The provider's configured name (`OidcProvider.name`)."
    )
    subject: str = strawberry.field(description="The provider's id of the person (`sub`).")
    email: str | None = strawberry.field(
        description="The address the provider vouched for (verified) when it was linked; null "
        "when it gave none."
    )
    linked_at: datetime = strawberry.field(description="When it was linked.")

    @classmethod
    def from_row(cls, row: OidcIdentity) -> OidcIdentityType:
        return cls(
            provider=row.provider, subject=row.subject, email=row.email, linked_at=row.linked_at
        )


@strawberry.type(
    name="OidcProvider",
    description="A provider people can sign in with (OIDC_PROVIDERS), for a login screen.",
)
class OidcProviderType:
    name: str = strawberry.field(
        description="What `oidcAuthorizationStart` and the other OIDC mutations take as `provider`."
    )
    display_name: str = strawberry.field(description="The name to show on a sign-in button.")

    @classmethod
    def from_config(cls, provider: OidcProviderConfig) -> OidcProviderType:
        return cls(name=provider.name, display_name=provider.label)
