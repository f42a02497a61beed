"""The shape of a document, each fragment measured once (linear time): depth, aliases and the
fields of one level, for the limits rule and the credential windows."""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)


def response_key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


class DocumentShape:
    """Depth, aliases and root fields of a document, each fragment measured once (linear)."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._depths: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        self._entered: set[tuple[int, str]] = set()

    def depth(self, selection_set: SelectionSetNode) -> int:
        """Fields on the longest path; introspection (`__schema`, `__type`) is left to
        MaxIntrospectionDepthRule."""
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in ("__schema", "__type"):
                    continue
                below = self.depth(selection.selection_set) if selection.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment(selection, self._depths, self.depth))
        return deepest

    def aliases(self, selection_set: SelectionSetNode) -> int:
        """Aliased fields as executed: a fragment spread twice counts twice."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += selection.alias is not None
                if selection.selection_set:
                    total += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection, self._aliases, self.aliases)
        return total

    def fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        """The fields of one level, through inline fragments and spreads (each fragment once)."""
        found: list[FieldNode] = []
        seen: set[str] = set()
        pending = list(reversed(selection_set.selections))
        while pending:
            selection = pending.pop()
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.extend(reversed(selection.selection_set.selections))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.extend(reversed(fragment.selection_set.selections))
        return found

    def _fragment(
        self,
        spread: FragmentSpreadNode,
        memo: dict[str, int],
        measure: Callable[[SelectionSetNode], int],
    ) -> int:
        name = spread.name.value
        if name in memo:
            return memo[name]
        fragment = self.fragments.get(name)
        entered = (id(memo), name)
        if fragment is None or entered in self._entered:
            return 0  # unknown fragments and cycles are reported by graphql-core's rules
        self._entered.add(entered)
        try:
            memo[name] = measure(fragment.selection_set)
        finally:
            self._entered.discard(entered)
        return memo[name]
