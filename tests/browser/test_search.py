"""Search in a browser: results replace themselves as the person types."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import SCREENSHOTS, api_headers, shoot, sign_in

pytestmark = pytest.mark.browser

PATH = "notes/quarterly-zeppelin.txt"
# Put together here, so that this file, which is in the served repository
# too, does not itself contain the phrase the content search looks for.
ANIMAL, THING = "walrus", "budget"
PHRASE = f"{ANIMAL} {THING}"
LINE = f"The {PHRASE} for Q3 is <approved>"
TEXT = f"Minutes of the meeting\n{LINE}\n".encode()
DESCRIPTION = "Figures for the lighthouse board"


@pytest.fixture
def described_file(site, page):
    """A file added and described through the API, as a program would."""
    headers = api_headers(site)
    tip = page.request.get(f"{site}/api/files", headers=headers).json()["revision"]
    made = page.request.put(
        f"{site}/api/content/{PATH}?base={tip}&message=Add+the+meeting+notes",
        data=TEXT,
        headers=headers,
    )
    assert made.status == 201, made.text()
    saved = page.request.put(
        f"{site}/api/files/{PATH}",
        data={"description": DESCRIPTION},
        headers=headers,
    )
    assert saved.status == 200, saved.text()
    return PATH


def test_typing_finds_a_file_by_name_description_and_content(
    site, page, described_file
):
    page.goto(site + "/")
    page.keyboard.press("/")
    top = page.get_by_role("searchbox", name="Search files")
    expect(top).to_be_focused()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search-top-bar.png"))
    top.fill("zeppelin")
    top.press("Enter")

    expect(page).to_have_url(site + "/search?q=zeppelin")
    names = page.locator("#results-names")
    expect(names.locator("a.entry")).to_have_text([PATH])
    expect(names.locator("mark")).to_have_text("zeppelin")
    expect(names.locator(".desc-text")).to_have_text(DESCRIPTION)

    loads = []
    page.on("load", lambda p: loads.append(p.url))
    box = page.get_by_role("searchbox", name="Search names, descriptions and contents")
    box.fill("")
    box.press_sequentially("lighthouse BOARD", delay=30)

    described = page.locator("#results-descriptions")
    expect(described.locator("a.entry")).to_have_text([PATH])
    expect(described.locator("mark")).to_have_text("lighthouse board")
    expect(page).to_have_url(re.compile(r"/search\?q=lighthouse(\+|%20)BOARD$"))

    box.fill(f"{ANIMAL} {THING.upper()}")
    contents = page.locator("#results-contents")
    expect(contents.locator(".search-lines li")).to_have_count(1)
    line = contents.locator(".search-lines a")
    expect(line.locator(".lineno")).to_have_text("2")
    expect(line.locator("code")).to_have_text(LINE)
    expect(line.locator("mark")).to_have_text(PHRASE)
    expect(page.locator("#results-names .search-none")).to_have_text("No names match.")
    assert loads == []
    shoot(page, "search-results")

    line.click()
    expect(page).to_have_url(f"{site}/blob/{PATH}#L-2")
    expect(page.get_by_role("heading", level=1)).to_have_text("quarterly-zeppelin.txt")


def test_the_search_page_explains_itself_and_fits_a_phone(site, open_context):
    context = open_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    phone = context.new_page()
    sign_in(phone, site, "viewer")
    phone.goto(site + "/search")
    expect(phone.locator("#search-results")).to_contain_text("Find files by their name")
    box = phone.get_by_role("searchbox", name="Search names, descriptions and contents")
    expect(box).to_be_focused()
    box.press_sequentially("def repo_path", delay=20)

    expect(phone.locator("#results-contents .search-lines li").first).to_be_visible()
    expect(phone.locator("#results-contents mark").first).to_have_text("def repo_path")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shoot(phone, "search-phone")
