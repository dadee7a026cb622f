"""Signing in and out, sessions, API tokens, the users page and `flask users`."""

import hashlib
import re
from datetime import timedelta
from io import BytesIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from sqlalchemy import delete, select

import config
from tests import gitutil
from tests.conftest import HX, PASSWORD, csrf_token
from tests.htmlutil import parse
from vcsweb.auth import accounts
from vcsweb.extensions import db
from vcsweb.models import ApiToken, DescriptionRevision, FileMeta, LoginFailure, User

WRONG = "not the password at all"


@pytest.fixture
def repo(tmp_path):
    """A bare repository with a few files and two commits."""
    work = gitutil.make_repo(
        tmp_path / "work", {"a.txt": "a\n", "docs/b.md": "# B\n", "keep.txt": "k\n"}
    )
    gitutil.commit_files(work, {"a.txt": "a, again\n"}, "Change a")
    return gitutil.bare_clone(work, tmp_path / "served.git")


@pytest.fixture
def app(make_app, repo):
    return make_app(repo)


def attempt(client, username, password, **kwargs):
    """Send the login form as a browser would, after loading it."""
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password},
        **kwargs,
    )


def alert(response) -> str:
    found = parse(response.data).find("p", class_="error")
    return found.text() if found else ""


def signed_in(client) -> bool:
    """True if the client's session still opens a page that needs sign-in."""
    return client.get("/account").status_code == 200


def tip(repo) -> str:
    return gitutil.git(repo, "rev-parse", "main").strip()


def description_of(app, path):
    with app.app_context():
        meta = db.session.scalars(select(FileMeta).where(FileMeta.path == path)).first()
        return (meta.description, meta.updated_by) if meta else None


# The login page ---------------------------------------------------------------


def test_login_page_of_a_fresh_install_says_how_to_create_the_first_admin(app):
    with app.app_context():
        db.session.execute(delete(User))
        db.session.commit()

    page = app.test_client(user=None).get("/login")

    assert page.status_code == 200
    note = parse(page.data).one(role="note")
    assert "No users yet" in note.text()
    assert "users create admin --role admin" in note.text()


def test_login_page_with_users_has_no_first_run_hint(app):
    page = app.test_client(user=None).get("/login")

    assert page.status_code == 200
    assert parse(page.data).find(role="note") is None
    assert b"users create" not in page.data


def test_unknown_user_and_wrong_password_get_the_same_answer(app):
    visitor = app.test_client(user=None)

    unknown = attempt(visitor, "nobody", PASSWORD)
    wrong = attempt(visitor, "viewer", WRONG)

    assert unknown.status_code == wrong.status_code == 401
    assert alert(unknown) == alert(wrong) == "Wrong username or password."
    assert not signed_in(visitor)


def test_disabled_user_is_refused_with_the_same_message(app):
    with app.app_context():
        accounts.set_active(accounts.find("viewer"), False)
    visitor = app.test_client(user=None)

    refused = attempt(visitor, "viewer", PASSWORD)

    assert refused.status_code == 401
    assert alert(refused) == "Wrong username or password."
    assert not signed_in(visitor)


def test_login_form_without_its_csrf_token_is_400(app):
    visitor = app.test_client(user=None)
    visitor.get("/login")

    response = visitor.post("/login", data={"username": "viewer", "password": PASSWORD})

    assert response.status_code == 400
    assert not signed_in(visitor)


