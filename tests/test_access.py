"""Who may call what: every route of the app against every kind of caller.

The table below names, for each rule in the URL map and each of its methods,
the access it needs and a request that does its job. A rule added to the app
without a row here fails the test, so no route ships unchecked. A refused
request must answer in the form its client understands (a redirect to the
login page, 401 JSON, or an htmx redirect) and must leave Git and the
database exactly as they were.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from tests import gitutil
from tests.conftest import PASSWORD, csrf_token
from vcsweb.auth import accounts
from vcsweb.extensions import db
from vcsweb.models import ApiToken, DescriptionRevision, FileMeta, User

IGNORED_METHODS = {"HEAD", "OPTIONS"}
ALLOWED_ROLES = {
    "read": {"viewer", "editor", "admin"},
    "write": {"editor", "admin"},
    "admin": {"admin"},
}
PAGE = "http://localhost/blob/a.txt"


@dataclass
class World:
    """The app under test, its repository and the ids requests refer to."""

    app: Flask
    repo: Path
    first: str
    spare_id: int = 0
    revocable: dict[str, int] = field(default_factory=dict)

    def tip(self) -> str:
        return gitutil.git(self.repo, "rev-parse", "main").strip()

    def version(self, path: str) -> int:
        with self.app.app_context():
            meta = db.session.scalars(
                select(FileMeta).where(FileMeta.path == path)
            ).first()
            return meta.version if meta else 0

    def earliest_revision(self, path: str) -> int:
        with self.app.app_context():
            return db.session.scalars(
                select(DescriptionRevision.id)
                .join(FileMeta, FileMeta.id == DescriptionRevision.file_meta_id)
                .where(FileMeta.path == path)
                .order_by(DescriptionRevision.id)
            ).first()

    def snapshot(self):
        """Everything a refused request must leave alone."""
        refs = gitutil.git(
            self.repo, "for-each-ref", "--format=%(refname) %(objectname)"
        )
        with self.app.app_context():
            metas = [
                (m.path, m.description, m.version, m.updated_by)
                for m in db.session.scalars(select(FileMeta).order_by(FileMeta.path))
            ]
            revisions = [
                (r.file_meta_id, r.description, r.version, r.saved_by)
                for r in db.session.scalars(
                    select(DescriptionRevision).order_by(DescriptionRevision.id)
                )
            ]
            users = [
                (u.username, u.display_name, u.email, u.role, u.active, u.password_hash)
                for u in db.session.scalars(select(User).order_by(User.username))
            ]
            tokens = [
                (t.id, t.user_id, t.name, t.revoked_at)
                for t in db.session.scalars(select(ApiToken).order_by(ApiToken.id))
            ]
        return refs, metas, revisions, users, tokens


@dataclass
class Req:
    """One request, before the caller adds its credentials."""

    method: str
    url: str
    form: dict | None = None
    json: dict | None = None
    body: bytes | None = None
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    level: str | None  # None (anyone), 'signed-in', 'read', 'write' or 'admin'
    build: Callable[[World, str], Req]  # (world, caller name) -> request
    ok: tuple[int, ...]  # what the route answers when it did its job


def get(url: str) -> Callable[[World, str], Req]:
    return lambda w, who: Req("GET", url)


def upload(folder: str) -> Callable[[World, str], Req]:
    def build(w, who):
        files = {"files": (io.BytesIO(b"uploaded\n"), f"up-{folder or 'root'}.txt")}
        return Req("POST", f"/upload/{folder}", form={**files, "base": w.tip()})

    return build


def create(folder: str) -> Callable[[World, str], Req]:
    def build(w, who):
        form = {"name": f"new-{folder or 'root'}.txt", "text": "new\n", "base": w.tip()}
        return Req("POST", f"/new/{folder}", form=form)

    return build


def meta_save(method: str, text: str) -> Callable[[World, str], Req]:
    """htmx saves in place with PUT; without JavaScript the form POSTs."""

    def build(w, who):
        form = {"description": text, "version": str(w.version("a.txt"))}
        headers = (
            {"HX-Request": "true", "HX-Current-URL": PAGE} if method == "PUT" else {}
        )
        return Req(method, "/meta/a.txt", form=form, headers=headers)

    return build


# Reads come first and the writes each change a path of their own, so every
# request of one caller finds what it needs; signing out and in come last.
ROUTES: dict[tuple[str, str], Route] = {
    ("/static/<path:filename>", "GET"): Route(None, get("/static/vcsweb.css"), (200,)),
    ("/healthz", "GET"): Route(None, get("/healthz"), (200,)),
    ("/assets/highlight.css", "GET"): Route(None, get("/assets/highlight.css"), (200,)),
    ("/login", "GET"): Route(None, get("/login"), (200, 302)),
    ("/", "GET"): Route("read", get("/"), (200,)),
    ("/tree/", "GET"): Route("read", get("/tree/"), (302,)),
    ("/tree/<repopath:path>", "GET"): Route("read", get("/tree/docs"), (200,)),
    ("/blob/<repopath:path>", "GET"): Route("read", get("/blob/a.txt"), (200,)),
    ("/raw/<repopath:path>", "GET"): Route("read", get("/raw/a.txt"), (200,)),
    ("/history/", "GET"): Route("read", get("/history/"), (200,)),
    ("/history/<repopath:path>", "GET"): Route("read", get("/history/a.txt"), (200,)),
    ("/diff/", "GET"): Route(
        "read", lambda w, who: Req("GET", f"/diff/?from={w.first}"), (200,)
    ),
    ("/diff/<repopath:path>", "GET"): Route(
        "read",
        lambda w, who: Req("GET", f"/diff/restore-me.txt?from={w.first}"),
        (200,),
    ),
    ("/commits", "GET"): Route("read", get("/commits"), (200,)),
    ("/commit/<rev>", "GET"): Route(
        "read", lambda w, who: Req("GET", f"/commit/{w.first}"), (200,)
    ),
    ("/deleted/", "GET"): Route("read", get("/deleted/"), (200,)),
    ("/deleted/<repopath:path>", "GET"): Route("read", get("/deleted/docs"), (200,)),
    ("/meta/<repopath:path>", "GET"): Route("read", get("/meta/a.txt"), (302,)),
    ("/api/files", "GET"): Route("read", get("/api/files"), (200,)),
    ("/api/files/<repopath:path>", "GET"): Route(
        "read", get("/api/files/a.txt"), (200,)
    ),
    ("/api/content/<repopath:path>", "GET"): Route(
        "read", get("/api/content/a.txt"), (200,)
    ),
    ("/api/history/", "GET"): Route("read", get("/api/history/"), (200,)),
    ("/api/history/<repopath:path>", "GET"): Route(
        "read", get("/api/history/a.txt"), (200,)
    ),
    ("/api/diff/", "GET"): Route(
        "read", lambda w, who: Req("GET", f"/api/diff/?from={w.first}"), (200,)
    ),
    ("/api/diff/<repopath:path>", "GET"): Route(
        "read", lambda w, who: Req("GET", f"/api/diff/a.txt?from={w.first}"), (200,)
    ),
    ("/api/commits", "GET"): Route("read", get("/api/commits"), (200,)),
    ("/api/commits/<rev>", "GET"): Route(
        "read", lambda w, who: Req("GET", f"/api/commits/{w.first}"), (200,)
    ),
    ("/search", "GET"): Route("read", get("/search?q=docs"), (200,)),
    ("/api/search", "GET"): Route("read", get("/api/search?q=docs"), (200,)),
    # Event streams; in this app each one ends after its first events.
    ("/api/events", "GET"): Route("read", get("/api/events"), (200,)),
    ("/api/events/<repopath:path>", "GET"): Route(
        "read", get("/api/events/docs?since=0"), (200,)
    ),
    # Pages whose only use is to make a change.
    ("/edit/<repopath:path>", "GET"): Route("write", get("/edit/edit-me.txt"), (200,)),
    ("/new/", "GET"): Route("write", get("/new/"), (200,)),
    ("/new/<repopath:path>", "GET"): Route("write", get("/new/docs"), (200,)),
    ("/rename/<repopath:path>", "GET"): Route(
        "write", get("/rename/rename-me.txt"), (200,)
    ),
    ("/delete/<repopath:path>", "GET"): Route(
        "write", get("/delete/delete-me.txt"), (200,)
    ),
    ("/restore/<repopath:path>", "GET"): Route(
        "write",
        lambda w, who: Req("GET", f"/restore/restore-me.txt?rev={w.first}"),
        (200,),
    ),
    ("/meta-edit/<repopath:path>", "GET"): Route(
        "write", get("/meta-edit/a.txt"), (200,)
    ),
    # Changes.
    ("/upload/", "POST"): Route("write", upload(""), (303,)),
    ("/upload/<repopath:path>", "POST"): Route("write", upload("docs"), (303,)),
    ("/new/", "POST"): Route("write", create(""), (303,)),
    ("/new/<repopath:path>", "POST"): Route("write", create("docs"), (303,)),
    ("/edit/<repopath:path>", "POST"): Route(
        "write",
        lambda w, who: Req(
            "POST", "/edit/edit-me.txt", form={"text": "edited\n", "base": w.tip()}
        ),
        (303,),
    ),
    ("/rename/<repopath:path>", "POST"): Route(
        "write",
        lambda w, who: Req(
            "POST",
            "/rename/rename-me.txt",
            form={"target": "renamed.txt", "base": w.tip()},
        ),
        (303,),
    ),
    ("/delete/<repopath:path>", "POST"): Route(
        "write",
        lambda w, who: Req("POST", "/delete/delete-me.txt", form={"base": w.tip()}),
        (303,),
    ),
    ("/restore/<repopath:path>", "POST"): Route(
        "write",
        lambda w, who: Req(
            "POST",
            "/restore/restore-me.txt",
            form={"rev": w.first, "base": w.tip()},
        ),
        (303,),
    ),
    ("/meta/<repopath:path>", "PUT"): Route(
        "write", meta_save("PUT", "Saved in place"), (200,)
    ),
    ("/meta/<repopath:path>", "POST"): Route(
        "write", meta_save("POST", "Saved by a form"), (303,)
    ),
    ("/meta-restore/<repopath:path>", "POST"): Route(
        "write",
        lambda w, who: Req(
            "POST",
            "/meta-restore/a.txt",
            form={
                "revision": str(w.earliest_revision("a.txt")),
                "version": str(w.version("a.txt")),
            },
        ),
        (303,),
    ),
    ("/api/files/<repopath:path>", "PUT"): Route(
        "write",
        lambda w, who: Req(
            "PUT", "/api/files/docs/b.md", json={"description": "From a program"}
        ),
        (200,),
    ),
    ("/api/files/<repopath:path>", "DELETE"): Route(
        "write",
        lambda w, who: Req("DELETE", f"/api/files/api-delete-me.txt?base={w.tip()}"),
        (200,),
    ),
    ("/api/content/<repopath:path>", "PUT"): Route(
        "write",
        lambda w, who: Req(
            "PUT", f"/api/content/api-new.txt?base={w.tip()}", body=b"x"
        ),
        (201,),
    ),
    ("/api/rename", "POST"): Route(
        "write",
        lambda w, who: Req(
            "POST",
            "/api/rename",
            json={
                "from": "api-rename-me.txt",
                "to": "api-renamed.txt",
                "base": w.tip(),
            },
        ),
        (200,),
    ),
    ("/api/restore", "POST"): Route(
        "write",
        lambda w, who: Req(
            "POST",
            "/api/restore",
            json={"path": "api-restore-me.txt", "rev": w.first, "base": w.tip()},
        ),
        (200,),
    ),
    # Users.
    ("/admin/users", "GET"): Route("admin", get("/admin/users"), (200,)),
    ("/admin/users", "POST"): Route(
        "admin",
        lambda w, who: Req(
            "POST",
            "/admin/users",
            form={"username": f"new-{who}", "password": PASSWORD, "role": "viewer"},
        ),
        (303,),
    ),
    ("/admin/users/<int:user_id>", "POST"): Route(
        "admin",
        lambda w, who: Req(
            "POST", f"/admin/users/{w.spare_id}", form={"role": "editor"}
        ),
        (303,),
    ),
    # One's own account.
    ("/account", "GET"): Route("signed-in", get("/account"), (200,)),
    ("/account/tokens", "POST"): Route(
        "signed-in",
        lambda w, who: Req("POST", "/account/tokens", form={"name": "made in a test"}),
        (200,),
    ),
    ("/account/tokens/<int:token_id>/revoke", "POST"): Route(
        "signed-in",
        lambda w, who: Req(
            "POST", f"/account/tokens/{w.revocable.get(who, 1)}/revoke", form={}
        ),
        (303,),
    ),
    ("/logout", "POST"): Route(
        "signed-in", lambda w, who: Req("POST", "/logout", form={}), (302,)
    ),
    ("/login", "POST"): Route(
        None,
        lambda w, who: Req(
            "POST", "/login", form={"username": "editor", "password": PASSWORD}
        ),
        (302,),
    ),
}


@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None = None  # the role the app should judge requests by
    session_of: str | None = None  # the user whose session the client carries
    token_of: str | None = None  # the user whose API token every request sends
    public: bool = False  # VCSWEB_PUBLIC_READ on
    htmx: bool = False  # every page request comes from htmx
    disabled: bool = False  # the session's user is disabled after signing in


CALLERS = [
    Caller("visitor"),
    Caller("visitor-htmx", htmx=True),
    Caller("public-visitor", public=True),
    Caller("viewer", "viewer", session_of="viewer"),
    Caller("editor", "editor", session_of="editor"),
    Caller("admin", "admin", session_of="admin"),
    Caller("disabled", None, session_of="former", disabled=True),
    Caller("viewer-token", "viewer", token_of="viewer"),
    Caller("editor-token", "editor", token_of="editor"),
    Caller("admin-token", "admin", token_of="admin"),
]


def rule_keys(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - IGNORED_METHODS
    }


def expected(level: str | None, caller: Caller) -> str | int:
    """'allow', 401 or 403."""
    if level is None:
        return "allow"
    if caller.role is None:
        return "allow" if level == "read" and caller.public else 401
    if level == "signed-in" or caller.role in ALLOWED_ROLES[level]:
        return "allow"
    return 403


@pytest.fixture
def world(make_app, tmp_path):
    """Build the repository every caller's requests need, then the app over it."""

    def build(caller: Caller) -> World:
        work = tmp_path / "work"
        gitutil.make_repo(
            work,
            {
                "a.txt": "a\n",
                "docs/b.md": "# B\n",
                "edit-me.txt": "edit me\n",
                "rename-me.txt": "rename me\n",
                "delete-me.txt": "delete me\n",
                "restore-me.txt": "first\n",
                "api-delete-me.txt": "delete me\n",
                "api-rename-me.txt": "rename me\n",
                "api-restore-me.txt": "first\n",
                "docs/gone.txt": "gone\n",
            },
        )
        first = gitutil.git(work, "rev-parse", "HEAD").strip()
        gitutil.commit_files(
            work,
            {
                "restore-me.txt": "second\n",
                "api-restore-me.txt": "second\n",
                "docs/gone.txt": None,
            },
            "Change and delete",
        )
        repo = gitutil.bare_clone(work, tmp_path / "served.git")
        app = make_app(repo, VCSWEB_PUBLIC_READ=caller.public, VCSWEB_LIVE_LIFETIME=0)
        w = World(app, repo, first)

        admin = app.test_client()
        for text in ("First description", "Second description"):
            saved = admin.put("/api/files/a.txt", json={"description": text})
            assert saved.status_code == 200
        with app.app_context():
            w.spare_id = accounts.create_user("spare", PASSWORD, "viewer").id
            accounts.create_user("former", PASSWORD, "admin")
            for name in ("viewer", "editor", "admin", "former"):
                token = accounts.create_token(accounts.find(name), "to revoke")
                w.revocable[name] = token.token.id
        return w

    return build


