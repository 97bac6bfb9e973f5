"""Alembic environment: runs on the connection handed over by ``clientela.storage.migrate``."""

from __future__ import annotations

from alembic import context

from clientela.storage.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - alembic CLI use without Clientela's runner
    raise RuntimeError("run migrations with `clientela db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
