"""The one `main()` of every scenario.

    main(Scenario(name=..., doc=__doc__, run=benchmark, markdown=markdown, ...))

parses the options (the scenario's own plus --database, --timeout, --quiet-wait, --keep-logs),
creates and migrates a fresh database, flushes the scenario's Redis DB, runs the scenario (a
function or a coroutine function taking a `Run`) under --timeout, and whatever happens stops
every process it started, flushes Redis again, drops the database and removes the temporary
directory (process logs). On success it writes bench/results/<name>.json (the scenario's report
after `benchmark`, `finished_at`, `git` and `machine`) and prints the markdown. A BenchError
(or any RuntimeError) exits with 1 after the tails of the processes' logs, Ctrl-C with 130.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.base import BenchError, log
from harness.database import flush_redis, fresh_database, valid_name
from harness.processes import log_tails, stop_all
from harness.report import git_state, machine, write_results


@dataclass
class Run:
    """What a scenario gets: its options, its database and a temporary directory."""

    args: argparse.Namespace
    database: str
    url: str  # SQLAlchemy URL, as DATABASE_URL
    work_dir: Path
    redis_url: str | None


@dataclass(frozen=True)
class Scenario:
    name: str  # of the results file, bench/results/<name>.json
    doc: str  # the module's docstring: its first line is --help's description
    run: Callable[[Run], Any]  # returns the report (a dict), or a coroutine of it
    markdown: Callable[[dict[str, Any]], str]
    database: str  # default --database
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    check: Callable[[argparse.Namespace], str | None] = lambda args: None  # an error, or None
    redis: tuple[str, str] | None = None  # (environment variable, default URL) of its Redis DB
    needs_redis: Callable[[argparse.Namespace], bool] = lambda args: True  # with these options
    timeout: float = 900.0
    quiet_wait: float = 60.0
    uvloop: bool = False


def parse_args(scenario: Scenario) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=scenario.doc.strip().splitlines()[0])
    scenario.add_arguments(parser)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=scenario.quiet_wait,
        help="seconds to wait at most for other processes to go quiet before measuring",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=scenario.timeout,
        help="fail if the whole run takes longer (seconds)",
    )
    parser.add_argument("--database", default=scenario.database, help="created, then dropped")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the temporary directory (process logs, stored objects) and print its path",
    )
    args = parser.parse_args()
    if not 0 <= args.quiet_wait <= 600 or not 10 <= args.timeout <= 7200:
        parser.error("--quiet-wait is 0..600 s and --timeout 10..7200 s")
    if not valid_name(args.database):
        parser.error("--database: letters, digits and _ only")
    problem = scenario.check(args)
    if problem:
        parser.error(problem)
    return args


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """BenchError in the main thread after `seconds` (SIGALRM), whatever it is waiting on."""

    def expire(signum: int, frame: Any) -> None:
        raise BenchError(f"the run took longer than --timeout {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # the cleanup must not be cut short
        signal.signal(signal.SIGALRM, previous)


def call(scenario: Scenario, run: Run) -> dict[str, Any]:
    timeout = run.args.timeout
    if not inspect.iscoroutinefunction(scenario.run):
        with alarm(timeout):
            return scenario.run(run)

    async def bounded() -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                return await scenario.run(run)
        except TimeoutError:
            raise BenchError(f"the run took longer than --timeout {timeout:g} s") from None

    loop_factory = None
    if scenario.uvloop:
        import uvloop  # uvicorn[standard] brings it

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(bounded())


def execute(scenario: Scenario, args: argparse.Namespace) -> dict[str, Any]:
    git = git_state()  # the code about to be loaded: the tree may change during the run
    wanted = scenario.redis and scenario.needs_redis(args)
    redis_url = os.environ.get(*scenario.redis) if scenario.redis and wanted else None
    work_dir = Path(tempfile.mkdtemp(prefix=f"gotong-bench-{scenario.name}-"))
    try:
        with fresh_database(args.database) as url:
            if redis_url:
                flush_redis(redis_url)
            try:
                body = call(scenario, Run(args, args.database, url, work_dir, redis_url))
            except BaseException:
                log(f"last lines of each process's log:\n{log_tails()}")
                raise
            finally:
                stop_all()
                if redis_url:
                    flush_redis(redis_url)
                    log(f"flushed {redis_url}")
    finally:
        if args.keep_logs:
            log(f"logs kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    return {
        "benchmark": scenario.name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git,
        "machine": machine(),
        **body,
    }


def main(scenario: Scenario) -> None:
    args = parse_args(scenario)
    try:
        report = execute(scenario, args)
    except RuntimeError as exc:  # BenchError, or a failure of a library the run relies on
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        log("interrupted")
        raise SystemExit(130) from None
    write_results(scenario.name, report)
    print(scenario.markdown(report))
