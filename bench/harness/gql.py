"""GraphQL over HTTP for set-up steps and checks: every answer must be 200 without `errors`."""

from __future__ import annotations

from typing import Any

import httpx

from harness.base import BenchError

REGISTER = """mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { user { id } errors { code message } } }"""
LOGIN = """mutation($login: String!, $password: String!) {
  tokenCreate(input: {login: $login, password: $password}) {
    accessToken errors { code message } } }"""


class GraphQLClient:
    """One keep-alive connection to `base_url`/graphql, with the bearer token once signed in."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.token: str | None = None

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or body.get("errors"):
            raise BenchError(f"/graphql answered {response.status_code}: {response.text[:500]}")
        return body["data"]

    def payload(
        self, name: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A mutation's payload `name`; its `errors` (expected failures) stop the run too."""
        result = self.data(query, variables)[name]
        if result.get("errors"):
            raise BenchError(f"{name}: {result['errors']}")
        return result

    def register(self, username: str, password: str) -> None:
        account = {"username": username, "email": f"{username}@bench.example.org"}
        self.payload("accountRegister", REGISTER, {"input": {**account, "password": password}})

    def login(self, username: str, password: str) -> str:
        """Signs in (this client's later requests carry the token) and returns the token."""
        self.token = None
        token = self.payload("tokenCreate", LOGIN, {"login": username, "password": password})[
            "accessToken"
        ]
        if not token:
            raise BenchError(f"no access token for {username}")
        self.token = token
        return token
