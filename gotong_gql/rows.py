"""Read paths take Core rows shaped like model instances, not ORM instances (issue 13).

`columns(Task)` lists a model's columns, each labelled with its attribute's name
(`tasks.metadata AS metadata_`); a SELECT of them gives SQLAlchemy `Row`s, named tuples that
answer `row.title` and `row.metadata_` as an instance would. The GraphQL types' `from_row` and
the permission rules read attributes only, so they take either: mutations hand them the ORM
instances their unit of work changed, listings and DataLoaders hand them rows. A row costs no
identity map, no instrumented attributes and no unit-of-work bookkeeping: the ORM's hydration
was a sixth of the executor's time on the task list.

A row is a snapshot: it does not follow a later change of the same object in the request (an
ORM instance of the session would). The request's DataLoaders are made afresh after each unit
of work (graphql/context.py), so a mutation's payload reads what it committed.

`USER_COLUMNS` leave out `password_hash`, which only signing in reads (user/service.py); the
mapping defers it for ORM loads too (user/models.py).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Label, Select, inspect, select
from sqlalchemy.engine import Row

# Row's own attributes: a column by one of these names would be shadowed.
_ROW_NAMES = frozenset(name for name in dir(Row) if not name.startswith("__"))


@functools.cache
def columns(model: Any, exclude: frozenset[str] = frozenset()) -> tuple[Label[Any], ...]:
    """The model's columns in mapping order, labelled with their attribute names."""
    found = []
    for prop in inspect(model).column_attrs:
        if prop.key in exclude:
            continue
        if prop.key in _ROW_NAMES:
            raise ValueError(f"{model.__name__}.{prop.key} is a name of Row's own")
        found.append(prop.columns[0].label(prop.key))
    return tuple(found)


@functools.cache
def rows_of(model: Any, exclude: frozenset[str] = frozenset()) -> Select[Any]:
    """`SELECT <the model's columns> FROM <its table>`, to which a read adds its conditions
    (a Select is immutable: each `.where()` makes a new one)."""
    return select(*columns(model, exclude))


def user_columns() -> tuple[Label[Any], ...]:
    from gotong_gql.user.models import User

    return columns(User, USER_EXCLUDED)


USER_EXCLUDED = frozenset({"password_hash"})
