"""graphql-transport-ws with multiplexed subscriptions.

A `subscribe` runs as before through Strawberry's pipeline (parsing, validation, the QueryGuard's
limits and rate limit, the resolver's own checks), with a ticket in a context variable of the
operation's task: the resolver offers its feed (feed.py), the operation joins its group, and the
stream ends without `complete`: from then on the operation is an entry in its group (and the
operation id stays taken until `complete` or the end), not an async generator, a graphql-core
executor and a Strawberry execution context per subscriber. Errors before that are sent as
before. Queries and mutations over the socket, and subscriptions with
SUBSCRIPTION_MULTIPLEXING=false, take Strawberry's path unchanged; so do Server-Sent Events
(graphql/sse.py) and the legacy graphql-ws protocol.

Every message of the connection goes through its bounded queue (connection.py), and the
operations of all connections start a few per turn of the event loop (multiplexer.Turns).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import suppress
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.utils.aio import aclosing

from gotong_gql.graphql.context import Context
from gotong_gql.graphql.multiplex.connection import Connection
from gotong_gql.graphql.multiplex.feed import JOINING, Feed
from gotong_gql.graphql.multiplex.reader import Plan


class QueuedWebSocket:
    """Strawberry's WebSocket adapter, its sends going through the connection's queue."""

    def __init__(self, adapter: Any, connection: Connection) -> None:
        self._adapter, self._connection = adapter, connection

    def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        return self._adapter.iter_json(ignore_parsing_errors=ignore_parsing_errors)

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self._adapter.view.encode_json(message)
        self._connection.send_text(encoded if isinstance(encoded, str) else encoded.decode())

    async def close(self, code: int, reason: str) -> None:
        self._connection.close(code, reason)


class _Ticket:
    __slots__ = ("handler", "joined", "operation", "used")

    def __init__(self, handler: MultiplexedTransportWS, operation: Operation) -> None:
        self.handler, self.operation = handler, operation
        self.used = self.joined = False

    async def join(self, context: Context, feed: Feed) -> None:
        await self.handler.join(self.operation, context, feed)
        self.joined = True


class MultiplexedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services = self.context.services
        self.multiplexing = services.settings.subscription_multiplexing
        self.connection = Connection(
            self.websocket.ws,
            self.view.encode_json,
            services.settings.ws_send_queue_limit,
            forget=lambda operation_id: self.operations.pop(operation_id, None),
            report=lambda error: self.schema.process_errors([error]),
        )
        self.websocket = QueuedWebSocket(self.websocket, self.connection)

    async def join(self, operation: Operation, context: Context, feed: Feed) -> None:
        connection = self.connection
        if connection.user_id is None:
            # As each subscription's own loop did first: no token, or an expired one, is an error.
            connection.identify(context, context.require_user_id(), context.token_expires_at())
        plan = Plan(operation.query, operation.operation_name, operation.variables or {})
        multiplexer = context.services.multiplexer
        await multiplexer.join(plan, feed, connection, operation.id)
        # What the operation keeps while it is a member: no task, no copy of the document.
        operation.task = multiplexer.finished()
        operation.query, operation.variables = "", None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's, with the ticket; no `complete` once the operation joined a group."""
        if not self.multiplexing:
            await super().run_operation(operation)
            return
        ticket = _Ticket(self, operation)
        JOINING.set(ticket)
        await self.context.services.multiplexer.turns.wait()  # a few at a time: see Turns
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            if not ticket.joined:
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:  # pragma: no cover - as Strawberry's
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def cleanup_operation(self, operation_id: str) -> None:
        self.connection.leave(operation_id)
        await super().cleanup_operation(operation_id)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            self.connection.shut()
