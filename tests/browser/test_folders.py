"""Folder pages in a browser: last commits per row and in-place descriptions."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import api_headers, git_out, last_commit, row_for, shoot

pytestmark = pytest.mark.browser

RELATIVE = re.compile(r"^(just now|\d+ (minute|hour|day|week|month|year)s? ago)$")


DESCRIPTIONS = {
    "vcsweb": "The application: blueprints, templates and static files",
    "tests": "Unit, integration and browser tests",
    "migrations": "Alembic revisions that build the database schema",
    "README.md": "Start here: what vcsweb is and how to run it",
    "vcsweb/static": "Stylesheet, script, icon and the vendored htmx",
    "vcsweb/templates": "Jinja pages, and the fragments htmx swaps in",
    "vcsweb/models.py": "Tables for what Git should not hold",
    "vcsweb/paths.py": "The one place that turns untrusted text into a path",
}


def test_folder_rows_show_the_last_commit_of_each_entry(site, project_repo, page):
    for path, text in DESCRIPTIONS.items():
        saved = page.request.put(
            f"{site}/api/files/{path}",
            data={"description": text},
            headers=api_headers(site),
        )
        assert saved.status == 200, saved.text()
    page.goto(site + "/")
    expect(row_for(page, "README.md").locator(".desc-text")).to_have_text(
        DESCRIPTIONS["README.md"]
    )
    shoot(page, "folder-root")

    page.get_by_role("link", name="vcsweb/", exact=True).click()

    expect(page).to_have_url(site + "/tree/vcsweb")
    expect(page.locator(".crumbs [aria-current=page]")).to_have_text("vcsweb")
    names = git_out(project_repo, "ls-tree", "--name-only", "main", "vcsweb/")
    names = [n.removeprefix("vcsweb/") for n in names.splitlines()]
    expect(page.locator("table.entries tbody tr")).to_have_count(len(names))
    for name in names:
        expected = last_commit(project_repo, f"vcsweb/{name}")
        row = row_for(page, name)
        expect(row).to_have_count(1)
        expect(row.locator("td.commit")).to_have_text(expected["id"][:7])
        expect(row.locator("td.author")).to_have_text(expected["author"])
        expect(row.locator("td.subject")).to_contain_text(expected["subject"][:40])
        when = row.locator("td.date time")
        expect(when).to_have_attribute("title", expected["date"])
        expect(when).to_have_text(RELATIVE)
    for path, text in DESCRIPTIONS.items():
        if path.startswith("vcsweb/"):
            name = path.removeprefix("vcsweb/")
            expect(row_for(page, name).locator(".desc-text")).to_have_text(text)
    shoot(page, "folder-sub")


def test_enter_saves_a_description_without_a_page_load(site, page):
    page.goto(site + "/tree/vcsweb")
    loads = []
    page.on("load", lambda p: loads.append(p.url))
    row = row_for(page, "paths.py")

    row.get_by_role("link", name="Add a description").click()
    field = row.get_by_role("textbox", name="Description of vcsweb/paths.py")
    expect(field).to_be_focused()
    expect(row.get_by_role("button", name="Save")).to_be_visible()
    shoot(page, "description-editor")
    field.press_sequentially("Turns untrusted text into repository paths")
    field.press("Enter")

    expect(row.get_by_role("textbox")).to_have_count(0)
    expect(row.locator(".desc-text")).to_have_text(
        "Turns untrusted text into repository paths"
    )
    assert loads == [], "saving a description reloaded the page"

    page.reload()
    expect(row_for(page, "paths.py").locator(".desc-text")).to_have_text(
        "Turns untrusted text into repository paths"
    )
    expect(row_for(page, "catalog.py").locator(".desc-text")).to_have_text(
        "Add a description"
    )


def test_escape_closes_the_editor_and_keeps_the_description(site, page):
    saved = page.request.put(
        site + "/api/files/vcsweb/catalog.py",
        data={"description": "Joins Git entries with their descriptions"},
        headers=api_headers(site),
    )
    assert saved.status == 200, saved.text()
    page.goto(site + "/tree/vcsweb")
    row = row_for(page, "catalog.py")

    row.get_by_role("link", name="Joins Git entries with their descriptions").click()
    field = row.get_by_role("textbox")
    expect(field).to_have_value("Joins Git entries with their descriptions")
    field.press_sequentially(", and much more")
    field.press("Escape")

    expect(row.get_by_role("textbox")).to_have_count(0)
    expect(row.locator(".desc-text")).to_have_text(
        "Joins Git entries with their descriptions"
    )
    page.reload()
    expect(row_for(page, "catalog.py").locator(".desc-text")).to_have_text(
        "Joins Git entries with their descriptions"
    )
    stored = page.request.get(
        site + "/api/files/vcsweb/catalog.py", headers=api_headers(site)
    ).json()
    assert stored["description"] == "Joins Git entries with their descriptions"
    assert stored["version"] == 1
