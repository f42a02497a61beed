"""Who may verify a contribution or add evidence to it: pure predicates over the contribution's
columns and the actor's id and roles, the same ones the services refuse with and
`Contribution.viewerCan*` answers with. `may_verify` is exactly the conjunction of the checks
`verify_contribution` makes, in its order (a verifier or admin; not the contributor)."""

from __future__ import annotations

import uuid

from gotong_gql import policy
from gotong_gql.contribution.models import Contribution

OWNS = policy.IsViewer("user_id")
MAY_VERIFY = policy.VERIFIER & policy.Not(OWNS)
MAY_ADD_EVIDENCE = OWNS


def is_verifier(roles: frozenset[str]) -> bool:
    return bool(roles & set(policy.VERIFIER.roles))


def owns(contribution: Contribution, actor_id: uuid.UUID) -> bool:
    return OWNS.allows(contribution, actor_id, frozenset())


def may_verify(contribution: Contribution, actor_id: uuid.UUID, roles: frozenset[str]) -> bool:
    return MAY_VERIFY.allows(contribution, actor_id, roles)


def may_add_evidence(contribution: Contribution, actor_id: uuid.UUID) -> bool:
    return MAY_ADD_EVIDENCE.allows(contribution, actor_id, frozenset())
