from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from hub.migrate import alembic_config, current_revision, head_revision, upgrade
from orgs.models import metadata


class TestMigrations:
    def test_upgrade_from_empty_creates_every_table(self, fresh_database: str) -> None:
        # given a database migrated to nothing
        command.downgrade(alembic_config(fresh_database), "base")
        assert current_revision(fresh_database) is None
        # when
        upgrade(fresh_database)
        # then
        engine = create_engine(fresh_database)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert set(metadata.tables) <= tables
        assert current_revision(fresh_database) == head_revision()

    def test_models_and_migrations_agree(self, fresh_database: str) -> None:
        # alembic check raises when autogenerate would produce operations
        command.check(alembic_config(fresh_database))

    def test_every_org_owned_table_has_an_indexed_org_id(self) -> None:
        for table in metadata.tables.values():
            if "org_id" not in table.c:
                continue
            column = table.c.org_id
            assert not column.nullable, table.name
            indexed = any(next(iter(index.columns)) is column for index in table.indexes) or any(
                next(iter(constraint.columns)) is column
                for constraint in table.constraints
                if hasattr(constraint, "columns") and len(constraint.columns)
            )
            assert indexed, f"{table.name}.org_id has no index leading with it"
