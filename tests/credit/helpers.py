"""GraphQL documents and helpers for the time-credit tests (SPEC 9)."""

from __future__ import annotations

from typing import Any

from tests.helpers import Account

ACCOUNT_FIELDS = "id balanceMinutes reservedMinutes limitMinutes availableMinutes"
ME = "{ me { creditAccount { %s } } }" % ACCOUNT_FIELDS
TRANSFER = """mutation($input: CreditTransferInput!) { creditTransfer(input: $input) {
  account { balanceMinutes availableMinutes } errors { message path code } } }"""
LIMIT = """mutation($u: ID!, $l: Int!) { creditLimitSet(input: {userId: $u, limitMinutes: $l}) {
  account { limitMinutes availableMinutes } errors { message path code } } }"""
ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u}) {
  task { status reservedMinutes } errors { path code } } }"""
CLAIM = """mutation($t: ID!) { taskClaim(input: {taskId: $t}) {
  task { status reservedMinutes } errors { path code } } }"""
START = "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }"
COMPLETE = """mutation($t: ID!, $h: Float) { taskComplete(input: {taskId: $t, durationHours: $h}) {
  contribution { id } errors { code } } }"""
CANCEL = """mutation($t: ID!) { taskCancel(input: {taskId: $t}) {
  task { status reservedMinutes } errors { code } } }"""
VERIFY = """mutation($c: ID!, $o: VerificationDecision!) {
  contributionVerify(input: {contributionId: $c, outcome: $o}) {
    contribution { verificationStatus } errors { code } } }"""
ENTRIES = """query($a: ID, $first: Int, $after: String, $last: Int, $before: String) {
  creditEntries(accountId: $a, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { cursor node { amountMinutes kind memo counterparty { username }
      counterpartyIsCommunity contribution { id } } } } }"""


async def account(api: Any, who: Account) -> dict[str, Any]:
    """The viewer's own credit account, as `me { creditAccount }` answers it."""
    return (await api.gql(ME, token=who.token))["me"]["creditAccount"]


async def balances(api: Any) -> dict[str, tuple[int, int]]:
    """(balance, reserved) of every account by owner (`community` for the community's), those
    that ever moved (the community account of an emptied test database comes with its first
    use)."""
    rows = await api.sql(
        "SELECT coalesce(u.username, 'community'), a.balance_minutes, a.reserved_minutes "
        "FROM credit_accounts a LEFT JOIN users u ON u.id = a.user_id"
    )
    return {
        name: (int(balance), int(reserved))
        for name, balance, reserved in rows
        if (balance, reserved) != (0, 0)
    }


async def transfer(
    api: Any, sender: Account, to: Account | str, minutes: int, memo: str | None = None
) -> dict[str, Any]:
    to_id = to if isinstance(to, str) else to.id
    variables = {"input": {"toUserId": to_id, "minutes": minutes, "memo": memo}}
    return (await api.gql(TRANSFER, variables, sender.token))["creditTransfer"]


async def verify_all(api: Any, verifiers: list[Account], contribution: str, outcome: str) -> str:
    status = ""
    for verifier in verifiers:
        data = await api.gql(VERIFY, {"c": contribution, "o": outcome}, verifier.token)
        assert data["contributionVerify"]["errors"] == []
        status = data["contributionVerify"]["contribution"]["verificationStatus"]
    return status


async def finish(api: Any, task_id: str, assignee: Account, hours: float | None) -> str:
    """Start and complete an assigned task; the contribution's id."""
    assert (await api.gql(START, {"t": task_id}, assignee.token))["taskStart"]["errors"] == []
    done = (await api.gql(COMPLETE, {"t": task_id, "h": hours}, assignee.token))["taskComplete"]
    assert done["errors"] == [], done
    return done["contribution"]["id"]
