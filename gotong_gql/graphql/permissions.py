"""Coarse checks declared on fields; ownership is checked in the services."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from gotong_gql.graphql.context import Context


class IsAuthenticated(BasePermission):
    message = "sign in first: send Authorization: Bearer <access token>"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context: Context = info.context
        context.require_user_id()  # raises with the precise reason (expired, invalid, missing)
        return True
