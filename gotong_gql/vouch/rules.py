"""Who may vouch for a person: not oneself, and with enough reputation (as cached from Markov)
once VOUCH_MIN_REPUTATION is above 0. The service refuses with these predicates and
`User.viewerCanVouch` answers with `may_vouch_for`; a vouch for a skill already vouched for is
still refused as DUPLICATE_VOUCH, which depends on the input, not on the person."""

from __future__ import annotations

import uuid


def is_self(vouchee_id: uuid.UUID, voucher_id: uuid.UUID) -> bool:
    return vouchee_id == voucher_id


def reputation_suffices(score: float | None, minimum: float) -> bool:
    """Unknown reputation counts as too low once there is a minimum."""
    return minimum <= 0 or (score is not None and score >= minimum)


def may_vouch_for(
    vouchee_id: uuid.UUID, voucher_id: uuid.UUID, score: float | None, minimum: float
) -> bool:
    return not is_self(vouchee_id, voucher_id) and reputation_suffices(score, minimum)