def test_correct_password_signs_in_and_records_the_time(app):
    visitor = app.test_client(user=None)

    response = attempt(visitor, "viewer", PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in(visitor)
    with app.app_context():
        assert accounts.find("viewer").last_login_at is not None


def test_sixth_failure_for_one_username_is_429_with_retry_after(app):
    visitor = app.test_client(user=None)
    for _ in range(5):
        assert attempt(visitor, "viewer", WRONG).status_code == 401

    blocked = attempt(visitor, "viewer", WRONG)

    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in alert(blocked)


def test_correct_password_is_refused_until_the_window_passes(app):
    visitor = app.test_client(user=None)
    for _ in range(5):
        attempt(visitor, "viewer", WRONG)

    blocked = attempt(visitor, "viewer", PASSWORD)

    assert blocked.status_code == 429
    assert not signed_in(visitor)
    with app.app_context():
        # Fifteen minutes and a bit go by.
        for failure in db.session.scalars(select(LoginFailure)):
            failure.at = failure.at - timedelta(minutes=16)
        db.session.commit()
    assert attempt(visitor, "viewer", PASSWORD).status_code == 302
    assert signed_in(visitor)


def test_other_users_are_not_blocked_by_one_users_failures(app):
    visitor = app.test_client(user=None)
    for _ in range(6):
        attempt(visitor, "viewer", WRONG)

    assert attempt(visitor, "editor", PASSWORD).status_code == 302


def test_username_limit_ignores_letter_case(app):
    visitor = app.test_client(user=None)
    for name in ("viewer", "Viewer", "VIEWER", "viewer", "vIewer"):
        attempt(visitor, name, WRONG)

    assert attempt(visitor, "viewer", PASSWORD).status_code == 429


def test_twenty_first_failure_from_one_address_is_429(app):
    visitor = app.test_client(user=None)
    here = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    for n in range(20):
        assert attempt(visitor, f"guess{n}", WRONG, **here).status_code == 401

    blocked = attempt(visitor, "guess-more", WRONG, **here)
    right = attempt(visitor, "editor", PASSWORD, **here)
    elsewhere = attempt(
        visitor, "editor", PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.8"}
    )

    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert right.status_code == 429
    assert elsewhere.status_code == 302


def test_success_clears_the_users_failures(app):
    visitor = app.test_client(user=None)
    for _ in range(4):
        attempt(visitor, "viewer", WRONG)
    assert attempt(visitor, "viewer", PASSWORD).status_code == 302
    visitor.post("/logout", data={"csrf_token": csrf_token(visitor, "/account")})

    again = [attempt(visitor, "viewer", WRONG).status_code for _ in range(5)]

    assert again == [401] * 5
    assert attempt(visitor, "viewer", WRONG).status_code == 429


def test_passwords_are_kept_as_salted_scrypt_hashes_by_default(make_app, repo):
    app = make_app(repo, VCSWEB_PASSWORD_METHOD=config.Config.VCSWEB_PASSWORD_METHOD)
    with app.app_context():
        accounts.create_user("sam", "a long enough password", "viewer")
        accounts.create_user("tia", "a long enough password", "viewer")
        hashes = [accounts.find(n).password_hash for n in ("sam", "tia")]

    assert all(h.startswith("scrypt:") for h in hashes)
    assert hashes[0] != hashes[1]
    assert not any("a long enough password" in h for h in hashes)
    visitor = app.test_client(user=None)
    assert attempt(visitor, "sam", "a long enough password").status_code == 302


# The session cookie --------------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    ]
    assert cookies, "no session cookie set"
    return cookies[-1]


def cookie_flags(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


def test_session_cookie_is_http_only_and_same_site_lax(app):
    visitor = app.test_client(user=None)

    cookie = session_cookie(attempt(visitor, "viewer", PASSWORD))

    assert "httponly" in cookie_flags(cookie)
    assert re.search(r";\s*SameSite=Lax", cookie)
    assert "secure" not in cookie_flags(cookie)


def test_session_cookie_is_secure_in_production(make_app, repo, monkeypatch):
    monkeypatch.setenv("VCSWEB_CONFIG", "production")
    app = make_app(repo)
    visitor = app.test_client(user=None)

    cookie = session_cookie(attempt(visitor, "viewer", PASSWORD))

    assert {"secure", "httponly"} <= cookie_flags(cookie)
    assert re.search(r";\s*SameSite=Lax", cookie)


# Signing out -----------------------------------------------------------------------


def test_logout_is_a_post_with_the_csrf_token(app):
    client = app.test_client(user="viewer")

    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert signed_in(client)
    done = client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})

    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == "/login"
    assert not signed_in(client)


def test_every_page_has_a_sign_out_form_with_the_token(app):
    page = parse(app.test_client(user="viewer").get("/").data)

    form = page.one("form", action="/logout")
    assert form.get("method") == "post"
    assert form.one(name="csrf_token").get("value")


