"""The long-lived clients of one process, created in the lifespan (never at import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gotong_gql import __version__
from gotong_gql.cache import Cache, create_cache
from gotong_gql.db import create_engine, create_session_factory
from gotong_gql.jobs import DramatiqJobQueue, InProcessJobQueue, JobQueue, create_broker
from gotong_gql.oidc.client import OidcClients
from gotong_gql.pubsub import InProcessPubSub, RedisPubSub, create_pubsub
from gotong_gql.security import TokenCodec
from gotong_gql.settings import Settings
from gotong_gql.storage import create_store
from gotong_gql.storage.protocol import ObjectStore

if TYPE_CHECKING:
    from gotong_gql.graphql.multiplex.multiplexer import Multiplexer

USER_AGENT = f"GotongRoyong/{__version__}"


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    tokens: TokenCodec
    pubsub: InProcessPubSub | RedisPubSub
    cache: Cache
    http: httpx.AsyncClient
    storage: ObjectStore
    oidc: OidcClients
    jobs: JobQueue = field(init=False)
    multiplexer: Multiplexer = field(init=False)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        engine = create_engine(settings)
        services = cls(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            tokens=TokenCodec(settings),
            pubsub=create_pubsub(settings.redis_url),
            cache=create_cache(settings.redis_url),
            storage=create_store(settings),
            http=httpx.AsyncClient(
                headers={"User-Agent": USER_AGENT},
                timeout=settings.webhook_timeout_seconds,
                follow_redirects=False,
            ),
            oidc=OidcClients(settings),
        )
        services.jobs = (
            DramatiqJobQueue(create_broker(settings.redis_url))
            if settings.redis_url
            else InProcessJobQueue(services)
        )
        # Imported here: the multiplexer's modules import the GraphQL context, which imports this.
        from gotong_gql.graphql.multiplex.multiplexer import Multiplexer

        services.multiplexer = Multiplexer(services)
        return services

    async def close(self) -> None:
        await self.multiplexer.close()
        await self.jobs.close()
        await self.storage.close()
        await self.http.aclose()
        await self.oidc.close()
        await self.cache.close()
        await self.pubsub.close()
        await self.engine.dispose()