def connect(w: World, caller: Caller):
    """Return a client acting as the caller and the CSRF token of its session."""
    if caller.token_of:
        client = w.app.test_client(user=None)
        with w.app.app_context():
            user = accounts.find(caller.token_of)
            client.token = accounts.create_token(user, "caller").secret
        return client, None
    if caller.session_of is None:
        client = w.app.test_client(user=None)
        return client, csrf_token(client, "/login")
    client = w.app.test_client(user=caller.session_of, api_token=False)
    token = csrf_token(client, "/account")
    if caller.disabled:
        with w.app.app_context():
            accounts.set_active(accounts.find(caller.session_of), False)
    return client, token


def send(client, caller: Caller, req: Req, csrf: str | None):
    """Send the request with the caller's credentials, as its client would."""
    headers = dict(req.headers)
    form = dict(req.form) if req.form is not None else None
    if client.token:
        # The test client adds the token to /api calls itself; pages get it here.
        headers["Authorization"] = f"Bearer {client.token}"
    elif req.method != "GET" and csrf:
        if req.url == "/login":
            # Signing out ended the session its token belonged to.
            csrf = csrf_token(client, "/login")
        headers["X-CSRFToken"] = csrf
        if form is not None:
            form["csrf_token"] = csrf
    if caller.htmx and not req.url.startswith("/api/"):
        headers.update({"HX-Request": "true", "HX-Current-URL": PAGE})
    kwargs = {"headers": headers}
    if req.json is not None:
        kwargs["json"] = req.json
    elif req.body is not None:
        kwargs["data"] = req.body
    elif form is not None:
        kwargs["data"] = form
    response = client.open(req.url, method=req.method, **kwargs)
    response.get_data()
    response.close()
    return response, headers


