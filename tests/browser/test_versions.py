"""Versions in the browser: edit, history, diffs, conflicts, rename, delete, restore."""

import re

import pytest
from playwright.sync_api import expect

from tests import gitutil
from tests.browser.support import git_out, row_for, shoot, sign_in
from tests.versionutil import Importer

pytestmark = pytest.mark.browser

PLAN = "".join(
    f"{n}. {step}\n"
    for n, step in enumerate(
        [
            "Collect the requirements",
            "Sketch the pages",
            "Write the first draft",
            "Review it with the team",
            "Fix what the review found",
            "Publish the handbook",
        ],
        1,
    )
)


@pytest.fixture
def repo(tmp_path):
    """A small team repository: a plan edited by two people, and a few notes."""
    path = gitutil.init(tmp_path / "team.git", bare=True)
    build = Importer()
    ada = "Ada Lovelace <ada@example.com>"
    grace = "Grace Hopper <grace@example.com>"
    build.commit(
        {"README.md": "# Team\n\nOur shared files.\n", "notes/plan.md": PLAN},
        "Start the handbook plan\n",
        author=ada,
    )
    build.commit(
        {"notes/plan.md": PLAN.replace("Sketch the pages", "Sketch every page")},
        "Say which pages to sketch\n",
        author=grace,
    )
    build.commit(
        {
            "notes/plan.md": PLAN.replace(
                "Sketch the pages", "Sketch every page"
            ).replace("team", "whole team"),
            "notes/budget.txt": "Paper: 20\nPens: 5\n",
        },
        "Review with everyone, and add the budget\n",
        author=ada,
    )
    build.run(path)
    return path


@pytest.fixture
def site(serve, repo):
    return serve(repo)


def current_plan(repo) -> str:
    return git_out(repo, "show", "main:notes/plan.md") + "\n"


