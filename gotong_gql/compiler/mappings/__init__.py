"""One module per group of GraphQL types: which spec each field has (compiler/registry.py)."""