def refusal_problems(req: Req, headers: dict, response, status: int) -> list[str]:
    """Say what is wrong with how a refusal was answered, if anything."""
    problems = []
    if req.url.startswith("/api/"):
        if response.status_code != status:
            problems.append(f"status {response.status_code}, expected {status}")
        elif not response.is_json or "error" not in response.get_json():
            problems.append("not a JSON error")
        elif status == 401 and "WWW-Authenticate" not in response.headers:
            problems.append("no WWW-Authenticate")
        return problems
    if status == 403:
        if response.status_code != 403:
            problems.append(f"status {response.status_code}, expected 403")
        return problems
    if headers.get("HX-Request"):
        if response.status_code != 401:
            return [f"status {response.status_code}, expected 401 for htmx"]
        target = urlsplit(response.headers.get("HX-Redirect", ""))
        back = parse_qs(target.query).get("next")
        if target.path != "/login" or back != ["/blob/a.txt"]:
            problems.append(f"HX-Redirect {response.headers.get('HX-Redirect')!r}")
        return problems
    if response.status_code != 302:
        return [f"status {response.status_code}, expected 302 to the login page"]
    target = urlsplit(response.headers["Location"])
    back = parse_qs(target.query).get("next", ["/"])[0]
    wanted = req.url if req.method == "GET" else "/"
    if target.path != "/login" or back != wanted:
        problems.append(f"redirected to {response.headers['Location']!r}")
    return problems