# next= after signing in (C18) -----------------------------------------------------

BAD_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%09/evil.example",
]


@pytest.mark.parametrize("value", BAD_NEXT)
def test_next_leading_off_site_ends_at_home(app, value):
    visitor = app.test_client(user=None)
    # Each value is put into the link as the case gives it, so the app sees
    # what a browser would send for that link.
    form = visitor.get(f"/login?next={value}")
    echoed = parse(form.data).one(name="next").get("value")
    token = csrf_token(visitor, "/login")

    response = visitor.post(
        f"/login?next={value}",
        data={"csrf_token": token, "username": "viewer", "password": PASSWORD},
    )

    assert echoed == "/"
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("value", BAD_NEXT)
def test_next_in_the_form_itself_is_checked_too(app, value):
    visitor = app.test_client(user=None)
    token = csrf_token(visitor, "/login")
    fields = {"csrf_token": token, "username": "viewer", "password": PASSWORD}

    # A browser sends the field decoded, as it was typed into the link.
    response = visitor.post("/login", data={**fields, "next": unquote(value)})

    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("value", BAD_NEXT)
def test_signed_in_user_opening_login_with_bad_next_goes_home(app, value):
    client = app.test_client(user="viewer")

    response = client.get(f"/login?next={value}")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target", ["/files/docs/a.md?rev=abc#L3", "/blob/docs/b.md?rev=abc#L3"]
)
def test_local_next_is_kept_exactly(app, target):
    visitor = app.test_client(user=None)
    form = visitor.get("/login?next=" + quote(target, safe=""))
    echoed = parse(form.data).one(name="next").get("value")
    token = csrf_token(visitor, "/login")

    response = visitor.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "viewer",
            "password": PASSWORD,
            "next": echoed,
        },
    )

    assert echoed == target
    assert response.headers["Location"] == target


def test_page_that_needs_sign_in_sends_the_visitor_back_after_login(app):
    visitor = app.test_client(user=None)

    refused = visitor.get("/blob/docs/b.md?rev=main")
    back = parse_qs(urlsplit(refused.headers["Location"]).query)["next"][0]
    token = csrf_token(visitor, "/login")
    response = visitor.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "viewer",
            "password": PASSWORD,
            "next": back,
        },
    )

    assert refused.status_code == 302
    assert back == "/blob/docs/b.md?rev=main"
    assert response.headers["Location"] == back
    assert visitor.get(back).status_code == 200


# API tokens ------------------------------------------------------------------------


def make_token(client, name="deploy script"):
    page = client.post(
        "/account/tokens",
        data={"name": name, "csrf_token": csrf_token(client, "/account")},
    )
    assert page.status_code == 200
    shown = parse(page.data).find("pre", class_="token")
    assert shown is not None, "the new token is not shown"
    return shown.text()


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_new_token_is_shown_once_and_only_its_hash_is_kept(app):
    client = app.test_client(user="editor", api_token=False)

    secret = make_token(client)
    later = client.get("/account")

    assert secret.startswith("vcsweb_") and len(secret) > 40
    assert secret.encode() not in later.data
    assert b"deploy script" in later.data
    with app.app_context():
        token = db.session.scalars(
            select(ApiToken).where(ApiToken.name == "deploy script")
        ).one()
        stored = [getattr(token, c.key) for c in ApiToken.__table__.columns]
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(isinstance(v, str) and secret in v for v in stored)


def test_token_acts_with_its_users_role_on_the_api_and_pages(app):
    client = app.test_client(user="editor", api_token=False)
    secret = make_token(client)
    program = app.test_client(user=None)

    listed = program.get("/api/files", headers=bearer(secret))
    page = program.get("/blob/a.txt", headers=bearer(secret))
    saved = program.put(
        "/api/files/a.txt",
        json={"description": "Set by a script"},
        headers=bearer(secret),
    )

    assert listed.status_code == 200
    assert page.status_code == 200
    assert saved.status_code == 200
    assert description_of(app, "a.txt") == ("Set by a script", "editor")


