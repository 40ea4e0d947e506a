"""`facmon db upgrade`: create or migrate the maintenance database to the newest schema.

Safe to run on every start or deploy: a database that is already current is left alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.engine import make_url

from facility import Settings
from facmon.wiring import migrate

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`db` with its subcommands; the caller names the parser (facmon/cli.py: "db")."""
    commands = parser.add_subparsers(dest="db_command", required=True)
    upgrade_cmd = commands.add_parser(
        "upgrade", help="create or migrate the database at FACMON_DATABASE_URL to the newest schema"
    )
    upgrade_cmd.add_argument(
        "--url", default=None, help="database URL (default: FACMON_DATABASE_URL)"
    )
    parser.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate the database and print the revision it is at now."""
    url = getattr(args, "url", None) or settings.database_url
    revision = migrate(url)
    where = make_url(url).render_as_string(hide_password=True)
    print(f"database {where} at revision {revision}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m facmon.db_cmd upgrade`, for use before the command line is wired."""
    parser = argparse.ArgumentParser(prog="facmon db", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
