"""Command-line tools: `flask seed-demo`."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .actions.setup import is_set_up
from .database import writing
from .security import format_phone


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo():
        """Fill an empty database with a demo kindergarten and print the logins to try."""
        from .demo import KINDERGARTEN, seed

        with writing():
            if is_set_up():
                raise click.ClickException(
                    "The database already holds a kindergarten; seed-demo fills only an empty "
                    "one. Move instance/sferum.sqlite3 away (or point SFERUM_DATABASE_URL to an "
                    "empty database) and run it again."
                )
            logins = seed()
        base = current_app.config["BASE_URL"]
        click.echo(f"Demo kindergarten «{KINDERGARTEN}» created. Open {base}/ and sign in.")
        click.echo(f"Password for every demo account: {logins.password}")
        rows = [
            ("director (заведующий)", logins.director),
            ("admin (заместитель заведующего)", logins.admin),
            ("educator of «Солнышко»", logins.educator),
            ("educator, not yet verified", logins.unverified),
            ("parent", logins.parent),
            ("parent of two children", logins.parent_two_children),
            ("educator whose own child attends", logins.educator_parent),
        ]
        for role, phone in rows:
            click.echo(f"  {role:34} {format_phone(phone)}")