def test_revoked_token_gets_401(app):
    client = app.test_client(user="editor", api_token=False)
    secret = make_token(client)
    with app.app_context():
        token_id = db.session.scalars(
            select(ApiToken.id).where(ApiToken.user_id == accounts.find("editor").id)
        ).one()
    program = app.test_client(user=None)
    assert program.get("/api/files", headers=bearer(secret)).status_code == 200

    revoked = client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account")},
    )
    refused = program.get("/api/files", headers=bearer(secret))

    assert revoked.status_code == 303
    assert refused.status_code == 401
    assert refused.get_json()["error"]
    assert "revoked" in parse(client.get("/account").data).one("tbody").text()


def test_nobody_revokes_another_users_token(app):
    owner = app.test_client(user="editor", api_token=False)
    secret = make_token(owner)
    with app.app_context():
        token_id = db.session.scalars(select(ApiToken.id)).one()
    other = app.test_client(user="viewer", api_token=False)

    answer = other.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(other, "/account")},
    )
    still = app.test_client(user=None).get("/api/files", headers=bearer(secret))

    assert answer.status_code == 303
    assert "does not exist" in other.get("/account").get_data(as_text=True)
    assert still.status_code == 200


def test_token_of_a_disabled_user_gets_401(app):
    program = app.test_client(user="editor")
    assert program.get("/api/files").status_code == 200
    with app.app_context():
        accounts.set_active(accounts.find("editor"), False)

    refused = program.get("/api/files")
    page = program.get("/blob/a.txt", headers=bearer(program.token))

    assert refused.status_code == 401
    assert page.status_code == 302


def test_unknown_token_gets_401_even_with_a_signed_in_session(app):
    client = app.test_client(user="admin", api_token=False)

    response = client.get("/api/files", headers=bearer("vcsweb_made-up"))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_viewers_token_gets_403_on_writes_and_changes_nothing(app, repo):
    program = app.test_client(user="viewer")
    before = tip(repo)

    described = program.put("/api/files/a.txt", json={"description": "No"})
    deleted = program.delete(f"/api/files/a.txt?base={before}")
    content = program.put(f"/api/content/new.txt?base={before}", data=b"x")
    edited = program.post(
        "/edit/a.txt",
        data={"text": "no\n", "base": before},
        headers=bearer(program.token),
    )

    assert [r.status_code for r in (described, deleted, content, edited)] == [403] * 4
    assert described.get_json()["error"].startswith("Your role (viewer)")
    assert tip(repo) == before
    assert description_of(app, "a.txt") is None


# The users page -------------------------------------------------------------------


def admin_post(client, url, **fields):
    return client.post(
        url, data={**fields, "csrf_token": csrf_token(client, "/admin/users")}
    )


def user_id(app, username) -> int:
    with app.app_context():
        return accounts.find(username).id


def row_of(page, username):
    for row in parse(page.data).one("tbody").find_all("tr"):
        if row.find("strong").text() == username:
            return row
    raise AssertionError(f"{username} is not listed")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "bad name!", "password": PASSWORD}, "Usernames are 1 to 80"),
        ({"username": "shorty", "password": "short"}, "at least 10 characters"),
        ({"username": "viewer", "password": PASSWORD}, "The username viewer is taken"),
        ({"username": "Viewer", "password": PASSWORD}, "The username viewer is taken"),
        ({"username": "odd", "password": PASSWORD, "role": "owner"}, "Roles are"),
    ],
)
def test_creating_a_user_with_errors_shows_them_and_keeps_the_form(
    app, fields, message
):
    client = app.test_client()
    with app.app_context():
        count = accounts.count_users()

    page = admin_post(
        client,
        "/admin/users",
        **{"role": "viewer", "display_name": "Keep Me", **fields},
    )

    assert page.status_code == 422
    assert message in alert(page)
    tree = parse(page.data)
    assert tree.one(id="new-username").get("value") == fields["username"]
    assert tree.one(id="new-display").get("value") == "Keep Me"
    with app.app_context():
        assert accounts.count_users() == count


