"""The change table: one row per saved description, in the save's transaction."""

from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select

from tests import gitutil
from vcsweb import feed
from vcsweb.extensions import db
from vcsweb.models import ChangeEvent, utcnow


@pytest.fixture
def repo(tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"a.txt": "a\n", "b.txt": "b\n"})
    return gitutil.bare_clone(work, tmp_path / "served.git")


def rows(app) -> list[tuple]:
    with app.app_context():
        found = db.session.scalars(select(ChangeEvent).order_by(ChangeEvent.id))
        return [(r.kind, r.path, r.version, r.actor) for r in found]


def test_each_save_is_recorded_with_who_saved_it(make_app, repo):
    app = make_app(repo)
    client = app.test_client()

    for text in ("First", "Second", "Second"):
        response = client.put("/api/files/a.txt", json={"description": text})
        assert response.status_code == 200
    client.put("/api/files/b.txt", json={"description": "Other", "version": 5})

    # Saving the text it already has, or a refused save, announces nothing.
    assert rows(app) == [
        ("description", "a.txt", 1, "Ada Admin"),
        ("description", "a.txt", 2, "Ada Admin"),
    ]
    with app.app_context():
        assert feed.latest_id() == 2


def test_old_changes_are_pruned_now_and_then(make_app, repo):
    app = make_app(repo)
    with app.app_context():
        old = utcnow() - feed.KEEP - timedelta(minutes=1)
        for _ in range(feed.PRUNE_EVERY - 1):
            db.session.add(ChangeEvent(kind="description", path="b", created_at=old))
        db.session.commit()

    response = app.test_client().put("/api/files/a.txt", json={"description": "Kept"})

    assert response.status_code == 200
    assert rows(app) == [("description", "a.txt", 1, "Ada Admin")]
    with app.app_context():
        assert feed.latest_id() == feed.PRUNE_EVERY


def test_postgresql_announces_a_save_when_it_commits(make_app, repo, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    app = make_app(repo)
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {feed.CHANNEL}")
        app.test_client().put("/api/files/a.txt", json={"description": "Heard"})
        notices = list(listener.notifies(timeout=2, stop_after=1))

    with app.app_context():
        assert [n.payload for n in notices] == [str(feed.latest_id())]