def test_an_edit_shows_in_history_and_in_its_diff(site, repo, page):
    page.goto(site + "/blob/notes/plan.md")
    page.get_by_role("link", name="Edit", exact=True).click()
    editor = page.get_by_label("Content of notes/plan.md")
    expect(editor).to_have_value(current_plan(repo))
    shoot(page, "versions-editor")

    editor.fill(current_plan(repo).replace("first draft", "second draft"))
    page.get_by_label("Commit message").fill("Plan a second draft")
    page.get_by_role("button", name="Commit changes").click()

    tip = git_out(repo, "rev-parse", "main")
    expect(page).to_have_url(site + "/blob/notes/plan.md")
    expect(page.locator(".notice")).to_have_text(
        f"Saved notes/plan.md in commit {tip[:7]}."
    )
    # Only the changed line differs: the browser's CR LF did not reach Git.
    numstat = git_out(repo, "diff", "--numstat", "main~1", "main")
    assert numstat == "1\t1\tnotes/plan.md"

    page.get_by_role("link", name="History", exact=True).click()
    rows = page.locator("table.history-table tbody tr")
    expect(rows).to_have_count(4)
    newest = rows.first
    expect(newest.locator(".subject")).to_have_text("Plan a second draft")
    expect(newest.locator("a.sha")).to_have_text(tip[:7])
    expect(page.locator("input[name=to]:checked")).to_have_value(tip)
    shoot(page, "versions-history")

    newest.get_by_role("link", name="Diff").click()
    removed = page.locator("table.diff tr.del")
    added = page.locator("table.diff tr.add")
    expect(removed).to_have_count(1)
    expect(added).to_have_count(1)
    expect(removed.locator("pre")).to_have_text("−3. Write the first draft")
    expect(added.locator("pre")).to_have_text("+3. Write the second draft")
    expect(added.locator("mark")).to_have_text("second")
    expect(added.locator("td.num").nth(1)).to_have_text("3")
    shoot(page, "versions-diff-unified")

    page.get_by_role("link", name="Side by side").click()
    expect(page.locator("table.diff.split")).to_be_visible()
    pair = page.locator("table.diff.split tr", has=page.locator("td.del"))
    expect(pair.locator("td.del")).to_have_text("3. Write the first draft")
    expect(pair.locator("td.add")).to_have_text("3. Write the second draft")
    shoot(page, "versions-diff-split")

    # The layout is remembered: the commit page opens side by side too.
    page.goto(site + f"/commit/{tip}")
    expect(page.locator("table.diff.split")).to_be_visible()
    page.get_by_role("link", name="Unified").click()
    expect(page.locator("table.diff.unified")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a second draft")
    shoot(page, "versions-commit")


def test_two_editors_the_second_sees_the_conflict_and_keeps_its_text(
    site, repo, open_context, console
):
    first = open_context(viewport={"width": 1280, "height": 900}).new_page()
    second = open_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(first, site, "admin")
    sign_in(second, site, "editor")
    for page in (first, second):
        page.goto(site + "/edit/notes/plan.md")
        expect(page.get_by_label("Content of notes/plan.md")).to_have_value(
            current_plan(repo)
        )
    start = git_out(repo, "rev-parse", "main")
    opened = current_plan(repo)

    mine = first.get_by_label("Content of notes/plan.md")
    mine.fill(opened.replace("Publish the handbook", "Print the handbook"))
    first.get_by_role("button", name="Commit changes").click()
    expect(first.locator(".notice")).to_contain_text("Saved notes/plan.md")
    theirs_commit = git_out(repo, "rev-parse", "main")
    assert theirs_commit != start

    console.expect(r"status of 409")
    typed = opened.replace(
        "Collect the requirements", "Collect and rank the requirements"
    )
    second.get_by_label("Content of notes/plan.md").fill(typed)
    second.get_by_role("button", name="Commit changes").click()

    conflict = second.locator(".conflict-view")
    expect(conflict).to_be_visible()
    expect(second.get_by_role("alert")).to_contain_text(
        "notes/plan.md was changed by someone else"
    )
    expect(conflict.locator("tr.add pre")).to_have_text("+6. Print the handbook")
    expect(second.get_by_label("Content of notes/plan.md")).to_have_value(typed)
    assert git_out(repo, "rev-parse", "main") == theirs_commit
    shoot(second, "versions-conflict")

    # Taking their line over and saving again commits both changes.
    merged = typed.replace("Publish the handbook", "Print the handbook")
    second.get_by_label("Content of notes/plan.md").fill(merged)
    second.get_by_role("button", name="Commit changes").click()
    expect(second.locator(".notice")).to_contain_text("Saved notes/plan.md")
    assert current_plan(repo) == merged


def test_renamed_file_keeps_its_description(site, repo, page):
    page.goto(site + "/blob/notes/budget.txt")
    desc = page.locator(".file-desc")
    desc.get_by_role("link", name="Add a description").click()
    desc.get_by_role("textbox").fill("What the handbook costs")
    desc.get_by_role("textbox").press("Enter")
    expect(desc.locator(".desc-text")).to_have_text("What the handbook costs")

    page.get_by_role("link", name="Rename", exact=True).click()
    page.get_by_label("New path").fill("money/budget.txt")
    page.get_by_role("button", name="Rename and commit").click()

    expect(page).to_have_url(site + "/blob/money/budget.txt")
    expect(page.locator(".notice")).to_contain_text(
        "Renamed notes/budget.txt to money/budget.txt"
    )
    expect(page.locator(".file-desc .desc-text")).to_have_text(
        "What the handbook costs"
    )
    assert git_out(repo, "show", "main:money/budget.txt") == "Paper: 20\nPens: 5"
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator("table.history-table tbody tr")).to_have_count(2)
    expect(page.locator("td.status").first).to_contain_text("from notes/budget.txt")


def test_deleted_file_comes_back_with_content_and_description(site, repo, page):
    page.goto(site + "/tree/notes")
    row = row_for(page, "budget.txt")
    row.get_by_role("link", name="Add a description").click()
    row.get_by_role("textbox").fill("Costs, kept by Ada")
    row.get_by_role("textbox").press("Enter")
    expect(row.locator(".desc-text")).to_have_text("Costs, kept by Ada")

    row.get_by_role("link", name="budget.txt").click()
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Delete file notes/budget.txt?"
    )
    shoot(page, "versions-delete-confirm")
    page.get_by_role("button", name="Delete and commit").click()

    expect(page).to_have_url(site + "/tree/notes")
    expect(page.locator(".notice")).to_contain_text("Deleted notes/budget.txt")
    expect(row_for(page, "budget.txt")).to_have_count(0)
    page.get_by_role("link", name="Deleted files").click()
    deleted = page.locator("table.entries tbody tr", has_text="notes/budget.txt")
    deleted.get_by_role("link", name="Restore").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Restore notes/budget.txt?"
    )
    page.get_by_role("button", name="Restore and commit").click()

    expect(page).to_have_url(site + "/blob/notes/budget.txt")
    expect(page.locator(".notice")).to_contain_text("Restored notes/budget.txt")
    expect(page.locator(".file-desc .desc-text")).to_have_text("Costs, kept by Ada")
    expect(page.locator(".highlight td.code")).to_contain_text("Paper: 20")
    assert git_out(repo, "show", "main:notes/budget.txt") == "Paper: 20\nPens: 5"
    assert re.match(
        r"Restore notes/budget.txt to [0-9a-f]{7}",
        git_out(repo, "log", "-1", "--format=%s"),
    )