def test_every_route_has_an_expectation(make_app, repo_path):
    keys = rule_keys(make_app(repo_path))

    assert sorted(keys - ROUTES.keys()) == [], "routes missing from the table"
    assert sorted(ROUTES.keys() - keys) == [], "rows for routes that do not exist"


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_every_route_for_every_caller(world, caller):
    w = world(caller)
    missing = rule_keys(w.app) - ROUTES.keys()
    assert not missing, f"no expectation for {sorted(missing)}"
    client, csrf = connect(w, caller)

    failures = []
    for (rule, method), route in ROUTES.items():
        req = route.build(w, caller.session_of or caller.token_of or caller.name)
        want = expected(route.level, caller)
        before = w.snapshot() if want != "allow" else None

        response, headers = send(client, caller, req, csrf)

        where = f"{method} {rule} ({req.url})"
        if want == "allow":
            if response.status_code not in route.ok:
                failures.append(
                    f"{where}: {response.status_code}, expected {route.ok}: "
                    f"{response.get_data(as_text=True)[:200]!r}"
                )
            continue
        for problem in refusal_problems(req, headers, response, want):
            failures.append(f"{where}: {problem}")
        if w.snapshot() != before:
            failures.append(f"{where}: a refused request changed Git or the database")

    assert not failures, "\n".join(failures)
