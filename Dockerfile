# syntax=docker/dockerfile:1
# One image for every gotong-gql command (the entry point is the CLI):
#   docker run IMAGE                 gotong-gql serve --host 0.0.0.0 --port 8000 (the default CMD)
#   docker run IMAGE worker          gotong-gql worker: jobs and the outbox sweeper; /healthz,
#                                    /readyz and /metrics on WORKER_METRICS_PORT (9100)
#   docker run IMAGE migrate         gotong-gql migrate: a one-shot, before api and worker start
# tests/ops/test_deploy_wiring.py checks this file against the CLI, Settings and the manifests.

# --- builder: the project's wheel, installed with its dependencies into /opt/venv ------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

WORKDIR /src
# What the wheel is made of: pyproject.toml, the readme it names, and the package (with its
# Alembic migrations and GraphiQL's vendored assets, declared as package data). .dockerignore
# admits nothing else.
COPY pyproject.toml README.md ./
COPY gotong_gql ./gotong_gql

RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /dist . \
    && /opt/venv/bin/pip install /dist/*.whl

# --- runtime: the venv on a slim Python, run by an unprivileged user ---------------------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="gotong-gql" \
      org.opencontainers.image.description="Gotong Royong GraphQL API server and worker"

# GOTONG_ENV=production: weak or generated secrets are refused and GraphiQL is off unless the
# deployment says otherwise. VAR_DIR is the only place the process may write (local state).
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GOTONG_ENV=production \
    VAR_DIR=/var/lib/gotong

RUN groupadd --system --gid 10001 gotong \
    && useradd --system --uid 10001 --gid gotong --home-dir /var/lib/gotong --no-create-home \
       --shell /usr/sbin/nologin gotong \
    && install -d -o gotong -g gotong -m 0750 /var/lib/gotong

COPY --from=builder /opt/venv /opt/venv

WORKDIR /var/lib/gotong
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# 8000: the API (serve). 9100: the worker's /healthz, /readyz and /metrics (WORKER_METRICS_PORT).
EXPOSE 8000 9100

# The slim image has no curl: Python asks /healthz. The port follows the command of PID 1:
# the worker's health port for `worker`, the API's 8000 otherwise (the default CMD). Compose
# states the same checks explicitly; Kubernetes ignores HEALTHCHECK and uses its probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; worker = b'worker' in open('/proc/1/cmdline', 'rb').read().split(b'\\0'); port = os.environ.get('WORKER_METRICS_PORT', '9100') if worker else '8000'; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

ENTRYPOINT ["gotong-gql"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
