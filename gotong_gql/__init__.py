"""gotong-gql: the Gotong Royong mutual credit platform as a GraphQL API server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gotong-gql")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
