"""The two apps of the differential test and the comparison of their answers.

Both apps run in this process on one database, one object store and one JWT secret; they differ
only in GRAPHQL_COMPILED_READS. Each operation goes to both over HTTP (POST /graphql, JSON, the
Accept header of current clients), reference first, and their answers are compared:

- the status code and the Content-Type;
- the body, decoded, with `jsondiff.first_difference` (object keys in order, so `data` keeps the
  selection's order), except for two things that differ between any two requests by design:
  `extensions.requestId` of an INTERNAL error (each request has its own id), and the order of
  `errors`: the executor lists field errors in the order its resolvers finish, which is not
  the document's order (graphql-core appends each error when its field completes), so both
  lists are sorted by path and message first. Every error's `message`, `path`, `locations` and
  `extensions` are compared as they are;
- when they differ, both apps are asked again (`agree_on_rerun`): the executor does not always
  report the same one of several field errors, and an answer it gives on another try is right.

Either app's 5xx answer or INTERNAL error is a fault (`fault`), reported on its own.

Which path answered comes from `gotong_graphql_read_path_total{path, reason}`
(gotong_gql/metrics.py, READ_PATH): the compiled app's increment during its request. Requests
run one at a time so that each increment belongs to one request.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gotong_gql import metrics
from gotong_gql.settings import Settings
from tests.compiler.corpus import Operation
from tests.compiler.jsondiff import first_difference
from tests.conftest import JWT_SECRET

RERUNS = 4
OIDC = [
    {
        "name": "example",
        "display_name": "Example ID",
        "issuer": "https://id.example",
        "client_id": "gotong",
        "client_secret": "example-client-secret",
    }
]


def app_settings(database_url: str, var_dir: Path, compiled: bool) -> Settings:
    """One of the two apps: rate limits off (the corpus is thousands of requests a minute), and
    access tokens that outlast a slow run (the viewers' tokens are issued once, at seeding)."""
    return Settings(
        gotong_env="test",
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        var_dir=var_dir,
        rate_limit_enabled=False,
        access_token_ttl_seconds=3600,
        graphql_compiled_reads=compiled,
        oidc_providers=OIDC,
        oidc_redirect_uris=["https://app.example/callback"],
    )


@dataclass
class Answer:
    status: int
    content_type: str
    body: Any  # the decoded JSON, or the text when it is not JSON

    @property
    def error_free(self) -> bool:
        return self.status == 200 and isinstance(self.body, dict) and "errors" not in self.body


async def post(client: httpx.AsyncClient, operation: Operation, token: str | None) -> Answer:
    payload: dict[str, Any] = {"query": operation.document, "variables": operation.variables}
    if operation.operation_name is not None:
        payload["operationName"] = operation.operation_name
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json=payload, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, response.headers.get("content-type", ""), body)


def read_paths() -> Counter[tuple[str, str]]:
    """Totals of READ_PATH by (path, reason); empty while the counter does not exist."""
    counter = getattr(metrics, "READ_PATH", None)
    totals: Counter[tuple[str, str]] = Counter()
    if counter is None:
        return totals
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                path = sample.labels.get("path", "")
                totals[(path, sample.labels.get("reason", ""))] += sample.value
    return totals


def _error_key(error: Any) -> str:
    if not isinstance(error, dict):
        return json.dumps(error)
    return json.dumps([error.get("path"), error.get("message")], ensure_ascii=False)


def comparable(answer: Answer) -> dict[str, Any]:
    """What must be equal: status, media type and body (see the module's docstring)."""
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        errors = []
        for error in body["errors"]:
            if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
                extensions = {k: v for k, v in error["extensions"].items() if k != "requestId"}
                error = {**error, "extensions": extensions}
            errors.append(error)
        body = {**body, "errors": sorted(errors, key=_error_key)}
    return {"status": answer.status, "contentType": answer.content_type, "body": body}


@dataclass
class Tally:
    """What the run saw, for the report."""

    requests: int = 0
    error_free: int = 0
    compiled: int = 0  # error-free requests the compiled path answered
    paths: Counter[tuple[str, str]] = field(default_factory=Counter)
    unattributed: int = 0  # requests that moved no READ_PATH sample
    mismatches: list[str] = field(default_factory=list)  # the failure texts
    differences: list[str] = field(default_factory=list)  # one line each: what, who, where
    faults: list[str] = field(default_factory=list)  # 5xx or INTERNAL answers of either app
    agreed_on_rerun: list[str] = field(default_factory=list)
    seconds: float = 0.0
    durations: dict[str, float] = field(default_factory=dict)  # by operation, all viewers


