"""Administration without HTTP: migrations, projects and keys (used by the CLI)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import SettingsError
from service import store
from service.config import Settings, get_settings
from service.db import make_engine, session_factory, transaction
from service.errors import NotFound
from service.migrate import is_current, upgrade
from service.tables import Project


def open_engine(settings: Settings | None = None, *, migrate: bool = True) -> Engine:
    """Engine for the configured database, migrated to the newest schema when asked."""
    engine = make_engine((settings or get_settings()).resolved_database_url)
    if migrate:
        upgrade(engine)
    return engine


def open_for_serving(settings: Settings | None = None) -> Engine:
    """Engine for ``serve``/``worker``: SQLite migrates itself; other databases must be migrated.

    Deployments run ``bayescale migrate`` once, so replicas never race to change the schema.
    """
    engine = open_engine(settings, migrate=False)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    elif not is_current(engine):
        engine.dispose()
        raise SettingsError(
            "the database schema is not current: run `bayescale migrate` first",
            field="BAYESCALE_DATABASE_URL",
        )
    return engine


def create_project(engine: Engine, name: str) -> str:
    """Create a project; returns its first admin key."""
    with transaction(session_factory(engine)) as session:
        return store.create_project(session, name)[1]


def create_key(engine: Engine, project: str, role: str, name: str = "") -> str:
    """Create a key for an existing project."""
    with transaction(session_factory(engine)) as session:
        return store.create_key(session, _project(session, project), role, name)[0]


def revoke_key(engine: Engine, project: str, prefix: str) -> None:
    """Revoke a key of a project by its prefix."""
    with transaction(session_factory(engine)) as session:
        store.revoke_key(session, _project(session, project), prefix)


def first_start(engine: Engine, name: str = "default") -> str | None:
    """On an empty store create project ``name`` and return its admin key; else None."""
    with transaction(session_factory(engine)) as session:
        if session.scalar(select(Project.id).limit(1)) is not None:
            return None
        return store.create_project(session, name)[1]


def _project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"no project '{name}'", field="project")
    return project
