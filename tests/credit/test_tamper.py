"""An edit made behind the API's back, in SQL, is found by `gotong-gql audit verify` (SPEC 9);
on PostgreSQL the append-only trigger refuses it in the first place."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gotong_gql.audit.chain import link_hash
from gotong_gql.credit.ledger import transaction_content
from gotong_gql.credit.models import CreditPosting, CreditTransaction
from tests.conftest import JWT_SECRET
from tests.credit.helpers import ASSIGN, transfer
from tests.e2e.server import cli
from tests.helpers import create_task, create_user, register, uuid_text

pytestmark = pytest.mark.slow


async def _history(api):
    """Audit entries and three credit transactions, with a user deleted along the way."""
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    siti = await create_user(api, "siti", ["organizer"])
    # Numbers that PostgreSQL's JSONB gives back in another form (1e16 as an integer).
    metadata = {"big": 1e16, "ratio": 0.1, "whole": 2.0, "text": "Gotong royong \u2764"}
    task = await create_task(api, siti, estimatedHours=1, metadata=metadata)
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    for minutes in (10, 20, 30):
        assert (await transfer(api, ayu, budi, minutes, f"gift {minutes}"))["errors"] == []
    # Entries and postings outlive their users: the account stays, without an owner.
    gone = await register(api, "gone")
    await transfer(api, gone, ayu, 5)
    await api.sql("DELETE FROM users WHERE username = 'gone'")


def _verify(api, *args: str):
    settings = api.services.settings
    env = {
        "DATABASE_URL": settings.database_url,
        "JWT_SECRET": JWT_SECRET,
        "VAR_DIR": str(settings.var_dir),
    }
    return cli("audit", "verify", *args, env=env)


async def _tamper(api, statement: str, **params) -> None:
    """Raw SQL with PostgreSQL's append-only triggers off for this one transaction."""
    async with api.services.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(statement), params)


async def _row(api, table: str, seq: int) -> str:
    [(row_id,)] = await api.sql(f"SELECT id FROM {table} WHERE seq = :seq", seq=seq)
    return uuid_text(row_id)


async def test_an_untouched_history_verifies(api):
    await _history(api)
    result = _verify(api)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "the chains hold" in result.stderr


@pytest.mark.parametrize(
    ("statement", "table", "seq", "reported_seq"),
    [
        (
            'UPDATE audit_log SET after = \'{"status": "cancelled"}\' WHERE seq = 4',
            "audit_log",
            4,
            4,
        ),
        ("UPDATE audit_log SET actor_id = NULL WHERE seq = 3", "audit_log", 3, 3),
        ("DELETE FROM audit_log WHERE seq = 2", "audit_log", 2, 3),
        (
            "UPDATE credit_transactions SET memo = 'gift 99' WHERE seq = 2",
            "credit_transactions",
            2,
            2,
        ),
        (
            "UPDATE credit_postings SET amount_minutes = amount_minutes * 2 WHERE transaction_id "
            "= (SELECT id FROM credit_transactions WHERE seq = 1)",
            "credit_transactions",
            1,
            1,
        ),
        ("DELETE FROM credit_postings WHERE amount_minutes = 20", "credit_transactions", 2, 2),
    ],
    ids=[
        "audit-update",
        "audit-forget-actor",
        "audit-delete",
        "ledger-memo",
        "ledger-posting-update",
        "ledger-posting-delete",
    ],
)
async def test_an_edit_in_sql_is_reported_with_its_row(api, statement, table, seq, reported_seq):
    await _history(api)
    reported = await _row(api, table, reported_seq)
    await _tamper(api, statement)
    result = _verify(api)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"BROKEN table={table} id={reported} expected=")
    expected, found = (part.split("=")[1] for part in line.split()[3:5])
    assert len(expected) == 64 and len(found) == 64 and expected != found


async def test_a_removed_transaction_and_the_removed_tail_are_reported(api):
    await _history(api)
    third = await _row(api, "credit_transactions", 3)
    await _tamper(
        api,
        "DELETE FROM credit_postings WHERE transaction_id IN "
        "(SELECT id FROM credit_transactions WHERE seq = 2)",
    )
    await _tamper(api, "DELETE FROM credit_transactions WHERE seq = 2")
    gap = _verify(api)
    assert gap.returncode == 1
    assert gap.stdout.startswith(f"BROKEN table=credit_transactions id={third} ")

    [(last,)] = await api.sql("SELECT max(seq) FROM audit_log")
    await _tamper(api, "DELETE FROM audit_log WHERE seq = :seq", seq=last)
    tail = _verify(api)
    assert tail.returncode == 1
    assert tail.stdout.startswith("BROKEN table=audit_chain_heads id=audit_log ")


async def test_a_changed_balance_is_reported_with_its_account(api):
    await _history(api)
    [(account_id,)] = await api.sql(
        "SELECT a.id FROM credit_accounts a JOIN users u ON u.id = a.user_id "
        "WHERE u.username = 'budi'"
    )
    await _tamper(
        api, "UPDATE credit_accounts SET balance_minutes = 1000 WHERE id = :id", id=account_id
    )
    result = _verify(api)
    assert result.returncode == 1
    assert result.stdout == (
        f"BROKEN table=credit_accounts id={uuid_text(account_id)} expected=60 found=1000\n"
    )


async def test_a_rewritten_chain_shows_against_an_older_checkpoint(api):
    """Whoever rewrites the newest transaction consistently (its hash recomputed, the head
    moved) passes a plain verify; the checkpoint logged before the rewrite still catches it."""
    await _history(api)
    [(head, count)] = await api.sql(
        "SELECT hash, seq FROM audit_chain_heads WHERE chain = 'credit_transactions'"
    )
    checkpoint = f"credit_transactions:{count}:{head}"
    assert _verify(api, "--checkpoint", checkpoint).returncode == 0
    async with api.services.session_factory() as session:
        last = await session.scalar(select(CreditTransaction).where(CreditTransaction.seq == count))
        postings = list(
            await session.scalars(
                select(CreditPosting).where(CreditPosting.transaction_id == last.id)
            )
        )
        forged = link_hash(
            {**transaction_content(last, postings), "memo": "forged"}, last.seq, last.prev_hash
        )
    await _tamper(
        api,
        "UPDATE credit_transactions SET memo = 'forged', hash = :h WHERE seq = :s",
        h=forged,
        s=count,
    )
    await _tamper(
        api,
        "UPDATE audit_chain_heads SET hash = :h WHERE chain = 'credit_transactions'",
        h=forged,
    )
    assert _verify(api).returncode == 0
    result = _verify(api, "--checkpoint", checkpoint)
    assert result.returncode == 1
    assert result.stdout == (
        f"BROKEN table=credit_transactions id={uuid_text(last.id)} expected={head} found={forged}\n"
    )
    assert _verify(api, "--checkpoint", "nonsense").returncode == 2


async def test_postgresql_refuses_updates_and_deletes_of_chained_rows(api):
    if api.services.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    await _history(api)
    for statement in (
        "UPDATE audit_log SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "UPDATE credit_transactions SET memo = 'x' WHERE seq = 1",
        "DELETE FROM credit_transactions WHERE seq = 3",
        "UPDATE credit_postings SET amount_minutes = 1",
        "DELETE FROM credit_postings",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await api.sql(statement)
    assert _verify(api).returncode == 0
