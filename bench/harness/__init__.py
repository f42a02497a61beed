"""The machinery every benchmark shares, one concern per module.

- `base`: paths, logging, `BenchError` (a run that must stop: a wrong answer, a dead process).
- `processes`: subprocesses on free ports, ready by polling, stopped on the way out.
- `database`: the PostgreSQL database of a run (created, migrated, dropped) and Redis DBs.
- `cpu`: CPU windows from /proc (processes, PostgreSQL backends, the machine), the quiet wait.
- `memory`: a process's resident memory and its peak, from /proc.
- `stats`: percentiles and latency summaries.
- `gql`: a small GraphQL-over-HTTP client for set-up steps and checks.
- `report`: the git state, the machine, markdown tables, results files.
- `runner`: the one `main()` every scenario calls.

Scenarios run as scripts (`.venv/bin/python bench/<name>.py`), so `bench/` is on `sys.path` and
they import `harness.<module>`.
"""