def test_admin_creates_a_user_who_can_then_sign_in(app):
    client = app.test_client()

    created = admin_post(
        client,
        "/admin/users",
        username="dora",
        password="a good long password",
        role="editor",
        display_name="Dora D",
        email="dora@example.com",
    )
    listing = client.get("/admin/users")

    assert created.status_code == 303
    assert "Created dora (editor)." in listing.get_data(as_text=True)
    assert "editor" in row_of(listing, "dora").text()
    dora = app.test_client(user=None)
    assert attempt(dora, "dora", "a good long password").status_code == 302


def test_admin_changes_a_role_and_it_applies_at_once(app):
    viewer = app.test_client(user="viewer")
    assert viewer.get("/edit/a.txt").status_code == 403
    client = app.test_client()

    changed = admin_post(
        client, f"/admin/users/{user_id(app, 'viewer')}", role="editor"
    )

    assert changed.status_code == 303
    assert viewer.get("/edit/a.txt").status_code == 200
    with app.app_context():
        assert accounts.find("viewer").role == "editor"


def test_admin_disables_and_enables_a_user(app):
    viewer = app.test_client(user="viewer")
    client = app.test_client()
    target = f"/admin/users/{user_id(app, 'viewer')}"

    disabled = admin_post(client, target, active="0")

    assert disabled.status_code == 303
    assert "disabled" in row_of(client.get("/admin/users"), "viewer").text()
    assert not signed_in(viewer)
    assert attempt(app.test_client(user=None), "viewer", PASSWORD).status_code == 401

    enabled = admin_post(client, target, active="1")

    assert enabled.status_code == 303
    assert attempt(app.test_client(user=None), "viewer", PASSWORD).status_code == 302


def test_admin_cannot_disable_or_demote_themself(app):
    client = app.test_client()
    own = f"/admin/users/{user_id(app, 'admin')}"

    disabled = admin_post(client, own, active="0")
    demoted = admin_post(client, own, role="viewer")

    assert disabled.status_code == demoted.status_code == 409
    assert "cannot" in parse(disabled.data).text()
    with app.app_context():
        me = accounts.find("admin")
        assert me.active and me.role == "admin"
    row = row_of(client.get("/admin/users"), "admin")
    assert row.find("form") is None
    assert "(you)" in row.text()


def test_users_page_shows_last_sign_in(app):
    app.test_client(user="viewer")

    page = app.test_client().get("/admin/users")

    assert row_of(page, "viewer").find("time") is not None
    assert row_of(page, "editor").find("time") is None
    assert "never" in row_of(page, "editor").text()


# flask users ------------------------------------------------------------------------


def test_cli_creates_a_user_from_stdin(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "carol",
            "--role",
            "editor",
            "--name",
            "Carol C",
            "--email",
            "carol@example.com",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )

    assert result.exit_code == 0, result.output
    assert "Created carol (editor)." in result.output
    assert (
        attempt(
            app.test_client(user=None), "carol", "a long enough password"
        ).status_code
        == 302
    )
    with app.app_context():
        carol = accounts.find("carol")
        assert (carol.display_name, carol.email, carol.role) == (
            "Carol C",
            "carol@example.com",
            "editor",
        )


