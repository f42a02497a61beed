"""The long-lived clients of one process, created in the app's lifespan (never at import)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gotong_gql.db import create_engine, create_session_factory
from gotong_gql.pubsub import InProcessPubSub
from gotong_gql.security import TokenCodec
from gotong_gql.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    tokens: TokenCodec
    pubsub: InProcessPubSub

    @classmethod
    def create(cls, settings: Settings) -> Services:
        engine = create_engine(settings)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            tokens=TokenCodec(settings),
            pubsub=InProcessPubSub(),
        )

    async def close(self) -> None:
        await self.pubsub.close()
        await self.engine.dispose()
