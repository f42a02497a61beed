"""Earning credit with tasks (SPEC 9): reserve on assignment, release on cancel, pay on approval.

A task's payer is its creator's account (CREATOR) or the community account (COMMUNITY).
- `taskAssign` and `taskClaim` of an OPEN task reserve `estimatedHours x 60` minutes (rounded
  half up to whole minutes; nothing without estimatedHours) on the payer's account, or refuse
  with INSUFFICIENT_CREDIT. Reassigning keeps the reservation; so does changing estimatedHours
  afterwards. `task.reserved_minutes` is what the task holds now.
- `taskCancel` releases it.
- The first verdict of the verification consensus on the task's contribution settles it, in
  the verdict's unit of work: VERIFIED pays `min(completed duration, reserved)` minutes from the
  payer to the contributor in one `task_payment` (its reference, `contribution:<id>`, is unique)
  and releases the rest; REJECTED releases everything. A settled task holds nothing, so a later
  change of the consensus moves no credit: exactly once per contribution. The completed
  duration is the contribution's `duration_hours` (what taskComplete recorded); when it is
  unknown, nothing is paid. A creator who completed their own task is paid nothing (the credit
  would go from their account to itself): the reservation is released.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from gotong_gql.audit.service import record
from gotong_gql.contribution.models import Contribution
from gotong_gql.credit import accounts, ledger
from gotong_gql.task.models import Task
from gotong_gql.task.service import lock_task
from gotong_gql.uow import UnitOfWork


def minutes_of(hours: float | None) -> int:
    """Hours as whole minutes, rounded half up (2.25 h is 135 min); None is 0."""
    if hours is None:
        return 0
    return int((Decimal(str(hours)) * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def payer_account_id(uow: UnitOfWork, task: Task) -> uuid.UUID:
    if task.payer == "community":
        return await accounts.community_account_id(uow.session)
    return await accounts.user_account_id(uow.session, task.creator_id)


async def reserve_for(uow: UnitOfWork, task: Task) -> int:
    """Reserve the task's estimate on its payer's account; the minutes held."""
    minutes = minutes_of(task.estimated_hours)
    if minutes:
        await accounts.reserve(uow, await payer_account_id(uow, task), minutes)
    return minutes


async def release_for(uow: UnitOfWork, task: Task) -> None:
    """Give back what the task holds (the caller sets `task.reserved_minutes` to 0)."""
    if task.reserved_minutes:
        await accounts.release(uow, await payer_account_id(uow, task), task.reserved_minutes)


async def settle(uow: UnitOfWork, contribution: Contribution, status: str) -> None:
    """The verdict `status` (verified or rejected) on a task's contribution settles the task's
    reservation, if it still holds one."""
    if contribution.task_id is None or status not in ("verified", "rejected"):
        return
    task = await lock_task(uow, contribution.task_id)
    held = task.reserved_minutes
    if not held:
        return
    payer = await payer_account_id(uow, task)
    paid = 0
    if status == "verified":
        payee = await accounts.user_account_id(uow.session, contribution.user_id)
        worked = minutes_of(contribution.metadata_.get("duration_hours"))
        paid = min(worked, held) if payee != payer else 0
    if paid:
        await ledger.post(
            uow,
            kind="task_payment",
            reference=f"contribution:{contribution.id}",
            amounts={payer: -paid, payee: paid},
            releases={payer: held},
            memo=task.title,
        )
    else:
        await accounts.release(uow, payer, held)
    task.reserved_minutes = 0
    record(
        uow,
        "task.credit_settle",
        "task",
        task.id,
        before={"reserved_minutes": held},
        after={
            "reserved_minutes": 0,
            "paid_minutes": paid,
            "released_minutes": held - paid,
            "contribution_id": contribution.id,
            "verdict": status,
        },
    )
    await uow.session.flush()
