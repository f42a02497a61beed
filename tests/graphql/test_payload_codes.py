"""Each mutation's payload enum lists every code its resolver can raise (read from the source,
tests/graphql/raises.py): a code missing from the enum would be an INTERNAL error at run time."""

from __future__ import annotations

from gotong_gql.graphql.mutations import error_type_of
from gotong_gql.graphql.schema import schema
from tests.graphql.raises import Index

# Codes the reading cannot see, where a code is passed on rather than written: the function,
# and the codes it raises.
DYNAMIC = {
    # TokenError's codes (security.py, a Literal of two).
    "gotong_gql.user.service._refresh_row": {"INVALID_TOKEN", "TOKEN_EXPIRED"},
}
# Codes the reading finds on a path that cannot raise them: (mutation, code) and why.
UNREACHABLE = {
    ("contributionVerify", "INSUFFICIENT_CREDIT"): "a verdict pays the task's reservation "
    "(credit/earning.py's settle): the posting that pays also releases it, so the payer's "
    "room grows by at least what it pays",
}


def mutations() -> dict[str, tuple[str, set[str]]]:
    """Each mutation: its resolver's qualified name and the values of its payload's enum."""
    found = {}
    for field in schema.get_type_by_name("Mutation").fields:
        function = field.base_resolver.wrapped_func
        _error_type, codes = error_type_of(field.type)
        name = f"{function.__module__}.{function.__qualname__}"
        found[
            field.graphql_name
            or schema.config.name_converter.apply_naming_config(field.python_name)
        ] = (name, {code.value for code in codes})
    return found


def test_the_reading_knows_every_code_passed_on() -> None:
    index = Index()
    dynamic = {name for name, function in index.functions.items() if function.dynamic}
    assert dynamic == set(DYNAMIC)


def test_each_payload_enum_covers_the_codes_its_mutation_can_raise() -> None:
    index = Index()
    for name, codes in DYNAMIC.items():
        index.functions[name].codes |= codes
    missing = {}
    for mutation, (resolver, allowed) in mutations().items():
        raised = index.raised(resolver) - {code for m, code in UNREACHABLE if m == mutation}
        if raised - allowed:
            missing[mutation] = sorted(raised - allowed)
    assert missing == {}
    assert len(mutations()) == 27
