"""The ``erdv`` command: serve, migrate, seed and administer erdv with the same settings as the server.

One module per command group; this one assembles them and is the entry point (``erdv = app.cli:main``).
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import DBAPIError

from app import reactions
from app.cli import admin, audit, consents, keys, oauth, outbox, practitioners, seed, server

cli = typer.Typer(
    name="erdv",
    help="erdv: security-first medical appointment booking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

cli.command()(server.version)
cli.command()(server.migrate)
cli.command("citus-plan")(server.citus_plan)
cli.command()(seed.demo)
cli.add_typer(audit.commands, name="audit")
cli.add_typer(admin.commands, name="admin")
cli.add_typer(practitioners.commands, name="practitioners")
cli.add_typer(consents.commands, name="consents")
cli.add_typer(outbox.commands, name="outbox")
cli.command()(server.purge)
cli.command("reseal")(keys.reseal_command)
cli.command()(server.serve)
cli.add_typer(oauth.commands, name="oauth")


@cli.callback()
def _connect() -> None:
    """Every command runs with the domains' reactions connected, as the server does."""
    reactions.connect()


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except (DBAPIError, OSError) as error:
        # Exit 2, not 1: for `audit verify`, 1 means "the chain is broken".
        print(
            f"erdv: database error ({type(error).__name__}); is it up and migrated "
            "(`erdv migrate`)?",
            file=sys.stderr,
        )
        sys.exit(2)