def test_cli_sets_a_new_password(app, runner):
    result = runner.invoke(
        args=["users", "set-password", "viewer", "--password-stdin"],
        input="a brand new password\n",
    )

    assert result.exit_code == 0, result.output
    visitor = app.test_client(user=None)
    assert attempt(visitor, "viewer", PASSWORD).status_code == 401
    assert attempt(visitor, "viewer", "a brand new password").status_code == 302
    short = runner.invoke(
        args=["users", "set-password", "viewer", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0
    assert "at least 10 characters" in short.output


def test_account_page_names_the_author_commits_will_carry(app):
    client = app.test_client(user="viewer")
    page = client.get("/account")

    assert "Vic Viewer &lt;viewer@example.com&gt;" in page.get_data(as_text=True)


def test_cli_create_prompts_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=["users", "create", "dave"], input="prompted password\nprompted password\n"
    )

    assert result.exit_code == 0, result.output
    assert (
        attempt(app.test_client(user=None), "dave", "prompted password").status_code
        == 302
    )


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "create", "erin", "--password-stdin"], "short\n", "at least 10"),
        (["users", "create", "viewer", "--password-stdin"], PASSWORD + "\n", "taken"),
        (["users", "set-role", "nobody", "admin"], None, "No user named nobody"),
        (["users", "disable", "nobody"], None, "No user named nobody"),
    ],
)
def test_cli_errors_are_one_line_and_exit_non_zero(runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_set_role_disable_enable_and_list(app, runner):
    app.test_client(user="viewer")

    promoted = runner.invoke(args=["users", "set-role", "viewer", "admin"])
    disabled = runner.invoke(args=["users", "disable", "editor"])
    listed = runner.invoke(args=["users", "list"])

    assert promoted.exit_code == disabled.exit_code == listed.exit_code == 0
    rows = {
        line.split("\t")[0]: line.split("\t")[1:] for line in listed.output.splitlines()
    }
    assert rows["viewer"][:2] == ["admin", "active"]
    assert rows["viewer"][2] != "last sign-in never"
    assert rows["editor"][:2] == ["editor", "disabled"]
    assert rows["admin"][:2] == ["admin", "active"]
    assert attempt(app.test_client(user=None), "editor", PASSWORD).status_code == 401

    enabled = runner.invoke(args=["users", "enable", "editor"])

    assert enabled.exit_code == 0
    assert attempt(app.test_client(user=None), "editor", PASSWORD).status_code == 302


# Who commits (C38) -----------------------------------------------------------------

RAW_NAME = "Zoë <x>\nNeu"


def last_commit(repo, path) -> dict[str, str]:
    fields = (
        gitutil.git(repo, "log", "-1", "--format=%an%x00%ae%x00%cn%x00%ce", "--", path)
        .strip("\n")
        .split("\0")
    )
    return dict(
        zip(("author", "email", "committer", "committer_email"), fields, strict=True)
    )


@pytest.fixture
def zoe_app(make_app, repo_path, monkeypatch):
    """An app with no git identity of its own, and Zoë made on the users page."""
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    app = make_app(
        repo_path,
        VCSWEB_COMMITTER_NAME="vcsweb service",
        VCSWEB_COMMITTER_EMAIL="service@vcsweb.example",
    )
    created = admin_post(
        app.test_client(),
        "/admin/users",
        username="zoe",
        password=PASSWORD,
        role="editor",
        display_name=RAW_NAME,
        email="zoe@example.com",
    )
    assert created.status_code == 303
    return app


def upload_as(client, folder, name, data=b"hello\n"):
    return client.post(
        f"/upload/{folder}",
        data={
            "csrf_token": csrf_token(client, "/" if not folder else f"/tree/{folder}"),
            "files": (BytesIO(data), name),
            "message": f"Add {name}",
        },
    )


def check_identity(found):
    assert found["author"].split() == ["Zoë", "x", "Neu"]
    assert not set("<>\n") & set(found["author"])
    assert found["email"] == "zoe@example.com"
    assert (found["committer"], found["committer_email"]) == (
        "vcsweb service",
        "service@vcsweb.example",
    )


def test_commit_through_the_pages_is_authored_by_the_signed_in_user(zoe_app, repo_path):
    zoe = zoe_app.test_client(user="zoe")

    response = upload_as(zoe, "", "hello.txt")

    assert response.status_code == 303
    check_identity(last_commit(repo_path, "hello.txt"))
    history = parse(zoe.get("/history/hello.txt").data)
    assert "Zoë" in history.one("span", class_="author").text()


def test_commit_through_a_token_is_authored_by_the_tokens_user(zoe_app, repo_path):
    zoe = zoe_app.test_client(user="zoe")
    upload_as(zoe, "", "first.txt")

    response = zoe.put(f"/api/content/by-api.txt?base={tip(repo_path)}", data=b"api\n")

    assert response.status_code == 201
    assert response.get_json()["commit"]["author"] == "Zoë x Neu"
    check_identity(last_commit(repo_path, "by-api.txt"))


def test_name_git_cannot_hold_is_cleaned_when_committing(zoe_app, repo_path):
    """A display name stored with brackets and a line break still commits."""
    with zoe_app.app_context():
        accounts.find("zoe").display_name = RAW_NAME
        db.session.commit()
    zoe = zoe_app.test_client(user="zoe")

    response = upload_as(zoe, "", "raw-name.txt")

    assert response.status_code == 303
    check_identity(last_commit(repo_path, "raw-name.txt"))


def test_description_records_the_username(zoe_app):
    zoe = zoe_app.test_client(user="zoe")
    upload_as(zoe, "", "hello.txt")

    saved = zoe.put(
        "/meta/hello.txt",
        data={"description": "Greeting", "version": "0"},
        headers={**HX, "X-CSRFToken": csrf_token(zoe, "/blob/hello.txt")},
    )

    assert saved.status_code == 200
    assert description_of(zoe_app, "hello.txt") == ("Greeting", "zoe")
    with zoe_app.app_context():
        assert db.session.scalars(select(DescriptionRevision.saved_by)).all() == ["zoe"]


# CSRF (C19) ------------------------------------------------------------------------


def test_changes_from_a_session_without_the_token_are_400_and_change_nothing(app, repo):
    client = app.test_client(user="editor", api_token=False)
    before = tip(repo)

    answers = {
        "htmx save": client.put(
            "/meta/a.txt", data={"description": "No", "version": "0"}, headers=HX
        ),
        "form save": client.post(
            "/meta/a.txt", data={"description": "No", "version": "0"}
        ),
        "edit": client.post("/edit/a.txt", data={"text": "no\n", "base": before}),
        "api description": client.put("/api/files/a.txt", json={"description": "No"}),
        "api delete": client.delete(f"/api/files/a.txt?base={before}"),
        "api rename": client.post(
            "/api/rename", json={"from": "a.txt", "to": "z.txt", "base": before}
        ),
        "api content": client.put(f"/api/content/new.txt?base={before}", data=b"x"),
    }

    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 400)
    assert "CSRF" in answers["htmx save"].get_data(as_text=True)
    assert "CSRF" in answers["api delete"].get_json()["error"]
    assert b"<html" not in answers["htmx save"].data
    assert tip(repo) == before
    assert description_of(app, "a.txt") is None


