"""The `gotong-gql` command line: one entry point, `--help` on every command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console

from gotong_gql.settings import load_settings

app = typer.Typer(help="Gotong Royong GraphQL server.", no_args_is_help=True)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
webhooks_app = typer.Typer(help="Operate the webhook outbox.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
evidence_app = typer.Typer(help="Check stored evidence.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
audit_app = typer.Typer(help="Check the audit trail and the credit ledger.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


def _settings():
    try:
        return load_settings()
    except ValueError as exc:  # pydantic.ValidationError too
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API (GraphQL over HTTP and WebSocket) with uvicorn."""
    import uvicorn

    from gotong_gql.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    # Our own structured line per GraphQL operation replaces uvicorn's access log, which would
    # print the signed query strings of object URLs.
    uvicorn.run(
        "gotong_gql.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The app applies X-Forwarded-* from FORWARDED_ALLOW_IPS itself (forwarded.py).
        proxy_headers=False,
        ws="websockets-sansio",
        log_config=None,
        access_log=False,
        ws_max_size=1024 * 1024,  # a GraphQL message over a WebSocket is small
        # On SIGTERM live streams end at once (gotong_gql/shutdown.py); in-flight requests get
        # this long, then whatever is left is cancelled and the process exits.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest migration."""
    from gotong_gql import migrate as migrations

    settings = _settings()
    migrations.upgrade(settings.database_url)
    console.print("database at", migrations.head_revision())


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL); `schema.graphql` is this output."""
    from gotong_gql.graphql.schema import schema

    sys.stdout.write(schema.as_str() + "\n")


@app.command("seed-demo")
def seed_demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when users exist already.")
    ] = False,
) -> None:
    """Load demo users, skills and tasks in every state (passwords in the README)."""
    from gotong_gql.demo import seed

    settings = _settings()
    seeded = asyncio.run(seed(settings, if_empty=if_empty, console=console))
    console.print("demo data loaded" if seeded else "database has users: demo data skipped")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="3-50 letters, digits, . _ -")],
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 8 characters (prompted when omitted).",
        ),
    ],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="organizer, verifier or admin; repeatable.")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Same as --role admin.")] = False,
) -> None:
    """Create a user with roles (the way to make the first admin)."""
    from gotong_gql.demo import create_user_from_cli
    from gotong_gql.errors import DomainError

    roles = list(role or []) + (["admin"] if admin else [])
    try:
        user_id = asyncio.run(create_user_from_cli(_settings(), username, email, password, roles))
    except DomainError as exc:
        for error in exc.errors:
            console.print(f"[red]{error.code}[/red] {error.field or ''}: {error.message}")
        raise typer.Exit(1) from None
    console.print(f"created user {username} ({user_id}) with roles: {', '.join(roles) or 'none'}")


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process.", min=1)] = 4,
) -> None:
    """Run background jobs (webhook delivery, ...) and the outbox sweeper; needs REDIS_URL."""
    import multiprocessing

    from gotong_gql import worker as jobs_worker
    from gotong_gql.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if processes == 1:
        jobs_worker.run(settings, threads)
        return
    children = [
        multiprocessing.Process(
            target=jobs_worker.run, args=(settings, threads), kwargs={"serve_health": index == 0}
        )
        for index in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, _frame: object) -> None:
        # The container runtime signals only this process: each child shuts down gracefully.
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    for child in children:
        child.join()


@webhooks_app.command("replay")
def webhooks_replay(
    event_ids: Annotated[list[str] | None, typer.Argument(help="Event ids (evt_...).")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Replay every dead letter.")
    ] = False,
) -> None:
    """Send dead letters again, with their original event_id and bytes."""
    from gotong_gql.webhook.operations import replay_from_cli

    if not event_ids and not all_failed:
        console.print("name event ids, or pass --all-failed")
        raise typer.Exit(2)
    replayed, refused = asyncio.run(
        replay_from_cli(_settings(), event_ids or [], all_failed=all_failed, console=console)
    )
    for event_id, reason in refused:
        console.print(f"[yellow]{event_id}[/yellow]: {reason}")
    console.print(f"{replayed} event(s) queued for delivery")
    if refused:
        raise typer.Exit(1)


@app.command("markov-stub")
def markov_stub(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8900,
) -> None:
    """A local stand-in for the Markov Engine (verifies, deduplicates, serves reputation)."""
    from gotong_gql.dev.markov_stub import app as stub

    settings = _settings()
    secret = settings.markov_webhook_secret
    previous = settings.markov_webhook_secret_previous
    token = settings.markov_api_token
    stub.serve(
        host,
        port,
        secret.get_secret_value() if secret else "dev-markov-secret",
        previous.get_secret_value() if previous else None,
        token.get_secret_value() if token else None,
    )


@evidence_app.command("verify")
def evidence_verify(
    everything: Annotated[
        bool, typer.Option("--all", help="Also objects of rejected or unfinished evidence.")
    ] = False,
) -> None:
    """Re-hash stored objects; list every one whose bytes no longer match (exit code 1)."""
    from gotong_gql.evidence.integrity import verify_objects

    checked, bad = asyncio.run(verify_objects(_settings(), everything=everything, console=console))
    for mismatch in bad:
        sys.stdout.write(
            f"MISMATCH {mismatch.key} evidence={mismatch.evidence_id} "
            f"stored={mismatch.stored} found={mismatch.found or 'missing'}\n"
        )
    console.print(f"{checked} object(s) checked, {len(bad)} mismatch(es)")
    if bad:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            help="CHAIN:COUNT:HASH from an earlier `audit checkpoint` log line: the chain must "
            "still hold that hash at that position. Repeatable.",
        ),
    ] = None,
) -> None:
    """Recompute the hash chains (audit entries, credit transactions) and the balances; print
    the first broken link (exit code 1)."""
    from gotong_gql.audit.verify import parse_checkpoint, verify_from_cli

    try:
        earlier = [parse_checkpoint(text) for text in checkpoint or []]
    except ValueError:
        console.print("a checkpoint is CHAIN:COUNT:HASH, e.g. audit_log:1200:<64 hex digits>")
        raise typer.Exit(2) from None
    heads, broken = asyncio.run(verify_from_cli(_settings(), earlier, console))
    if broken is not None:
        sys.stdout.write(
            f"BROKEN table={broken.table} id={broken.id} "
            f"expected={broken.expected} found={broken.found}\n"
        )
        console.print(f"[red]broken[/red]: {broken.problem}")
        raise typer.Exit(1)
    counts = ", ".join(f"{head.chain} {head.count}" for head in heads)
    console.print(f"the chains hold ({counts} rows)")
