import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# The application configures logging itself; alembic's ini only serves a bare `alembic` run.
if not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            # alembic takes SQLite for a database without transactional DDL and commits after
            # every revision, outside begin_transaction() below; SQLite's DDL is transactional:
            # one transaction for the whole run, so the foreign-key check comes before its commit
            transactional_ddl=True if sqlite else None,
            **conf_args,
        )
        if not sqlite:
            with context.begin_transaction():
                context.run_migrations()
            return
        changes, current = planned_change()
        if connection.in_transaction():
            connection.commit()  # reading the current revision began one; nothing was written
        if not changes:  # `flask db current`, `history`, `stamp`, a start at head
            with context.begin_transaction():
                context.run_migrations()
            return
        if current is not None:
            backup_before_change(connection, current)
        # A batch-mode step rebuilds a table (CREATE new, copy, DROP old, rename): with foreign
        # keys on, the DROP cascades and deletes every row that points to the table. They go off
        # for the migration — outside a transaction, where the pragma does nothing — and are
        # checked before the commit instead: rows the migration left pointing nowhere refuse it
        # (rows that already did before it are not its doing, and don't stop an upgrade).
        raw = connection.connection.dbapi_connection
        already = dangling(raw.execute("PRAGMA foreign_key_check").fetchall())
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            from sferum_lite.database import writing

            with writing(), context.begin_transaction():  # BEGIN IMMEDIATE: the app may be writing
                context.run_migrations()
                after = dangling(connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall())
                new = sorted(key for key, n in after.items() if n > already.get(key, 0))
                if new:
                    raise RuntimeError(
                        "the migration would leave rows pointing nowhere; nothing was changed: "
                        + ", ".join(f"{table} -> {parent}" for table, parent in new)
                    )
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def dangling(rows) -> dict:
    """PRAGMA foreign_key_check's rows counted by (table, the table it points to)."""
    counts = {}
    for row in rows:
        counts[(row[0], row[2])] = counts.get((row[0], row[2]), 0) + 1
    return counts


def planned_change():
    """(whether this run changes the schema, the revision it starts from)."""
    migration = context.get_context()
    opts = migration.opts
    current = migration.get_current_revision()
    destination = opts.get("destination_rev")
    if opts.get("dont_mutate") or opts.get("as_sql") or not isinstance(destination, str):
        return False, current  # current, history, stamp (its destination is a tuple)
    script = context.script
    try:
        if destination in ("head", "heads"):
            target = script.get_current_head()
        elif destination == "base":
            target = None
        else:
            target = script.get_revision(destination).revision
    except Exception:  # a relative step ("-1", "+2"): it moves somewhere
        return True, current
    return target != current, current


def backup_before_change(connection, current):
    """Before a migration changes an existing SQLite database, a copy of it goes next to it."""
    from datetime import UTC, datetime
    from pathlib import Path

    from sferum_lite.backup import sqlite_snapshot

    database = Path(connection.engine.url.database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = database.with_name(f"{database.name}.before-migration-from-{current}-{stamp}")
    sqlite_snapshot(database, target)
    logger.warning("Backup of the database before the migration: %s", target)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
