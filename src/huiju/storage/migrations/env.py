"""Alembic environment: the metadata of every context's models, SQLite in batch mode."""

from alembic import context

import huiju.auth.models  # noqa: F401  (register tables on Base.metadata)
import huiju.catalog.models  # noqa: F401
import huiju.opendata.models  # noqa: F401
import huiju.ingest.authority.models  # noqa: F401
import huiju.ingest.models  # noqa: F401
import huiju.opendata.portal_models  # noqa: F401
import huiju.security.models  # noqa: F401
import huiju.share.models  # noqa: F401
import huiju.storage.lake.models  # noqa: F401
from huiju.storage.db import Base, is_modelled, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=is_modelled,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
