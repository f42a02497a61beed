"""What a document may ask for, checked before any resolver runs.

- Tokens: graphql-core's parser stops past `graphql_max_tokens` (parse_errors.py gives the
  refusal its code).
- Depth, aliases, directives, and one credential mutation per operation: a validation rule, so
  that the ValidationCache keeps its verdict per document. Strawberry's QueryDepthLimiter and
  MaxAliasesLimiter walk fragment spreads without memoising them, which is exponential: 22
  fragments that each spread the next one three times keep a worker busy for hours. This rule
  (rule.py) measures each fragment once (shape.py's DocumentShape).
- Introspection: graphql-core's MaxIntrospectionDepthRule (one of its specified rules); with
  GOTONG_ENV=production, NoSchemaIntrospectionCustomRule for everyone but admins, and no
  "Did you mean" suggestions (introspection.py).
- Cost (depends on the variables, so after validation): GitHub's node count (cost.py's
  CostCounter). A connection with `first: N` (or `last: N`) counts N nodes and multiplies the
  cost of what is selected below it (a nested connection without either counts its default of
  10); `nodes(ids)` counts one node per id; an unpaginated list multiplies what is below by its
  documented bound.
  A document over `graphql_max_cost` is refused; the cost is reported in `extensions.cost`.
- Rate limits (ratelimit.py): the query's points (1 + nodes // 100) are charged to the user or
  the IP before execution; tokenCreate and accountRegister have their own, stricter, windows
  (credentials.py). The policy of an app is a GraphQLGuard (guard.py); the QueryGuard schema
  extension (extension.py) applies it.
- NUL characters: no string input may hold one (nul.py).

Refusals never reach a resolver, so they run no SQL. Only an introspection query in production
looks up the viewer's roles (to let admins through).
"""
