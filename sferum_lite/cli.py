"""Command-line tools: `flask seed-demo`, `flask backup`, `flask restore`,
`flask password-reset-link`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

from .actions.setup import is_set_up
from .database import writing
from .security import format_phone


def _started_for() -> Flask:
    """The app this command was started for: the one `flask` loaded (another app's context may
    be active already, as in a test, and Flask's CLI then leaves it as current_app)."""
    return click.get_current_context().ensure_object(ScriptInfo).load_app()


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

    @app.cli.command("password-reset-link")
    @click.argument("login")
    def password_reset_link(login):
        """Print a one-time link (15 minutes) that sets a new password for LOGIN (a phone or an
        e-mail): for whoever nobody in the app can reset, the director first of all. Every
        session of the person ends when it is used; the audit log records it."""
        from .actions.recovery import LIFETIME, do_make_reset_link
        from .qr import public_url
        from .security import find_user_by_login, parse_login

        parsed = parse_login(login)
        user = find_user_by_login(*parsed) if parsed else None
        if user is None or user.is_deleted:
            raise click.ClickException("No account has this phone or e-mail.")
        with writing():
            _reset, token = do_make_reset_link(None, user)
        base = current_app.config["BASE_URL"]
        with current_app.test_request_context("/", base_url=base):
            url = public_url("recovery.reset", token=token)
        minutes = int(LIFETIME["in_person"].total_seconds() // 60)
        click.echo(f"A new password for {user.name}: open within {minutes} minutes, once:")
        click.echo(url)

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(path_type=Path))
    def backup(dest):
        """Write the database, the uploads and the keys into one .tar archive, while the app runs.

        DEST is the archive's file name, or a folder for sferum-backup-<UTC time>.tar in it.
        """
        from .backup import BackupError, create_backup, human_size

        try:
            result = create_backup(_started_for(), dest)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        counts = result.manifest["counts"]
        click.echo(
            f"Backup written to {result.path} ({human_size(result.size)}: {counts['messages']} "
            f"messages, {counts['users']} users, {counts['stored_files']} files) "
            f"in {result.seconds:.1f} s."
        )
        for note in result.notes:
            click.echo(note)

    @app.cli.command("restore")
    @click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def restore(src):
        """Put a `flask backup` archive into this empty instance and migrate it to the newest
        schema. Stop the app first."""
        from .backup import BackupError, restore_backup

        try:
            result = restore_backup(_started_for(), src)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        manifest, counts = result.manifest, result.manifest["counts"]
        migrated = (
            f"migrated from {result.revision_before} to {result.revision_after}"
            if result.revision_before != result.revision_after
            else f"at migration {result.revision_after}"
        )
        click.echo(
            f"Restored {src} (made {manifest['created_at']} by sferum-lite "
            f"{manifest['app_version']}): {counts['messages']} messages, {counts['users']} users, "
            f"{counts['stored_files']} files; database {migrated}."
        )
        for note in result.notes:
            click.echo(note)
