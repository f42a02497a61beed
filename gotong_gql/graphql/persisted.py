"""Persisted queries: Apollo's Automatic Persisted Queries (APQ) and a persisted-only mode.

A request may name its document by `extensions.persistedQuery = {"version": 1, "sha256Hash":
"<hex>"}` instead of sending `query`, over POST or GET (a short GET URL a CDN or browser can key
on). PERSISTED_QUERIES picks the mode:

- `automatic` (the default, APQ): a hash the server does not know is answered
  PERSISTED_QUERY_NOT_FOUND; the client then sends the document with its hash, and once that
  document has run it is kept for PERSISTED_QUERIES_TTL_SECONDS in the cache (Redis, or this
  process), so every client can send the hash alone. Documents of a manifest, when one is
  configured, are known from the start.
- `only` (for production): only the documents of the manifest (PERSISTED_QUERIES_MANIFEST) run,
  named by hash or sent in full, over HTTP and WebSocket; anything else is refused with
  PERSISTED_QUERY_NOT_IN_LIST (403) before it is even parsed. Nothing is registered.
- `off`: a request with `persistedQuery` is answered PERSISTED_QUERY_NOT_SUPPORTED, which makes
  Apollo Client and urql stop sending hashes.

A hash that does not match the document sent with it is refused (400). The two "not found / not
supported" answers are 200 in both media types, as Apollo Server answers them: Apollo Client 3
turns persisted queries off for good after a 400. The document, once resolved, runs like any
other: limits, cost and rate limits apply.

The manifest is Apollo's persisted-query manifest (`{"format": "apollo-persisted-query-manifest",
"version": 1, "operations": [{"id", "name", "type", "body"}]}`, written by
@apollo/generate-persisted-query-manifest) or Relay's (`{"<id>": "<document>"}`, written by
relay-compiler with `persistConfig: {file, algorithm: "SHA256"}`); each id must be the SHA-256 of
its document, so that a client's APQ hash names it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from gotong_gql.cache import Cache
from gotong_gql.graphql.http import GraphQLParams, HttpError
from gotong_gql.settings import Settings

log = logging.getLogger(__name__)

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
# Apollo's clients recognise these two by their message as well as by their code.
MESSAGES = {NOT_FOUND: "PersistedQueryNotFound", NOT_SUPPORTED: "PersistedQueryNotSupported"}
# Registering is for documents that ran, and only up to this size: a larger one still runs, it
# is just sent in full every time (the cache is shared and the documents are the client's).
MAX_REGISTERED_BYTES = 32 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
APOLLO_FORMAT = "apollo-persisted-query-manifest"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def cache_key(digest: str) -> str:
    return f"apq:sha256:{digest}"


def load_manifest(path: Path) -> dict[str, str]:
    """The documents of an Apollo or Relay manifest by their SHA-256; ValueError when the file
    is neither, or an id is not the SHA-256 of its document."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        if data.get("version") != 1:
            raise ValueError(f"{path}: only version 1 of {APOLLO_FORMAT} is known")
        entries = [(item["id"], item["body"]) for item in data["operations"]]
    elif isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        entries = list(data.items())
    else:
        raise ValueError(f"{path}: neither an Apollo persisted-query manifest nor Relay's")
    documents = {}
    for digest, document in entries:
        if sha256(document) != str(digest).lower():
            raise ValueError(
                f"{path}: id {digest} is not the SHA-256 of its document ({sha256(document)});"
                " generate the manifest with SHA-256 ids"
            )
        documents[sha256(document)] = document
    return documents


@dataclass(frozen=True)
class Resolved:
    """The request with its document, and the hash to register once the document has run."""

    params: GraphQLParams
    register: str | None = None


def _refusal(code: str, message: str | None = None, status: int = 200) -> HttpError:
    return HttpError(status, code, message or MESSAGES[code])


@dataclass
class PersistedQueries:
    mode: str
    ttl_seconds: int
    manifest: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        path = settings.persisted_queries_manifest
        return cls(
            mode=settings.persisted_queries,
            ttl_seconds=settings.persisted_queries_ttl_seconds,
            manifest=load_manifest(path) if path else {},
        )

    @property
    def only(self) -> bool:
        return self.mode == "only"

    async def resolve(self, params: GraphQLParams, cache: Cache) -> Resolved:
        """The document a request runs; HttpError (status, code) when there is none to run."""
        digest = _requested_hash(params.extensions)
        if digest is None:
            if self.only and sha256(params.query or "") not in self.manifest:
                raise _refusal(NOT_IN_LIST, "this server runs only its persisted documents", 403)
            if params.query is None:
                raise HttpError(400, "BAD_REQUEST", "`query` (a GraphQL document) is required")
            return Resolved(params)
        if self.mode == "off":
            raise _refusal(NOT_SUPPORTED)
        if params.query is not None:
            if sha256(params.query) != digest:
                raise HttpError(400, HASH_MISMATCH, "sha256Hash is not the SHA-256 of `query`")
            if self.only and digest not in self.manifest:
                raise _refusal(NOT_IN_LIST, "this server runs only its persisted documents", 403)
            known = digest in self.manifest or len(params.query) > MAX_REGISTERED_BYTES
            return Resolved(params, register=None if known or self.only else digest)
        document = self.manifest.get(digest)
        if document is None and not self.only:
            document = await _cached(cache, digest)
        if document is None:
            raise _refusal(NOT_FOUND)
        return Resolved(replace(params, query=document))

    async def register(self, digest: str, document: str, cache: Cache) -> None:
        try:
            await cache.set(cache_key(digest), document, self.ttl_seconds)
        except (RedisError, OSError) as exc:
            log.warning("could not register persisted query %s: %s", digest, exc)

    def websocket_document(self, payload: dict[str, Any]) -> str | None:
        """In the persisted-only mode, the manifest document a WebSocket `subscribe` names (by
        its text or its hash), or None when it names none."""
        digest = _requested_hash(payload.get("extensions"), strict=False)
        query = payload.get("query")
        if isinstance(query, str) and query:
            digest = sha256(query) if digest is None or digest == sha256(query) else None
        return self.manifest.get(digest) if digest else None


def _requested_hash(extensions: Any, *, strict: bool = True) -> str | None:
    persisted = (extensions or {}).get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return None
    problem = None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        problem = "extensions.persistedQuery must be {version: 1, sha256Hash}"
    elif not isinstance(digest := persisted.get("sha256Hash"), str) or not _SHA256.match(
        digest.lower()
    ):
        problem = "sha256Hash must be 64 hexadecimal digits"
    if problem is not None:
        if strict:
            raise HttpError(400, "BAD_REQUEST", problem)
        return None
    return digest.lower()


async def _cached(cache: Cache, digest: str) -> str | None:
    try:
        document = await cache.get(cache_key(digest))
    except (RedisError, OSError) as exc:
        log.warning("could not read persisted query %s: %s", digest, exc)
        return None
    return document if isinstance(document, str) else None
