"""`PUT` and `GET /objects/{key:path}`: the local store's uploads and downloads, served by the
app and checked against the signed URL (storage/signing.py)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gotong_gql.storage.keys import validate_key
from gotong_gql.storage.local import LocalObjectStore
from gotong_gql.storage.protocol import (
    ObjectExistsError,
    ObjectStore,
    ObjectTooLargeError,
    ObjectUrlError,
)
from gotong_gql.storage.signing import verify_object_url


def _refusal(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status_code)


def object_routes(
    store: LocalObjectStore | Callable[[Request], ObjectStore],
) -> list[Route]:
    """`PUT` and `GET /objects/{key:path}` of the local store, checked against the signed URL.

    `store` is the store, or a function of the request that returns the app's store (so the routes
    can be mounted before the lifespan creates it); when that is not a LocalObjectStore (S3 is
    configured) the routes answer 404.
    """

    def resolve(request: Request) -> LocalObjectStore | None:
        found = store if isinstance(store, LocalObjectStore) else store(request)
        return found if isinstance(found, LocalObjectStore) else None

    async def put_object(request: Request) -> Response:
        local = resolve(request)
        if local is None:
            return _refusal(404, "NOT_FOUND", "no such route")
        query = request.query_params
        try:
            key = validate_key(request.path_params["key"])
            expires_at = int(query["expires"])
            max_bytes = int(query["max_bytes"])
            content_type = query["content_type"]
            verify_object_url(
                local.secret,
                query["signature"],
                "PUT",
                key,
                expires_at,
                content_type=content_type,
                max_bytes=max_bytes,
                now=local.clock(),
            )
        except (KeyError, ValueError):
            return _refusal(403, "ACCESS_DENIED", "missing or malformed signed parameters")
        except ObjectUrlError as exc:
            return _refusal(403, "ACCESS_DENIED", str(exc))
        sent_type = request.headers.get("content-type", "").strip()
        if sent_type != content_type:
            return _refusal(415, "CONTENT_TYPE_MISMATCH", f"Content-Type must be {content_type}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return _refusal(413, "TOO_LARGE", f"at most {max_bytes} bytes")
        if await local.stat(key) is not None:
            return _refusal(409, "ALREADY_EXISTS", "the object exists and is never overwritten")
        try:
            info = await local.receive(key, content_type, max_bytes, request.stream())
        except ObjectTooLargeError:
            return _refusal(413, "TOO_LARGE", f"at most {max_bytes} bytes")
        except ObjectExistsError:
            return _refusal(409, "ALREADY_EXISTS", "the object exists and is never overwritten")
        except ClientDisconnect:
            return Response(status_code=400)
        return JSONResponse(
            {"key": info.key, "size": info.size},
            status_code=201,
            headers={"ETag": f'"{info.etag}"'},
        )

    async def get_object(request: Request) -> Response:
        local = resolve(request)
        if local is None:
            return _refusal(404, "NOT_FOUND", "no such route")
        query = request.query_params
        try:
            key = validate_key(request.path_params["key"])
            expires_at = int(query["expires"])
            verify_object_url(
                local.secret, query["signature"], "GET", key, expires_at, now=local.clock()
            )
        except (KeyError, ValueError):
            return _refusal(403, "ACCESS_DENIED", "missing or malformed signed parameters")
        except ObjectUrlError as exc:
            return _refusal(403, "ACCESS_DENIED", str(exc))
        info = await local.stat(key)
        if info is None:
            return _refusal(404, "NOT_FOUND", "no such object")
        remaining = max(0, expires_at - int(local.clock()))
        return FileResponse(
            local.path_for(key),
            media_type=info.content_type or "application/octet-stream",
            headers={
                "Cache-Control": f"private, max-age={remaining}",
                "X-Content-Type-Options": "nosniff",
                # User-supplied bytes served from the app's origin must never run as a page.
                "Content-Security-Policy": "sandbox; default-src 'none'",
            },
        )

    return [
        Route("/objects/{key:path}", put_object, methods=["PUT"]),
        Route("/objects/{key:path}", get_object, methods=["GET"]),
    ]
