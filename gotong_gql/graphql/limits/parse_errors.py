"""Syntax errors get their code (GRAPHQL_PARSE_FAILED, or QUERY_TOO_COMPLEX past the token
limit)."""

from __future__ import annotations

from graphql import GraphQLError, GraphQLSyntaxError

from gotong_gql.graphql.limits.rule import QUERY_TOO_COMPLEX, QueryLimits

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"


def classify_parse_error(error: GraphQLError, limits: QueryLimits) -> GraphQLError:
    """Syntax errors get their code here (Strawberry's ParserCache raises them outside the
    operation hooks, so ErrorReporting never sees them)."""
    if not isinstance(error, GraphQLSyntaxError) or (error.extensions or {}).get("code"):
        return error
    if "contains more than" in error.message and "tokens" in error.message:
        extensions = {
            "code": QUERY_TOO_COMPLEX,
            "limit": "tokens",
            "maximum": limits.max_tokens,
        }
    else:
        extensions = {"code": GRAPHQL_PARSE_FAILED}
    error.extensions = {**(error.extensions or {}), **extensions}
    return error
