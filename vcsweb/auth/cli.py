"""`flask users ...`: manage users from the command line (the first admin, say)."""

import os
import secrets
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from ..descriptions import ValidationError
from ..models import ROLES
from . import accounts

users = AppGroup("users", help="Create and manage vcsweb users.")


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--name", "display_name", default="", help="Name shown on commits.")
@click.option("--email", default="", help="Email shown on commits.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of prompting.",
)
def create(username, role, display_name, email, password_stdin):
    """Create a user; the password is prompted for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(username, password, role, display_name, email)
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.username} ({user.role}).")


@users.command("set-password")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of prompting.",
)
def set_password(username, password_stdin):
    """Give a user a new password (prompted for, or read from stdin)."""
    user = _user(username)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.set_password(user, password)
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username} has a new password.")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def set_role(username, role):
    """Give a user another role."""
    accounts.set_role(_user(username), role)
    click.echo(f"{username} is now {role}.")


@users.command("disable")
@click.argument("username")
def disable(username):
    """Stop a user from signing in; their sessions and tokens stop working."""
    accounts.set_active(_user(username), False)
    click.echo(f"{username} is disabled.")


@users.command("enable")
@click.argument("username")
def enable(username):
    accounts.set_active(_user(username), True)
    click.echo(f"{username} is enabled.")


@users.command("list")
def list_users():
    """List users with their role, state and last sign-in."""
    for user in accounts.all_users():
        state = "active" if user.active else "disabled"
        last = (
            user.last_login_at.isoformat(timespec="minutes")
            if user.last_login_at
            else "never"
        )
        click.echo(f"{user.username}\t{user.role}\t{state}\tlast sign-in {last}")


def _user(username):
    user = accounts.find(username)
    if user is None:
        raise click.ClickException(f"No user named {username}.")
    return user


@users.command("bootstrap")
def bootstrap():
    """Create a first admin with a generated password if there are no users yet.

    The password is printed once and kept in the instance folder
    (initial-admin-password, readable by its owner only) until it is changed.
    """
    if accounts.count_users():
        click.echo("Users exist already; nothing to do.")
        return
    password = secrets.token_urlsafe(12)
    accounts.create_user("admin", password, "admin", "Administrator")
    path = os.path.join(current_app.instance_path, "initial-admin-password")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    click.echo(
        f"Created the first admin. Sign in as 'admin' with password {password}\n"
        f"(also saved in {path}). Add people under Users once signed in."
    )
