"""The walk from a validated operation to one SQL expression of its `data`.

For an object, `Builder.object` collects the selected fields the way graphql-core does
(fragments, type conditions, `@skip`/`@include` with the operation's variables, aliases merged by
response key) and asks each field's spec (compiler/specs.py, per type in compiler/mappings/) for
a SQL expression of its JSON value; the object is `json_build_object(key, value, ...)` in the
order of the selection, as the executor answers. A leaf's value is converted by its GraphQL type
(`Builder.leaf`): enum names, the DateTime form, booleans, JSON.

Anything the compiler does not know raises `Unsupported(reason)`, and the whole operation goes to
the executor. So do arguments the executor would refuse: the compiled path only ever answers what
the executor answers without errors.

The viewer is a parameter of the statement (`gql_viewer_id`), and their roles are read by the
statement itself (one EXISTS per role used), so a plan serves every viewer of its class. A field
the executor refuses to some viewers with an error (FORBIDDEN to non-admins) adds a guard
(`Builder.require`): the statement says whether the guards hold for this viewer, and where they
do not, the executor answers instead, with its error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLString,
    InlineFragmentNode,
    NameNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.values import get_argument_values, get_directive_values
from sqlalchemy import Uuid, and_, bindparam, case, exists, literal_column, null, select
from strawberry.types.arguments import convert_arguments

from gotong_gql.compiler.dialect import Dialect, quote
from gotong_gql.user.models import UserRole

VIEWER_ID = "gql_viewer_id"
MAX_OBJECT_FIELDS = 50  # json_build_object takes at most 100 arguments


class Unsupported(Exception):
    """The operation goes to the executor; `reason` is a bounded label (a metric's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Selected:
    """One field as selected: its definition, the merged nodes and the coerced arguments."""

    name: str
    definition: GraphQLField
    nodes: list[FieldNode]
    args: dict[str, Any]

    @property
    def type(self) -> Any:
        return self.definition.type

    @property
    def named_type(self) -> Any:
        return get_named_type(self.definition.type)


@dataclass
class Builder:
    dialect: Dialect
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    settings: Any
    signed_in: bool
    strawberry: Any  # the strawberry.Schema (its argument conversion)
    _roles: dict[str, Any] = field(default_factory=dict)
    guards: list[Any] = field(default_factory=list)
    late: set[str] = field(default_factory=set)  # the kinds of late.py values in the data
    viewer_uses: int = 0  # how often the statement compares with the viewer or reads their roles

    # The viewer ------------------------------------------------------------------------------

    @property
    def viewer_id(self) -> Any:
        self.viewer_uses += 1
        return bindparam(VIEWER_ID, None, type_=Uuid)

    def has_role(self, role: str) -> Any:
        """Whether the viewer holds `role` now (read by the statement, once)."""
        if not self.signed_in:
            return literal_column("1 = 0")
        if role not in self._roles:
            self._roles[role] = exists(
                select(literal_column("1"))
                .select_from(UserRole.__table__)
                .where(
                    UserRole.__table__.c.user_id == self.viewer_id,
                    UserRole.__table__.c.role == role,
                )
            )
        return self._roles[role]

    def require(self, condition: Any) -> None:
        """The compiled answer is the executor's only where `condition` holds for the viewer
        (say, an admin-only root field): elsewhere the executor answers, with its error."""
        self.guards.append(condition)

    def is_viewer(self, column: Any) -> Any:
        if not self.signed_in:
            return literal_column("1 = 0")
        return column == self.viewer_id

    # Objects and fields ----------------------------------------------------------------------

    def selections(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> list[Selected]:
        grouped: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is not None:
                self._collect(type_, node.selection_set, grouped, set())
        chosen = []
        for key, group in grouped.items():
            name = group[0].name.value
            if name == "__typename":
                chosen.append(Selected(key, _TYPENAME, group, {}))
                continue
            definition = type_.fields[name]
            args = self.arguments(definition, group[0])
            chosen.append(Selected(key, definition, group, args))
        if len(chosen) > MAX_OBJECT_FIELDS:
            raise Unsupported("too many fields")
        return chosen

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (Strawberry's conversion: Python
        names, input classes, enum members)."""
        values = get_argument_values(definition, node, self.variables)
        declared = (definition.extensions or {}).get("strawberry-definition")
        if declared is None or not declared.arguments:
            return values
        return convert_arguments(
            values,
            declared.arguments,
            scalar_registry=self.strawberry.schema_converter.scalar_registry,
            config=self.strawberry.config,
        )

    def root(self, type_: GraphQLObjectType, selection_set: SelectionSetNode) -> list[Selected]:
        node = FieldNode(name=NameNode(value="data"), selection_set=selection_set)
        return self.selections(type_, [node])

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """graphql-core's CollectFields: fragments whose type condition holds, @skip/@include."""
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, type_):
                    self._collect(type_, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition, type_):
                    self._collect(type_, fragment.selection_set, grouped, visited)

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include["if"] is False)

    def _applies(self, condition: Any, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = self.schema.get_type(condition.name.value)
        if conditional is type_:
            return True
        return is_abstract_type(conditional) and self.schema.is_sub_type(conditional, type_)

    def object(self, type_name: str, row: Any, nodes: list[FieldNode]) -> Any:
        """The JSON object of `type_name` for the row `row` (a FROM with the type's columns)."""
        from gotong_gql.compiler.registry import spec_of

        type_ = self.schema.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType)
        pairs = []
        for selected in self.selections(type_, nodes):
            if selected.definition is _TYPENAME:
                pairs.append((selected.name, quote(type_name)))
                continue
            spec = spec_of(type_name, selected.definition, selected.nodes[0].name.value)
            pairs.append((selected.name, spec.sql(self, row, selected)))
        return self.dialect.obj(pairs)

    def leaf(self, value: Any, graphql_type: Any) -> Any:
        """A column's value as the executor serialises it for `graphql_type`."""
        if isinstance(graphql_type, GraphQLNonNull):
            graphql_type = graphql_type.of_type
        if isinstance(graphql_type, GraphQLList):
            raise Unsupported("list of leaves")
        if isinstance(graphql_type, GraphQLEnumType):
            stored = [
                (getattr(v.value, "value", v.value), name)
                for name, v in graphql_type.values.items()
            ]
            return case(*((value == s, quote(name)) for s, name in stored), else_=null())
        assert isinstance(graphql_type, GraphQLScalarType)
        name = graphql_type.name
        if name in ("String", "Int", "Float"):
            return value
        if name == "Boolean":
            return self.dialect.boolean(value)
        if name == "DateTime":
            return self.dialect.datetime(value)
        if name == "JSON":
            return self.dialect.json_value(value)
        raise Unsupported(f"scalar {name}")

    def condition(self, *conditions: Any) -> Any:
        return and_(*conditions)


_TYPENAME = GraphQLField(GraphQLNonNull(GraphQLString))
