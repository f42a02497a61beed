"""One plan for every value of an operation's ID variables.

A plan is made for the operation's variables as given (read_path.py): a task detail asked for a
thousand tasks would be compiled a thousand times (tens of milliseconds each). Most reads name
their objects by global id in a variable (`task(id: $id)`, `user(by: {id: $id})`, `node`), and the
id's UUID only ever becomes a bound value of the statement. So when the top-level variables hold
global ids, the operation is compiled twice more, with each such id replaced by an id of the same
type and a random UUID (two different ones), and the two plans are compared:

- the same SQL text, the same parameters and the same cost, and
- they differ exactly in the parameters that carry the random UUIDs (as the driver takes them),

then the plan is a template: a request with other ids of the same types runs it with those
parameters set to its ids, without compiling. Anything else (an id that shapes the statement, or
flows into a value in another form, say a search pattern) fails the comparison, and the
operation keeps one plan per variables, as before.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import uuid
from dataclasses import dataclass
from typing import Any

from strawberry.relay.utils import to_base64

from gotong_gql.compiler.plan import Plan

GlobalIds = dict[str, tuple[str, uuid.UUID]]  # variable -> (type name, UUID)


@dataclass(frozen=True)
class Template:
    entry: tuple[Plan, int, str | None]  # the plan, its cost and the operation's name
    carriers: dict[str, tuple[str, ...]]  # variable -> the statement parameters of its UUID

    def overrides(self, ids: GlobalIds) -> dict[str, Any]:
        plan = self.entry[0]
        return {
            name: plan.processed(name, ids[variable][1])
            for variable, names in self.carriers.items()
            for name in names
        }


def global_ids(variables: dict[str, Any] | None) -> GlobalIds:
    """The top-level variables that hold a global id, written exactly as the server writes one."""
    found: GlobalIds = {}
    for name, value in (variables or {}).items():
        if isinstance(value, str) and (decoded := _decoded(value)) is not None:
            found[name] = decoded
    return found


def general_key(params: Any, signed_in: bool, ids: GlobalIds) -> Any:
    """The plan key of every request that differs from this one only in these ids' UUIDs."""
    masked = {**params.variables, **{name: f"{kind}:*" for name, (kind, _) in ids.items()}}
    variables = json.dumps(masked, sort_keys=True)
    return ("template", params.query, params.operation_name, variables, signed_in)


def with_ids(params: Any, ids: GlobalIds, uuids: dict[str, uuid.UUID]) -> Any:
    replaced = {name: encode(ids[name][0], value) for name, value in uuids.items()}
    return dataclasses.replace(params, variables={**params.variables, **replaced})


def template(
    first: tuple[Plan, int, str | None],
    second: tuple[Plan, int, str | None],
    uuids: tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]],
) -> Template | None:
    """The template the two plans (made with the two sets of random UUIDs) make, if any."""
    (plan, cost, name), (other, other_cost, other_name) = first, second
    if (plan.sql, plan.names, plan.late, cost, name) != (
        other.sql,
        other.names,
        other.late,
        other_cost,
        other_name,
    ):
        return None
    differing = {key for key, value in plan.values.items() if other.values.get(key) != value}
    carriers: dict[str, tuple[str, ...]] = {}
    for variable, value in uuids[0].items():
        mine = tuple(
            key
            for key in differing
            if plan.values[key] == plan.processed(key, value)
            and other.values[key] == other.processed(key, uuids[1][variable])
        )
        carriers[variable] = mine
    if {key for keys in carriers.values() for key in keys} != differing:
        return None
    return Template(first, carriers)


def encode(type_name: str, value: uuid.UUID) -> str:
    """A global id, as Strawberry's relay ids are written."""
    return to_base64(type_name, str(value))


def _decoded(value: str) -> tuple[str, uuid.UUID] | None:
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    kind, _, rest = text.partition(":")
    try:
        parsed = uuid.UUID(rest)
    except ValueError:
        return None
    if not kind.isidentifier() or encode(kind, parsed) != value:
        return None
    return kind, parsed
