"""File pages: highlighted source with line numbers, and rendered Markdown."""

import pytest
from playwright.sync_api import expect

from tests import gitutil
from tests.browser.support import shoot

pytestmark = pytest.mark.browser


def test_python_file_shows_highlighted_numbered_lines(site, project_repo, page):
    source = gitutil.git(project_repo, "show", "main:vcsweb/paths.py")
    lines = source.splitlines()
    page.goto(site + "/tree/vcsweb")
    page.get_by_role("link", name="paths.py", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("paths.py")
    numbers = page.locator(".highlight .linenos")
    expect(numbers).to_contain_text("1")
    assert numbers.inner_text().split() == [str(n) for n in range(1, len(lines) + 1)]
    code = page.locator(".highlight td.code pre")
    assert code.inner_text().rstrip("\n").splitlines() == lines

    keyword = code.locator("span", has_text="def").first
    name = code.locator("span", has_text="repo_path").first
    colour = "e => getComputedStyle(e).color"
    assert keyword.evaluate(colour) != name.evaluate(colour)
    expect(page.locator(".file-meta")).to_contain_text(f"{len(lines)} lines")
    shoot(page, "file-python")


def test_readme_renders_as_markdown_with_a_source_view(site, project_repo, page):
    source = gitutil.git(project_repo, "show", "main:README.md")
    title = source.splitlines()[0].removeprefix("# ")
    page.goto(site + "/")
    page.get_by_role("link", name="README.md", exact=True).click()

    body = page.locator(".markdown-body")
    expect(body.get_by_role("heading", level=1)).to_have_text(title)
    expect(body).not_to_contain_text("# " + title)
    picture = body.get_by_role("img").first
    expect(picture).to_have_attribute("src", "/raw/docs/screenshot.png")
    picture.scroll_into_view_if_needed()
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth") > 300
    shoot(page, "file-markdown")

    page.get_by_role("link", name="Source").click()
    expect(page.locator(".highlight td.code")).to_contain_text("# " + title)
    page.get_by_role("link", name="Rendered").click()
    expect(page.locator(".markdown-body h1")).to_have_text(title)
