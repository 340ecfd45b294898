"""Apply the schema migrations: `python -m db.migrate [URL]` (default: the configured URL)."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def main() -> None:
    from config import get_settings

    url = sys.argv[1] if len(sys.argv) > 1 else get_settings().database_url
    upgrade(url)
    print(f"database migrated to head: {url.split('@')[-1]}")


if __name__ == "__main__":
    main()
