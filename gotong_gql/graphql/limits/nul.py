"""No string input may hold a NUL character: checked once per operation, before execution."""

from __future__ import annotations

from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    Node,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)

NUL = "\x00"


def nul_in_inputs(document: DocumentNode, variables: dict[str, Any]) -> GraphQLError | None:
    """The first string input that holds a NUL character, as an INVALID_INPUT error.

    Checked once per operation, before execution, over every string the client sent: the
    coerced variables (JSON scalars included, keys and values) and the document's literals. No
    column may hold a NUL (PostgreSQL refuses one in text, SQLite would cut C strings at it), and
    catching it here covers every field and both engines at once."""
    for name, value in variables.items():
        path = _nul_path(value, f"${name}")
        if path is not None:
            return _nul_error(path)
    finder = _NulLiteral()
    visit(document, finder)
    if finder.found is not None:
        node, path = finder.found
        return _nul_error(path, node)
    return None


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        if any(isinstance(key, str) and NUL in key for key in value):
            return path
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_path(item, f"{path}.{key}")
        if found is not None:
            return found
    return None


class _NulLiteral(Visitor):
    """A string literal (`"\\u0000"` is a valid GraphQL escape) holding NUL, with its path."""

    def __init__(self) -> None:
        super().__init__()
        self.found: tuple[Node, str] | None = None

    def enter_string_value(self, node: StringValueNode, _key, parent, _path, ancestors) -> Any:
        if NUL not in node.value:
            return None
        names = [_name(item) for item in (*ancestors, parent) if isinstance(item, Node)]
        self.found = (node, ".".join(name for name in names if name))
        return BREAK


def _name(node: Node) -> str | None:
    if isinstance(node, FieldNode):
        return node.alias.value if node.alias else node.name.value
    if isinstance(node, ArgumentNode | ObjectFieldNode):
        return node.name.value
    if isinstance(node, VariableDefinitionNode):
        return f"${node.variable.name.value}"
    if isinstance(node, DirectiveNode):
        return f"@{node.name.value}"
    return None


def _nul_error(path: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(
        f"{path} holds a NUL character, which no text may contain",
        node,
        extensions={"code": "INVALID_INPUT", "field": path},
    )
