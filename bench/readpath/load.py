"""The Python load client of tasks_query.py: keep-alive connections sending one pre-encoded
request as fast as the server answers, with CPU windows and latencies."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from harness.base import BenchError
from harness.cpu import BackendCpu, CpuWindow, wait_for_quiet
from harness.stats import Throughput, percentile

from readpath.servers import Server

REQUEST_TIMEOUT_S = 10.0


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends one fixed, pre-encoded request.

    httpx spends about 1-2 ms of client CPU per request; on a 2-core machine that is CPU taken
    from the servers, and the fast one (the floor) would be measured against the client. This
    costs a few microseconds: write the bytes, read the head, read Content-Length bytes.
    """

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self._address = (host, port)
        self._request = request
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(*self._address)
        assert self._reader is not None
        self._writer.write(self._request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" not in headers:
            raise RuntimeError(f"response without Content-Length: {head!r}")
        body = await self._reader.readexactly(int(headers[b"content-length"]))
        if headers.get(b"connection") == b"close":
            await self.close()
        return int(status_line.split(b" ", 2)[1]), body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer, self._reader = None, None


Send = Callable[[], Awaitable[tuple[int, bytes]]]


@asynccontextmanager
async def open_client(kind: str, server: Server, body: bytes) -> AsyncIterator[Send]:
    """One client (one connection) of the load: `raw` (RawConnection) or `httpx`."""
    headers = {"Content-Type": "application/json", **server.headers}
    if kind == "httpx":
        # A client each: one AsyncClient shared by 50 tasks spends most of its time in its pool.
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:

            async def send() -> tuple[int, bytes]:
                response = await client.post(server.url, content=body, headers=headers)
                return response.status_code, response.content

            yield send
        return
    lines = [
        "POST /graphql HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    connection = RawConnection(
        "127.0.0.1", server.port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    )
    try:
        yield connection.send
    finally:
        await connection.close()


@dataclass
class LoadResult(Throughput):
    server: str
    failures: int
    background_cpu_cores: float | None
    cpu_cores: dict[str, float | None]


async def load(
    server: Server, body: bytes, postgres: BackendCpu, args: argparse.Namespace
) -> LoadResult:
    """`args.concurrency` closed-loop clients for warm-up + duration; only the second part counts.

    A request counts when it completes inside the measured window. A failure (warm-up included)
    ends its client and then the benchmark.
    """
    background = await asyncio.to_thread(wait_for_quiet, args.quiet_wait)
    latencies: list[float] = []
    failures: list[str] = []
    begin = time.perf_counter()
    window_start = begin + args.warmup
    window_end = window_start + args.duration

    async def client_loop() -> None:
        async with open_client(args.client, server, body) as send:
            while (sent := time.perf_counter()) < window_end:
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT_S):
                        status, content = await send()
                except (OSError, TimeoutError, asyncio.IncompleteReadError, RuntimeError) as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                except httpx.HTTPError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                done = time.perf_counter()
                if status != 200 or b'"errors"' in content:
                    failures.append(f"HTTP {status}: {content[:500]!r}")
                    return
                if window_start <= done <= window_end:
                    latencies.append(done - sent)

    async def sample_cpu() -> dict[str, float | None]:
        await asyncio.sleep(window_start - time.perf_counter())
        window = CpuWindow({"server": server.process.pid}, postgres, own="client")
        await asyncio.sleep(window_end - time.perf_counter())
        cores = window.cores()
        cores.pop("machine")
        return cores

    async with (
        asyncio.timeout(args.warmup + args.duration + REQUEST_TIMEOUT_S + 5),
        asyncio.TaskGroup() as group,
    ):
        sampler = group.create_task(sample_cpu())
        for _ in range(args.concurrency):
            group.create_task(client_loop())
    if failures:
        raise BenchError(f"{server.label}: {len(failures)} failed requests, first: {failures[0]}")
    if len(latencies) < 2:
        raise BenchError(f"{server.label}: only {len(latencies)} requests in the window")
    ms = [latency * 1000 for latency in latencies]
    return LoadResult(
        server=server.label,
        requests=len(latencies),
        seconds=args.duration,
        requests_per_second=round(len(latencies) / args.duration, 1),
        p50_ms=round(percentile(ms, 0.50) or 0.0, 2),
        p95_ms=round(percentile(ms, 0.95) or 0.0, 2),
        p99_ms=round(percentile(ms, 0.99) or 0.0, 2),
        mean_ms=round(statistics.fmean(ms), 2),
        failures=len(failures),
        background_cpu_cores=background,
        cpu_cores=sampler.result(),
    )
