"""Live updates in the browser: two people on the same pages, and git pushes.

What one person saves, and what anyone pushes with git, shows up on the
other pages within 2 seconds without a reload; what someone is typing is
never replaced.
"""

import subprocess
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests import gitutil
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.support import SCREENSHOTS, row_for, shoot, sign_in
from tests.conftest import free_port, stop_process

pytestmark = pytest.mark.browser

WITHIN = 2000  # milliseconds
SWAPPED = WITHIN + 1000  # a shown tab may be refused once and retry


@pytest.fixture
def people(site, open_context):
    """Two signed-in people, each in a browser of their own: editor and admin."""

    def open_as(username):
        page = open_context(viewport={"width": 1280, "height": 800}).new_page()
        sign_in(page, site, username)
        return page

    return open_as("editor"), open_as("admin")


@pytest.fixture
def push(project_repo, tmp_path):
    """Commit files with the git CLI in a clone and push them to the served repo."""
    work = tmp_path / "pusher"
    gitutil.git(tmp_path, "clone", "-q", str(project_repo), str(work))

    def commit_and_push(files: dict, message: str) -> str:
        commit = gitutil.commit_files(work, files, message)
        gitutil.git(work, "push", "-q", "origin", "HEAD")
        return commit

    return commit_and_push


def visit(page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-status")).to_have_text("Live")


def test_description_saved_in_one_page_appears_in_the_other(site, people):
    mine, theirs = people
    visit(mine, site + "/")
    visit(theirs, site + "/")

    row = row_for(mine, "README.md")
    row.locator(".desc-text").click()
    row.get_by_role("textbox").fill("Start here: what vcsweb is")
    row.get_by_role("textbox").press("Enter")
    expect(row.locator(".desc-text")).to_have_text("Start here: what vcsweb is")

    shown = row_for(theirs, "README.md").locator(".desc-text")
    expect(shown).to_have_text("Start here: what vcsweb is", timeout=WITHIN)
    expect(row_for(theirs, "README.md").locator(".desc")).to_have_class("desc saved")
    shoot(theirs, "live-description-arrived")


def test_commit_pushed_with_git_appears_in_open_folders(site, people, push):
    root, docs = people
    visit(root, site + "/")
    visit(docs, site + "/tree/docs")

    commit = push({"docs/live-note.md": "# Note\n"}, "Add a note about live pages")

    added = row_for(docs, "live-note.md")
    expect(added).to_be_visible(timeout=WITHIN)
    expect(added.locator(".subject")).to_have_text("Add a note about live pages")
    folder = row_for(root, "docs")
    expect(folder.locator(".commit code")).to_have_text(commit[:7], timeout=WITHIN)
    expect(root.locator(".latest code")).to_have_text(commit[:7])
    shoot(docs, "live-commit-arrived")


def test_open_editor_is_kept_while_others_save_and_commit(site, people, push, console):
    mine, theirs = people
    visit(mine, site + "/")
    visit(theirs, site + "/")
    editing = row_for(theirs, "README.md")
    editing.locator(".desc-text").click()
    field = editing.get_by_role("textbox")
    field.fill("What I am still typing")

    row = row_for(mine, "README.md")
    row.locator(".desc-text").click()
    row.get_by_role("textbox").fill("Saved first")
    row.get_by_role("textbox").press("Enter")
    expect(row.locator(".desc-text")).to_have_text("Saved first")

    note = editing.locator(".live-notice")
    expect(note).to_have_text(
        "Changed by Eddie Editor meanwhile — your text is kept; "
        "saving will ask you to resolve.",
        timeout=WITHIN,
    )
    expect(field).to_have_value("What I am still typing")

    # A commit refreshes the whole folder around the open editor.
    push({"live-added.txt": "added\n"}, "Add a file while someone types")
    expect(row_for(theirs, "live-added.txt")).to_be_visible(timeout=WITHIN)
    field = row_for(theirs, "README.md").get_by_role("textbox")
    expect(field).to_have_value("What I am still typing")
    expect(field).to_be_focused()
    # Hiding the caret would leave a style attribute on the field, which the
    # page's CSP then refuses to carry over when the form is swapped.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    theirs.screenshot(
        path=str(SCREENSHOTS / "live-editor-kept.png"), full_page=True, caret="initial"
    )

    console.expect(r"status of 409|Error Code 409")
    field.press("Enter")
    conflict = row_for(theirs, "README.md").locator(".conflict")
    expect(conflict).to_contain_text("editor saved a newer description")
    expect(conflict.locator("blockquote")).to_have_text("Saved first")


