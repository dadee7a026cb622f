"""Template filters: relative dates, sizes, breadcrumbs and names."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask, render_template_string

from vcsweb import filters, paths
from vcsweb.filters import ago, crumbs, element_id, exact, repo_name, size

NOW = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (44, "just now"),
        (45, "1 minute ago"),
        (119, "1 minute ago"),
        (120, "2 minutes ago"),
        (3599, "59 minutes ago"),
        (3600, "1 hour ago"),
        (86399, "23 hours ago"),
        (86400, "1 day ago"),
        (6 * 86400, "6 days ago"),
        (7 * 86400, "1 week ago"),
        (29 * 86400, "4 weeks ago"),
        (30 * 86400, "1 month ago"),
        (364 * 86400, "12 months ago"),
        (365 * 86400, "1 year ago"),
        (800 * 86400, "2 years ago"),
    ],
)
def test_ago(seconds, text):
    assert ago(NOW - timedelta(seconds=seconds), NOW) == text


def test_ago_counts_across_time_zones():
    paris = timezone(timedelta(hours=2))
    # 14:00 in Paris is noon in UTC: the same moment.
    assert ago(datetime(2024, 6, 15, 14, 0, tzinfo=paris), NOW) == "just now"
    assert ago(datetime(2024, 6, 15, 11, 0, tzinfo=paris), NOW) == "3 hours ago"


def test_ago_reads_times_without_a_zone_as_utc():
    assert ago(datetime(2024, 6, 15, 10, 0), NOW) == "2 hours ago"


def test_ago_for_a_clock_ahead_or_nothing():
    assert ago(NOW + timedelta(hours=1), NOW) == "just now"
    assert ago(None, NOW) == ""


def test_ago_without_now_uses_the_current_time():
    assert ago(datetime.now(UTC) - timedelta(days=3)) == "3 days ago"


def test_exact_keeps_the_authors_offset():
    paris = timezone(timedelta(hours=2))
    when = datetime(2024, 6, 15, 14, 5, 9, tzinfo=paris)
    assert exact(when) == "2024-06-15 14:05:09 +0200"
    assert exact(datetime(2024, 6, 15, 14, 5, 9)) == "2024-06-15 14:05:09 +0000"
    assert exact(None) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (10 * 1024, "10 KB"),
        (999 * 1024, "999 KB"),
        (1024**2 - 1, "1.0 MB"),
        (1024**2, "1.0 MB"),
        (int(2.5 * 1024**2), "2.5 MB"),
        (5 * 1024**3, "5.0 GB"),
        (3 * 1024**4, "3.0 TB"),
        (2048 * 1024**4, "2048 TB"),
    ],
)
def test_size(value, text):
    assert size(value) == text


def test_crumbs():
    assert crumbs("") == []
    assert crumbs("docs") == [("docs", "docs")]
    assert crumbs("docs/my folder/a.md") == [
        ("docs", "docs"),
        ("my folder", "docs/my folder"),
        ("a.md", "docs/my folder/a.md"),
    ]


def test_crumbs_show_unreadable_bytes_but_keep_the_path():
    odd = paths.from_bytes(b"caf\xe9")
    trail = crumbs(f"{odd}/фото")
    assert trail == [("caf\ufffd", odd), ("фото", f"{odd}/фото")]
    assert paths.to_bytes(trail[1][1]) == b"caf\xe9/\xd1\x84\xd0\xbe\xd1\x82\xd0\xbe"


def test_element_id_is_stable_distinct_and_safe():
    names = ["a.txt", "a txt", "a/txt", "фото.jpg", paths.from_bytes(b"caf\xe9"), ""]
    ids = [element_id(n) for n in names]
    assert len(set(ids)) == len(names)
    assert ids == [element_id(n) for n in names]
    for value in ids:
        assert value[0].isalpha()
        assert value.isascii() and value.isalnum()
    assert element_id("a.txt", "row").startswith("row")


@pytest.mark.parametrize(
    ("location", "name"),
    [
        ("/srv/git/team-files.git", "team-files"),
        ("/srv/git/team-files.git/", "team-files"),
        ("/home/ann/project/.git", "project"),
        ("/home/ann/project", "project"),
        ("relative/docs", "docs"),
        ("/", "repository"),
    ],
)
def test_repo_name(location, name):
    assert repo_name(location) == name


def test_register_adds_the_filters(tmp_path):
    app = Flask(__name__)
    app.config["VCSWEB_REPO"] = str(tmp_path / "handbook.git")
    filters.register(app)
    with app.test_request_context():
        rendered = render_template_string(
            "{{ repo_name }}|{{ 2048|filesize }}|{{ crumbs('a/b')|length }}"
        )
    assert rendered == "handbook|2.0 KB|2"
