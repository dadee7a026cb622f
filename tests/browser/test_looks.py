"""How pages look: an empty repository, a phone-sized screen, dark mode."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import row_for, shoot, sign_in

pytestmark = pytest.mark.browser

WIDTH = "() => document.documentElement.scrollWidth"


def test_empty_repository_invites_the_first_upload(serve, repo_path, open_context):
    site = serve(repo_path)
    page = open_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(page, site, "editor")
    page.goto(site + "/")

    expect(page.get_by_role("heading", name="This repository is empty")).to_be_visible()
    expect(page.locator("table.entries")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload and commit")).to_be_enabled()
    shoot(page, "empty-repository")


def test_narrow_screen_stacks_rows_without_sideways_scrolling(site, open_context):
    page = open_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, site, "editor")
    page.goto(site + "/tree/vcsweb")

    row = row_for(page, "catalog.py")
    name = row.locator("td.name").bounding_box()
    subject = row.locator("td.subject").bounding_box()
    when = row.locator("td.date").bounding_box()
    assert subject["y"] >= name["y"] + name["height"] - 1, "commit not below name"
    assert when["x"] + when["width"] <= 390
    expect(row.locator("td.date time")).to_be_visible()
    expect(row.locator(".desc-text")).to_be_visible()
    assert page.evaluate(WIDTH) <= 390
    shoot(page, "folder-narrow")

    page.goto(site + "/blob/vcsweb/catalog.py")
    assert page.evaluate(WIDTH) <= 390
    shoot(page, "file-narrow")


def test_dark_mode_uses_dark_colours(site, open_context):
    page = open_context(
        viewport={"width": 1280, "height": 800}, color_scheme="dark"
    ).new_page()
    sign_in(page, site, "editor")
    page.goto(site + "/tree/vcsweb")

    assert brightness(page, "body", "backgroundColor") < 40
    assert brightness(page, "body", "color") > 200
    expect(row_for(page, "catalog.py")).to_be_visible()
    shoot(page, "folder-dark")

    page.goto(site + "/blob/vcsweb/catalog.py")
    assert brightness(page, ".file-body", "backgroundColor") < 40
    assert brightness(page, ".highlight td.code pre", "color") > 150
    shoot(page, "file-dark")


def brightness(page, selector: str, prop: str) -> float:
    """Return the mean of the red, green and blue of an element's computed colour."""
    colour = page.locator(selector).first.evaluate(
        f"element => getComputedStyle(element).{prop}"
    )
    red, green, blue = (
        float(c) for c in colour[colour.index("(") + 1 : -1].split(",")[:3]
    )
    return (red + green + blue) / 3