def mismatch(operation: Operation, viewer: str, reference: Answer, compiled: Answer) -> str | None:
    """None when the answers are equal; else the failure text: the operation, its variables,
    the viewer, the first difference and both answers."""
    difference = first_difference(comparable(reference), comparable(compiled))
    if difference is None:
        return None

    def show(answer: Answer) -> str:
        text = json.dumps(answer.body, ensure_ascii=False)
        return f"{answer.status} {answer.content_type}: {text[:1500]}"

    return (
        f"{operation.show()}\nviewer: {viewer}\nfirst difference: {difference}\n"
        f"reference (executor): {show(reference)}\ncompiled app: {show(compiled)}"
    )


def fault(answer: Answer) -> bool:
    """A server fault: a 5xx answer, or an INTERNAL error (README: never for a client's input)."""
    if answer.status >= 500:
        return True
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    return any(
        isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "INTERNAL"
        for error in errors or []
    )


async def agree_on_rerun(
    reference: httpx.AsyncClient,
    compiled: httpx.AsyncClient,
    operation: Operation,
    token: str | None,
    answers: tuple[Answer, Answer],
) -> bool:
    """Whether the two apps give one same answer when asked again (RERUNS times each).

    The executor's answer is not always the same: when a field error nulls a parent, graphql-core
    reports the error that reaches it first and cancels the resolvers still running beside it,
    so of two failing fields (two rows whose `history(first: 0)` fails, or FORBIDDEN beside
    BAD_USER_INPUT) either may be the one reported. An answer of the compiled app is right when
    the executor gives it too."""
    seen = [[comparable(answers[0])], [comparable(answers[1])]]
    for _ in range(RERUNS):
        for side, client in enumerate((reference, compiled)):
            seen[side].append(comparable(await post(client, operation, token)))
            if any(first_difference(a, b) is None for a in seen[0] for b in seen[1]):
                return True
    return False


async def run_corpus(
    reference: httpx.AsyncClient,
    compiled: httpx.AsyncClient,
    operations: list[Operation],
    tokens: dict[str, str | None],
) -> Tally:
    """Every operation as every viewer through both apps, compared."""
    tally = Tally()
    started = time.monotonic()
    for operation in operations:
        began = time.monotonic()
        for viewer, token in tokens.items():
            expected = await post(reference, operation, token)
            before = read_paths()
            got = await post(compiled, operation, token)
            moved = read_paths() - before
            tally.requests += 1
            tally.paths.update(moved)
            tally.unattributed += not moved
            if expected.error_free:
                tally.error_free += 1
                tally.compiled += any(path == "compiled" for path, _ in moved)
            for app, answer in (("reference", expected), ("compiled app", got)):
                if fault(answer):
                    body = json.dumps(answer.body, ensure_ascii=False)[:600]
                    text = f"{app}: {answer.status} {body}\nviewer: {viewer}\n{operation.show()}"
                    tally.faults.append(text)
            problem = mismatch(operation, viewer, expected, got)
            if problem and await agree_on_rerun(
                reference, compiled, operation, token, (expected, got)
            ):
                tally.agreed_on_rerun.append(f"{operation.name[:60]} ({viewer})")
            elif problem:
                tally.mismatches.append(problem)
                where = problem.split("first difference: ", 1)[1].split("\n", 1)[0]
                tally.differences.append(f"{operation.name[:50]!r} as {viewer}: {where[:150]}")
        tally.durations[operation.name] = time.monotonic() - began
    tally.seconds = time.monotonic() - started
    return tally


def report(engine: str, sizes: dict[str, int], tally: Tally, draws: dict[str, int]) -> str:
    share = tally.compiled / tally.error_free if tally.error_free else 0.0
    reasons = ", ".join(
        f"{path}{'/' + reason if reason else ''}: {int(count)}"
        for (path, reason), count in sorted(tally.paths.items())
    )
    return "\n".join(
        [
            f"differential test of compiled reads on {engine}:",
            "  corpus: "
            + ", ".join(f"{name} {count}" for name, count in sizes.items())
            + "; draws: "
            + ", ".join(f"{verdict} {count}" for verdict, count in sorted(draws.items())),
            f"  requests per app: {tally.requests} ({len(tally.mismatches)} answers differ,"
            f" {len(tally.faults)} server faults: 5xx or INTERNAL)"
            f" in {tally.seconds:.0f} s",
            f"  error-free answers: {tally.error_free}; answered by the compiled path:"
            f" {tally.compiled} ({share:.1%})",
            f"  read paths of the compiled app: {reasons or 'none counted'}"
            f" ({tally.unattributed} requests counted on no path)",
            "  slowest: "
            + ", ".join(
                f"{name[:40]!r} {seconds:.1f} s"
                for name, seconds in sorted(tally.durations.items(), key=lambda item: -item[1])[:3]
            ),
            f"  equal only when asked again (the executor reports one of several errors):"
            f" {len(tally.agreed_on_rerun)} {tally.agreed_on_rerun[:5]}",
        ]
    )
