"""Who may see or do what, written once as rules that both paths read (SPEC 1, issue 13).

A `Rule` is a predicate over a row's columns and the actor (their id and roles). The executor and
the services ask `rule.allows(row, actor_id, roles)` of a loaded row; the query compiler asks
`rule.sql(row, viewer)` for the same predicate as a SQL condition over the row's columns and the
statement's viewer parameter. The rules are small on purpose (the viewer is a column's value, the
viewer holds a role, a column's value is one of a set, and/or/not), so that the two forms are
evidently the same predicate; the differential test of the compiler checks that they agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, false, not_, or_, true


class SqlViewer(Protocol):
    """What a rule needs of the compiler: the viewer as SQL (see compiler/build.py)."""

    def is_viewer(self, column: Any) -> Any: ...

    def has_role(self, role: str) -> Any: ...


class Rule:
    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        raise NotImplementedError

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        raise NotImplementedError

    def __or__(self, other: Rule) -> Rule:
        return AnyOf((self, other))

    def __and__(self, other: Rule) -> Rule:
        return AllOf((self, other))


@dataclass(frozen=True)
class IsViewer(Rule):
    """The row's `column` holds the actor's id."""

    column: str

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return actor_id is not None and getattr(row, self.column) == actor_id

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return viewer.is_viewer(row.c[self.column])


@dataclass(frozen=True)
class HasRole(Rule):
    """The actor holds one of `roles` now."""

    roles: tuple[str, ...]

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return actor_id is not None and bool(roles & set(self.roles))

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return or_(*(viewer.has_role(role) for role in self.roles))


@dataclass(frozen=True)
class ValueIn(Rule):
    """The row's `column` is one of `values`."""

    column: str
    values: frozenset[str]

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return getattr(row, self.column) in self.values

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return row.c[self.column].in_(sorted(self.values))


@dataclass(frozen=True)
class Anyone(Rule):
    """Every actor (a signed-in one: anonymous viewers pass no rule)."""

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return actor_id is not None

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return _signed_in(viewer)


def _signed_in(viewer: SqlViewer) -> Any:
    return true() if getattr(viewer, "signed_in", False) else false()


@dataclass(frozen=True)
class AnyOf(Rule):
    rules: tuple[Rule, ...]

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return any(rule.allows(row, actor_id, roles) for rule in self.rules)

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return or_(*(rule.sql(row, viewer) for rule in self.rules))


@dataclass(frozen=True)
class AllOf(Rule):
    rules: tuple[Rule, ...]

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return all(rule.allows(row, actor_id, roles) for rule in self.rules)

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return and_(*(rule.sql(row, viewer) for rule in self.rules))


@dataclass(frozen=True)
class Not(Rule):
    rule: Rule

    def allows(self, row: Any, actor_id: uuid.UUID | None, roles: frozenset[str]) -> bool:
        return actor_id is not None and not self.rule.allows(row, actor_id, roles)

    def sql(self, row: Any, viewer: SqlViewer) -> Any:
        return and_(_signed_in(viewer), not_(viewer_truth(viewer, self.rule.sql(row, viewer))))


def viewer_truth(viewer: Any, condition: Any) -> Any:
    """A condition that is false where SQL would say unknown (a NULL column)."""
    return viewer.dialect.truth(condition)


def role(*names: str) -> HasRole:
    return HasRole(tuple(names))


def statuses(column: str, values: Iterable[str]) -> ValueIn:
    return ValueIn(column, frozenset(values))


class Columns:
    """A row for a rule whose columns come from more than one table: named values for
    `allows` (attributes), named SQL columns for `sql` (`.c`)."""

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)
        self.c = columns


ADMIN = role("admin")
VERIFIER = role("verifier", "admin")  # "verifiers" in SPEC 1 always include admins
OWN_ACCOUNT = IsViewer("id") | ADMIN  # a user row: email, identities
# Evidence is for the contributor, the task's creator, verifiers and admins (SPEC 1): a rule over
# a contribution's `user_id` and its task's creator as `task_creator_id` (null without a task).
SEES_EVIDENCE = IsViewer("user_id") | IsViewer("task_creator_id") | VERIFIER
# A credit account is its owner's and the admins' to read (SPEC 9): over a credit account row.
SEES_CREDIT_ACCOUNT = IsViewer("user_id") | ADMIN
