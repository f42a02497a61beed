"""Who may verify a contribution or add evidence to it: pure predicates over the contribution's
columns and the actor's id and roles, the same ones the services refuse with and
`Contribution.viewerCan*` answers with. `may_verify` is exactly the conjunction of the checks
`verify_contribution` makes, in its order (a verifier or admin; not the contributor)."""

from __future__ import annotations

import uuid

from gotong_gql.contribution.models import Contribution


def is_verifier(roles: frozenset[str]) -> bool:
    return bool(roles & {"verifier", "admin"})


def owns(contribution: Contribution, actor_id: uuid.UUID) -> bool:
    return contribution.user_id == actor_id


def may_verify(contribution: Contribution, actor_id: uuid.UUID, roles: frozenset[str]) -> bool:
    return is_verifier(roles) and not owns(contribution, actor_id)


def may_add_evidence(contribution: Contribution, actor_id: uuid.UUID) -> bool:
    return owns(contribution, actor_id)