def test_a_wrong_token_is_400_too(app, repo):
    client = app.test_client(user="editor", api_token=False)
    other = app.test_client(user="editor", api_token=False)

    response = client.put(
        "/meta/a.txt",
        data={"description": "No", "version": "0"},
        headers={**HX, "X-CSRFToken": csrf_token(other, "/account")},
    )

    assert response.status_code == 400
    assert description_of(app, "a.txt") is None


def test_session_using_the_api_with_the_pages_token_may_write(app):
    client = app.test_client(user="editor", api_token=False)
    token = (
        parse(client.get("/blob/a.txt").data)
        .one("meta", name="csrf-token")
        .get("content")
    )

    response = client.put(
        "/api/files/a.txt",
        json={"description": "From the page"},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    assert description_of(app, "a.txt") == ("From the page", "editor")


def test_htmx_saves_carry_the_token_from_the_meta_tag(app):
    client = app.test_client(user="editor")
    page = parse(client.get("/blob/a.txt").data)
    meta = page.one("meta", name="csrf-token")
    scripts = [s.get("src") for s in page.find_all("script")]
    with client.get("/static/vcsweb.js") as served:
        script = served.get_data(as_text=True)

    assert "/static/vcsweb.js" in scripts
    assert all(s.get("src") for s in page.find_all("script")), "inline script"
    listener = re.search(
        r'addEventListener\("htmx:configRequest".*?\}\);', script, re.DOTALL
    )
    assert listener, "vcsweb.js does not add headers to htmx requests"
    assert 'headers["X-CSRFToken"]' in listener.group(0)
    assert 'meta[name="csrf-token"]' in script
    saved = client.put(
        "/meta/a.txt",
        data={"description": "Saved like htmx does", "version": "0"},
        headers={**HX, "X-CSRFToken": meta.get("content")},
    )
    assert saved.status_code == 200
    assert description_of(app, "a.txt") == ("Saved like htmx does", "editor")


# An expired session during htmx (C33) ----------------------------------------------


def expire(client):
    client.delete_cookie("session")


def test_htmx_folder_click_after_the_session_ended_redirects_to_login(app):
    client = app.test_client(user="editor")
    client.get("/blob/docs/b.md")
    expire(client)

    response = client.get(
        "/tree/docs",
        headers={**HX, "HX-Current-URL": "http://localhost/blob/docs/b.md?rev=main"},
    )

    assert response.status_code == 401
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/blob/docs/b.md?rev=main"]
    assert b"<form" not in response.data
    assert "Location" not in response.headers


def test_htmx_save_after_the_session_ended_redirects_to_login_and_saves_nothing(app):
    client = app.test_client(user="editor")
    token = csrf_token(client, "/blob/a.txt")
    expire(client)

    response = client.put(
        "/meta/a.txt",
        data={"description": "Typed before expiry", "version": "0"},
        headers={
            **HX,
            "X-CSRFToken": token,
            "HX-Current-URL": "http://localhost/blob/a.txt",
        },
    )

    assert response.status_code == 401
    target = urlsplit(response.headers["HX-Redirect"])
    assert (target.path, parse_qs(target.query)["next"]) == ("/login", ["/blob/a.txt"])
    assert description_of(app, "a.txt") is None


def test_htmx_redirect_never_leads_off_site(app):
    response = app.test_client(user=None).get(
        "/tree/docs",
        headers={**HX, "HX-Current-URL": "https://evil.example/blob/a.txt"},
    )

    target = urlsplit(response.headers["HX-Redirect"])
    assert parse_qs(target.query).get("next", ["/"]) == ["/"]


def test_api_call_without_a_session_is_401_json_without_redirect(app):
    response = app.test_client(user=None).put(
        "/api/files/a.txt",
        json={"description": "No"},
        headers={"Accept": "application/json", **HX},
    )

    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"]
    assert "Location" not in response.headers
    assert "HX-Redirect" not in response.headers
    assert description_of(app, "a.txt") is None


def test_plain_form_after_the_session_ended_goes_to_login(app, repo):
    client = app.test_client(user="editor")
    token = csrf_token(client, "/edit/a.txt")
    before = tip(repo)
    expire(client)

    response = client.post(
        "/edit/a.txt", data={"text": "x\n", "base": before, "csrf_token": token}
    )

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert tip(repo) == before


# Response headers --------------------------------------------------------------------


def policy_of(response) -> dict[str, str]:
    directives = response.headers["Content-Security-Policy"].split(";")
    return {d.split()[0]: d.strip() for d in directives if d.strip()}


@pytest.mark.parametrize(
    ("user", "url"),
    [
        (None, "/login"),
        (None, "/api/files"),
        ("viewer", "/"),
        ("viewer", "/edit/a.txt"),
        ("viewer", "/api/files"),
        ("viewer", "/no/such/page"),
    ],
)
def test_every_answer_forbids_inline_script_and_framing(app, user, url):
    response = app.test_client(user=user).get(url)

    policy = policy_of(response)
    assert policy["script-src"] == "script-src 'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer"}


def test_pages_have_no_inline_script(app):
    client = app.test_client()
    for url in ("/", "/blob/a.txt", "/account", "/admin/users", "/edit/a.txt"):
        page = parse(client.get(url).data)
        for script in page.find_all("script"):
            assert script.get("src"), f"inline script on {url}"
            assert not script.raw_text().strip()
        for node in page.iter():
            handlers = [a for a in node.attrs if a.startswith("on")]
            assert not handlers, f"{url}: {node} has {handlers}"


@pytest.mark.parametrize("name", ["a.txt", "docs/b.md"])
def test_raw_files_are_sandboxed(app, name):
    response = app.test_client(user="viewer").get(f"/raw/{name}")

    assert response.status_code == 200
    policy = policy_of(response)
    assert "sandbox" in policy
    assert policy["default-src"] == "default-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
