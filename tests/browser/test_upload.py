"""Uploading from a folder page: a new commit, and a refusal to overwrite."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import git_out, row_for, shoot

pytestmark = pytest.mark.browser


def test_upload_commits_the_file_and_refuses_a_silent_replace(
    site, project_repo, page, console
):
    before = git_out(project_repo, "rev-parse", "main")
    page.goto(site + "/tree/migrations")
    form = page.locator("#upload-form")

    form.locator("input[type=file]").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Agenda\n"}]
    )
    expect(form.locator("#upload-chosen")).to_have_text("notes.txt")
    form.get_by_label("Commit message").fill("Add the meeting notes")
    form.get_by_role("button", name="Upload and commit").click()

    status = form.get_by_role("status")
    expect(status).to_contain_text("Uploaded notes.txt in commit")
    tip = git_out(project_repo, "rev-parse", "main")
    assert git_out(project_repo, "rev-parse", "main~1") == before
    assert git_out(project_repo, "show", "main:migrations/notes.txt") == "Agenda"
    assert git_out(project_repo, "log", "-1", "--format=%s", "main") == (
        "Add the meeting notes"
    )
    expect(status).to_have_text(f"Uploaded notes.txt in commit {tip[:7]}.")
    row = row_for(page, "notes.txt")
    expect(row.locator("td.commit")).to_have_text(tip[:7])
    expect(row.locator("td.subject")).to_have_text("Add the meeting notes")
    expect(row.locator("td.author")).to_have_text("Eddie Editor")
    assert git_out(project_repo, "log", "-1", "--format=%an", "main") == "Eddie Editor"
    expect(form.locator("#upload-chosen")).to_have_text("")
    shoot(page, "upload-done")

    # The same name again, without ticking "Replace": refused, nothing committed.
    console.expect(r"status of 409|Error Code 409")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Other\n"}]
    )
    form.get_by_role("button", name="Upload and commit").click()

    alert = form.get_by_role("alert")
    expect(alert).to_have_text(
        "Already in this folder: notes.txt. "
        "Tick “Replace existing files” to upload new versions."
    )
    assert git_out(project_repo, "rev-parse", "main") == tip
    assert git_out(project_repo, "show", "main:migrations/notes.txt") == "Agenda"
    expect(row_for(page, "notes.txt")).to_have_count(1)
    shoot(page, "upload-refused")


def test_replacing_after_a_refusal_swaps_without_inline_styles(
    site, project_repo, page, console
):
    page.goto(site + "/tree/migrations")
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "env.py", "mimeType": "text/plain", "buffer": b"# new\n"}]
    )
    # A screenshot hides the caret through each field's style, leaving an
    # empty style attribute on every field, as some browser extensions do.
    shoot(page, "upload-chosen")
    assert form.locator("#upload-base").evaluate("e => e.hasAttribute('style')")

    console.expect(r"status of 409|Error Code 409")
    form.get_by_role("button", name="Upload and commit").click()
    expect(form.get_by_role("alert")).to_contain_text("Already in this folder: env.py.")

    form.get_by_label("Replace existing files with the same name").check()
    form.get_by_role("button", name="Upload and commit").click()

    status = form.get_by_role("status")
    expect(status).to_contain_text("Uploaded env.py in commit")
    tip = git_out(project_repo, "rev-parse", "main")
    expect(status).to_have_text(f"Uploaded env.py in commit {tip[:7]}.")
    assert git_out(project_repo, "show", "main:migrations/env.py") == "# new"
    base = form.locator("#upload-base")
    expect(base).to_have_value(tip)
    assert not base.evaluate("e => e.hasAttribute('style')")
