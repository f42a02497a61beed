"""Expected failures as data: services raise DomainError, resolvers turn it into payload errors.

Each domain lists its codes once, as an ErrorCode enum in its `codes.py`; the services raise its
members, and the domain's `types.py` exposes the same enum in the schema (`error_code_enum`).
No GraphQL imports here: services raise these, and `graphql/errors.py` maps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# The codes most domains share, and the shared helpers below raise, with one wording.
COMMON_CODES = {
    "INVALID_INPUT": "A field of the input breaks its rule (length, range, format); see `path`.",
    "NOT_FOUND": "An id in the input names no object (or none the viewer may see).",
    "FORBIDDEN": "The viewer's roles, or relation to the object, do not allow this.",
    "INVALID_PAYLOAD": "The change would make its webhook event break SPEC 4's limits "
    "(lengths, counts, 1 MB); see `path`.",
}


class ErrorCode(StrEnum):
    """The codes of one domain's expected failures. A member is its code (a str) and says what
    it means to a client; a shared code given alone takes the wording of COMMON_CODES."""

    description: str

    def __new__(cls, code: str, description: str | None = None) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.description = description or COMMON_CODES[code]
        return member


@dataclass(frozen=True)
class FieldError:
    code: str
    message: str
    field: str | None = None


class DomainError(Exception):
    """One or more expected failures; the unit of work rolls back and nothing is written."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.errors: list[FieldError] = [FieldError(code, message, field)]

    @classmethod
    def many(cls, errors: Iterable[FieldError]) -> DomainError:
        errors = list(errors)
        first = errors[0]
        error = cls(first.code, first.message, first.field)
        error.errors = errors
        return error

    @property
    def code(self) -> str:
        return self.errors[0].code

    @property
    def field(self) -> str | None:
        return self.errors[0].field


def not_found(entity: str, field: str | None = "id") -> DomainError:
    return DomainError("NOT_FOUND", f"{entity} not found", field)


def forbidden(message: str, field: str | None = None) -> DomainError:
    return DomainError("FORBIDDEN", message, field)


def validate(
    model: type[M],
    data: dict[str, Any],
    code: str = "INVALID_INPUT",
    context: dict[str, Any] | None = None,
) -> M:
    """Shape validation of an input: every offending field reported with its path and reason.
    `context` is pydantic's validation context (e.g. urls.HTTPS_ONLY)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise DomainError.many(
            FieldError(code, _message(error), _path(error["loc"])) for error in exc.errors()
        ) from None


def _path(loc: tuple[Any, ...]) -> str | None:
    parts = [str(part) for part in loc if part != "__root__"]
    return ".".join(_camel(part) for part in parts) or None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _message(error: dict[str, Any]) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
