"""Two people editing one description: the second sees the first's text."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import shoot, sign_in

pytestmark = pytest.mark.browser


def test_stale_save_shows_the_newer_text_and_keeps_what_was_typed(
    site, open_context, console
):
    first = open_context(viewport={"width": 1280, "height": 800}).new_page()
    second = open_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(first, site, "admin")
    sign_in(second, site, "editor")
    for page in (first, second):
        page.goto(site + "/blob/vcsweb/models.py")
        page.locator(".file-desc").get_by_role("link", name="Add a description").click()
        expect(page.locator(".file-desc").get_by_role("textbox")).to_be_focused()

    mine = first.locator(".file-desc").get_by_role("textbox")
    mine.fill("SQL tables for descriptions")
    mine.press("Enter")
    expect(first.locator(".file-desc .desc-text")).to_have_text(
        "SQL tables for descriptions"
    )

    console.expect(r"status of 409|Error Code 409")
    theirs = second.locator(".file-desc").get_by_role("textbox")
    theirs.fill("Database models")
    theirs.press("Enter")

    conflict = second.locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("admin saved a newer description")
    expect(conflict.locator("blockquote")).to_have_text("SQL tables for descriptions")
    expect(second.locator(".file-desc").get_by_role("textbox")).to_have_value(
        "Database models"
    )
    shoot(second, "description-conflict")

    # Saving again, knowingly, replaces the newer text.
    second.locator(".file-desc").get_by_role("button", name="Save").click()
    expect(second.locator(".file-desc .desc-text")).to_have_text("Database models")
    first.reload()
    expect(first.locator(".file-desc .desc-text")).to_have_text("Database models")
