"""`relaydesk users` and `relaydesk tokens`: operator accounts and API tokens."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from relaydesk.cli_support import database_for_cli, fail, settings_for_cli, table, when


@click.group()
def users() -> None:
    """Operator accounts."""


@users.command("create")
@click.option("--email", required=True, help="Login and identity of the person.")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["agent", "supervisor", "admin"]),
    help="What the person may do.",
)
@click.option(
    "--password",
    envvar="RELAYDESK_NEW_USER_PASSWORD",
    default=None,
    help="Console password (at least 12 characters); or set RELAYDESK_NEW_USER_PASSWORD.",
)
@click.option("--skills", default="", help="Comma-separated skills, matched to queues' skills.")
@click.option("--languages", default="", help="Comma-separated language codes, e.g. en,es.")
@click.option(
    "--capacity",
    default=5,
    show_default=True,
    type=click.IntRange(0, 100),
    help="Conversations the person can hold at once.",
)
def users_create(
    email: str,
    name: str,
    role: str,
    password: str | None,
    skills: str,
    languages: str,
    capacity: int,
) -> None:
    """Create an operator account."""
    from relaydesk.services.accounts import AccountError, create_user

    database = database_for_cli()
    try:
        with database.write() as conn:
            user = create_user(
                conn,
                email=email,
                name=name,
                role=role,
                password=password,
                now=datetime.now(UTC),
                skills=skills.split(","),
                languages=languages.split(","),
                capacity=capacity,
            )
    except AccountError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@users.command("list")
def users_list() -> None:
    """List operator accounts: role, skills, languages, capacity, presence, status."""
    from relaydesk.services.accounts import list_users

    database = database_for_cli()
    try:
        with database.read() as conn:
            found = list_users(conn)
    finally:
        database.dispose()
    if not found:
        click.echo("no users yet; create one with `relaydesk users create`")
        return
    header = (
        "ID",
        "EMAIL",
        "NAME",
        "ROLE",
        "SKILLS",
        "LANGUAGES",
        "CAPACITY",
        "PRESENCE",
        "STATUS",
    )
    rows = [
        (
            str(u.id),
            u.email,
            u.name,
            u.role,
            ",".join(u.skills) or "-",
            ",".join(u.languages) or "-",
            str(u.capacity),
            u.presence,
            "active" if u.active else "inactive",
        )
        for u in found
    ]
    table(header, rows)


@users.command("update")
@click.argument("email")
@click.option("--name", default=None, help="New display name.")
@click.option(
    "--role", default=None, type=click.Choice(["agent", "supervisor", "admin"]), help="New role."
)
@click.option("--skills", default=None, help="Comma-separated skills (replaces the list).")
@click.option("--languages", default=None, help="Comma-separated language codes (replaces).")
@click.option(
    "--capacity", default=None, type=click.IntRange(0, 100), help="Conversations held at once."
)
@click.option(
    "--active/--inactive",
    default=None,
    help="Reactivate, or deactivate (the person is taken offline and cannot log in).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a new console password (at least 12 characters) from standard input.",
)
def users_update(
    email: str,
    name: str | None,
    role: str | None,
    skills: str | None,
    languages: str | None,
    capacity: int | None,
    active: bool | None,
    password_stdin: bool,
) -> None:
    """Change an operator account; options left out stay as they are."""
    from relaydesk.services.accounts import AccountError, find_user, update_user

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin read an empty line; pipe the password in")
    if all(v is None for v in (name, role, skills, languages, capacity, active, password)):
        fail("nothing to change; give at least one option (see `relaydesk users update --help`)")
    database = database_for_cli()
    try:
        with database.write() as conn:
            user = update_user(
                conn,
                find_user(conn, email).id,
                name=name,
                role=role,
                skills=None if skills is None else skills.split(","),
                languages=None if languages is None else languages.split(","),
                capacity=capacity,
                active=active,
                password=password,
                now=datetime.now(UTC),
            )
    except AccountError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    state = "active" if user.active else "inactive"
    click.echo(
        f"updated {user.role} {user.email} (id {user.id}): {state}, capacity {user.capacity}, "
        f"skills {','.join(user.skills) or '-'}, languages {','.join(user.languages) or '-'}"
    )


@click.group()
def tokens() -> None:
    """API bearer tokens."""


@tokens.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--label", default="", help="What the token is for.")
@click.option(
    "--expires-in",
    default=None,
    metavar="DURATION",
    help="Refuse the token after this long: a number and m, h, d or w, e.g. 30d "
    "[default: until revoked].",
)
def tokens_create(email: str, label: str, expires_in: str | None) -> None:
    """Create a bearer token and print it (it is shown once; only its hash is stored)."""
    from relaydesk.services.accounts import AccountError
    from relaydesk.services.tokens import issue, parse_lifetime

    try:
        lifetime = None if expires_in is None else parse_lifetime(expires_in)
    except AccountError as exc:
        fail(f"--expires-in: {exc}")
    database = database_for_cli()
    key = settings_for_cli().secret_key.get_secret_value()
    try:
        with database.write() as conn:
            token, info = issue(
                conn, email=email, label=label, now=datetime.now(UTC), key=key, lifetime=lifetime
            )
    except AccountError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    click.echo(token)
    expiry = f"expires {when(info.expires_at)}" if info.expires_at else "never expires"
    click.echo(f"token {info.id} for {info.email}; {expiry}", err=True)


@tokens.command("list")
@click.option("--email", default=None, help="Only this user's tokens.")
def tokens_list(email: str | None) -> None:
    """List tokens (never the tokens themselves): id, user, label, use, expiry, status."""
    from relaydesk.services.accounts import AccountError, find_user
    from relaydesk.services.tokens import list_tokens

    database = database_for_cli()
    try:
        with database.read() as conn:
            user_id = None if email is None else find_user(conn, email).id
            found = list_tokens(conn, user_id=user_id)
    except AccountError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if not found:
        click.echo("no tokens yet; create one with `relaydesk tokens create`")
        return
    now = datetime.now(UTC)
    header = ("ID", "EMAIL", "LABEL", "CREATED", "LAST USED", "EXPIRES", "STATUS")
    rows = [
        (
            str(t.id),
            t.email,
            t.label or "-",
            when(t.created_at),
            when(t.last_used_at),
            when(t.expires_at),
            t.state(now),
        )
        for t in found
    ]
    table(header, rows)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=click.IntRange(1, 2**63 - 1))
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once (see `relaydesk tokens list` for the ids)."""
    from relaydesk.services.accounts import AccountError
    from relaydesk.services.tokens import revoke

    database = database_for_cli()
    try:
        with database.write() as conn:
            info, revoked = revoke(conn, token_id, datetime.now(UTC))
    except AccountError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if revoked:
        click.echo(f"revoked token {info.id} of {info.email}")
    else:
        click.echo(f"token {info.id} of {info.email} was already revoked {when(info.revoked_at)}")