def test_file_page_and_file_editor_follow_commits(site, people, push):
    push({"docs/live.md": "First version\n"}, "Add a live page")
    reader, writer = people
    visit(reader, site + "/blob/docs/live.md")
    visit(writer, site + "/edit/docs/live.md")
    writer.get_by_label("Content of docs/live.md").fill("My own version\n")

    commit = push({"docs/live.md": "Second version\n"}, "Rewrite the live page")

    expect(reader.locator(".file-body")).to_contain_text(
        "Second version", timeout=WITHIN
    )
    expect(reader.locator(".lastchange")).to_contain_text(commit[:7])
    expect(writer.locator(".live-notice")).to_have_text(
        f"Changed by Test Author meanwhile (commit {commit[:7]}) — your text is "
        "kept; saving will ask you to resolve.",
        timeout=WITHIN,
    )
    expect(writer.get_by_label("Content of docs/live.md")).to_have_value(
        "My own version\n"
    )
    shoot(reader, "live-file-updated")
    shoot(writer, "live-editor-notice")

    removed = push({"docs/live.md": None}, "Remove the live page")
    expect(reader.locator(".live-banner")).to_have_text(
        f"Test Author deleted or moved docs/live.md in commit {removed[:7]}.",
        timeout=WITHIN,
    )
    expect(reader.locator(".file-body")).to_contain_text("Second version")
    shoot(reader, "live-file-deleted")


@pytest.fixture
def tabs(playwright, console, tmp_path):
    """Tabs of one Chromium window that hide and show as a person's tabs do.

    Playwright keeps every page it opens visible. A browser it connects to
    instead keeps Chromium's own behaviour: opening a tab, or bringing one
    to the front, hides the others (document.visibilityState "hidden").
    """
    port = free_port()
    chromium = subprocess.Popen(
        [
            CHROMIUM,
            *CHROMIUM_ARGS,
            f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--window-size=1280,800",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/json/version", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or chromium.poll() is not None:
                    raise
                time.sleep(0.1)
        browser = playwright.chromium.connect_over_cdp(endpoint, no_defaults=True)
        context = browser.contexts[0]
        console.attach(context)
        yield context
        browser.close()
    finally:
        stop_process(chromium)


def test_hidden_tab_gives_up_its_stream_and_catches_up_when_shown(
    serve, project_repo, tabs, push, console
):
    # One stream for the whole server: a second tab is live only if the
    # hidden one let go of its stream.
    site = serve(project_repo, workers=1, VCSWEB_LIVE_LIMIT="1")
    # When tabs swap, the shown one may ask before the hidden one has let
    # go; it is refused once (htmx logs the stream's error event) and tries
    # again half a second later.
    console.expect(r"text/event-stream|status of 503|\[object Event\]")
    docs = tabs.pages[0]
    sign_in(docs, site, "editor")
    visit(docs, site + "/tree/docs")

    root = tabs.new_page()
    assert docs.evaluate("document.visibilityState") == "hidden"
    visit(root, site + "/")
    expect(docs.locator("#live-status")).to_have_text("Paused")

    commit = push({"docs/while-hidden.md": "# Hidden\n"}, "Add a page while hidden")
    expect(row_for(root, "docs").locator(".commit code")).to_have_text(
        commit[:7], timeout=WITHIN
    )

    # Shown again, the page hears of what it missed; the other tab pauses.
    docs.bring_to_front()
    expect(row_for(docs, "while-hidden.md")).to_be_visible(timeout=SWAPPED)
    expect(docs.locator("#live-status")).to_have_text("Live")
    expect(root.locator("#live-status")).to_have_text("Paused")

    # A page loaded in a tab that is not shown connects once it is.
    root.goto(site + "/tree/vcsweb")
    expect(root.locator("#live-status")).to_have_text("Paused")
    expect(docs.locator("#live-status")).to_have_text("Live")
    root.bring_to_front()
    expect(root.locator("#live-status")).to_have_text("Live", timeout=SWAPPED)
    expect(docs.locator("#live-status")).to_have_text("Paused")
