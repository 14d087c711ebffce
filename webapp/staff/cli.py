"""`flask --app webapp staff create|set-password EMAIL`: staff accounts from the command line.

Passwords are read from a hidden prompt, or from standard input when it is not a terminal
(`printf '%s\\n' "$PASSWORD" | flask --app webapp staff create ...`), never from arguments.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from . import services
from .auth import PasswordTooShort, find_staff
from .models import ROLES

staff_cli = AppGroup("staff", help="Create staff accounts and set their passwords.")


def read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="admin manages accounts; editor edits content.")
def create_command(email: str, role: str) -> None:
    """Create an account for EMAIL."""
    try:
        user = services.create_staff(None, email, role, read_password())
    except (services.InvalidInput, PasswordTooShort) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} account {user.email}.")


@staff_cli.command("set-password")
@click.argument("email")
def set_password_command(email: str) -> None:
    """Set a new password for EMAIL (signs out their sessions)."""
    user = find_staff(email)
    if user is None:
        raise click.ClickException(f"There is no account for {email}.")
    try:
        services.update_staff(None, user, password=read_password())
    except PasswordTooShort as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Password changed for {user.email}.")
