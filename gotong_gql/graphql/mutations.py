"""The shape of a mutation: the viewer, one unit of work, and an expected refusal as data.

`run_mutation` is that shape for the mutations of a signed-in viewer: no viewer is a top-level
UNAUTHENTICATED; the work runs in one unit of work; a DomainError rolls it back and becomes the
payload's `errors` (every other field null); otherwise the payload is built from what the work
returned, after the commit. The payload names its error type, and the error type its code
enum, so that nothing is passed twice. Mutations without a viewer (registration, tokens) open
their unit of work themselves and answer a refusal with `refused`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import payload_errors
from gotong_gql.uow import UnitOfWork

P = TypeVar("P")
T = TypeVar("T")
Info = strawberry.Info[Context, None]


async def run_mutation(
    info: Info,
    payload: type[P],
    work: Callable[[UnitOfWork, Viewer], Awaitable[T]],
    done: Callable[[T], P],
) -> P:
    context = info.context
    viewer = await context.require_viewer()
    try:
        async with context.unit_of_work(viewer) as uow:
            result = await work(uow, viewer)
    except DomainError as exc:
        return refused(payload, exc)
    return done(result)


def refused(payload: type[P], exc: DomainError, **values: Any) -> P:
    """The payload of a refused mutation: `errors` from the DomainError, `values`, and null (or
    its default) in every other field."""
    error_type, codes = error_type_of(payload)
    nulls = {
        field.name: None
        for field in dataclasses.fields(payload)  # type: ignore[arg-type]
        if field.name != "errors"
        and field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    }
    return payload(**{**nulls, **values}, errors=payload_errors(error_type, codes, exc))


@functools.cache
def error_type_of(payload: type) -> tuple[type, type[Enum]]:
    """The error type of a payload's `errors`, and the enum of that type's `code`."""
    errors = _field(payload, "errors")
    error_type: Any = errors.type.of_type
    return error_type, _field(error_type, "code").type.wrapped_cls


def _field(type_: type, name: str) -> Any:
    definition = type_.__strawberry_definition__  # type: ignore[attr-defined]
    return next(field for field in definition.fields if field.python_name == name)
