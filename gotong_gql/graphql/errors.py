"""Top-level GraphQL errors (authentication, bad arguments, bugs) and payload error mapping."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import SchemaExtension

from gotong_gql import metrics
from gotong_gql.errors import DomainError, ErrorCode

log = logging.getLogger("gotong_gql.graphql")

E = TypeVar("E")
Codes = TypeVar("Codes", bound=type[ErrorCode])
InputT = TypeVar("InputT")


class ApiError(GraphQLError):
    """An expected top-level error, reported with `extensions.code` and never masked."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def unauthenticated(message: str = "sign in first: send Authorization: Bearer <access token>"):
    return ApiError("UNAUTHENTICATED", message)


def bad_input(message: str, field: str | None = None) -> ApiError:
    return ApiError("BAD_USER_INPUT", message, **({"field": field} if field else {}))


@strawberry.interface(
    description="An expected refusal of a mutation, in its payload's `errors`; every "
    "`<Noun>Error` implements it and adds its own `code`."
)
class UserError:
    message: str = strawberry.field(description="For people; the `code` is for programs.")
    path: list[str] | None = strawberry.field(
        description='Where in the arguments the problem is, e.g. `["input", "witnesses", "2", '
        '"witnessName"]`; null when it is not one argument (a permission, a state).'
    )


ERRORS = "Why the mutation was refused; empty on success. When not empty nothing was written."
CODE = "What went wrong, for a program to act on; `message` says it for people."
Input = Annotated[InputT, strawberry.argument(description="The mutation's arguments.")]


def error_code_enum(codes: Codes, description: str) -> Codes:
    """A domain's ErrorCode (its `codes.py`) as the GraphQL enum of its payloads' errors: the
    same class, each value described as the member says."""
    strawberry.enum(codes, description=description)
    for value in codes.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = codes[value.name].description
    return codes


def input_path(field: str | None) -> list[str] | None:
    """A service's dotted field (`witnesses.2.witnessName`) as a path into the arguments of a
    mutation, which always takes one `input`."""
    return None if field is None else ["input", *field.split(".")]


def payload_errors(error_type: type[E], code_enum: type[Enum], exc: DomainError) -> list[E]:
    """A DomainError as the `errors` of a mutation payload."""
    for error in exc.errors:
        metrics.GRAPHQL_ERRORS.labels(error.code).inc()
    return [
        error_type(message=error.message, path=input_path(error.field), code=code_enum(error.code))
        for error in exc.errors
    ]


def query_error(exc: DomainError) -> ApiError:
    """A DomainError raised while resolving a query becomes a top-level error."""
    first = exc.errors[0]
    code = "BAD_USER_INPUT" if first.code == "INVALID_INPUT" else first.code
    return ApiError(code, first.message, **({"field": first.field} if first.field else {}))


class ErrorReporting(SchemaExtension):
    """Masks unexpected exceptions (code INTERNAL, with the request id); details go to the log."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not getattr(result, "errors", None):
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        result.errors = [self._report(error, request_id) for error in result.errors]

    @staticmethod
    def _report(error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            if not (error.extensions or {}).get("code"):
                code = "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_USER_INPUT"
                error.extensions = {**(error.extensions or {}), "code": code}
            return error
        if isinstance(original, DBAPIError) and original.connection_invalidated:
            # A pooled connection found dead (PostgreSQL restarted): the pool replaces its
            # connections (db.py), and the same request will succeed.
            log.warning(
                "database connection lost in %s (request %s): %s",
                ".".join(str(part) for part in error.path or ()),
                request_id,
                original.orig,
            )
            return GraphQLError(
                "the database connection was lost: try again",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "SERVICE_UNAVAILABLE", "retryAfter": 1},
            )
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            request_id,
            exc_info=original,
        )
        return GraphQLError(
            "Internal server error",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )
