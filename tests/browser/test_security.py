"""Script in names, descriptions, commit messages and files never runs.

A real browser opens every page that shows the hostile text. Any JavaScript
dialog fails the test, and so does any console error or Content-Security-
Policy violation (the watch in conftest.py), except the one violation that
is the payload itself being blocked on the raw SVG.
"""

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests import gitutil
from tests.browser.support import git_out, row_for, shoot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

IMG_NAME = "<img src=x onerror=alert(3)>.txt"
TEMPLATE_NAME = "{{7*7}}.txt"
DESCRIPTIONS = {
    "a.txt": "<img src=x onerror=alert(1)>",
    IMG_NAME: '"><svg onload=alert(2)>',
}
SUBJECT = "Tidy <script>alert(4)</script> up"
BODY = '<img src=x onerror=alert(5)> and "><svg onload=alert(6)>'
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>\n'
README = """# Notes

<img src=x onerror=alert(7)>

[click](javascript:alert(8)) and [c2](JaVaScRiPt:alert(9))

<a href="data:text/html,<script>alert(10)</script>">d</a>

<iframe src=//evil.example></iframe>

<svg><script>alert(11)</script></svg>
"""


@pytest.fixture
def hostile_repo(tmp_path):
    """A repository whose names, contents and messages all carry script."""
    work = gitutil.make_repo(
        tmp_path / "work",
        {
            "a.txt": "plain\n",
            IMG_NAME: "first\n",
            TEMPLATE_NAME: "{{7*7}}\n",
            "logo.svg": SVG,
            "README.md": README,
        },
    )
    gitutil.commit_files(
        work,
        {"a.txt": "<script>alert(12)</script>\n", IMG_NAME: "second\n"},
        f"{SUBJECT}\n\n{BODY}",
    )
    return gitutil.bare_clone(work, tmp_path / "hostile.git")


@pytest.fixture
def watched(open_context):
    """A signed-in editor's page, and the messages of any dialog opened in it."""
    context = open_context(viewport={"width": 1280, "height": 800})
    dialogs: list[str] = []

    def record(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    context.on("dialog", record)
    return context, dialogs


def url_of(path: str) -> str:
    return quote(path, safe="/")


def describe(page, name: str, text: str) -> None:
    """Give a folder entry a description through its in-place editor."""
    row = row_for(page, name)
    row.get_by_role("link", name="Add a description").click()
    field = row.get_by_role("textbox", name=f"Description of {name}")
    field.fill(text)
    field.press("Enter")
    expect(row.get_by_role("textbox")).to_have_count(0)
    expect(row.locator(".desc-text")).to_have_text(text)


def test_hostile_text_is_shown_and_never_run(serve, hostile_repo, watched, console):
    site = serve(hostile_repo)
    context, dialogs = watched
    page = context.new_page()
    sign_in(page, site, "editor")
    first = git_out(hostile_repo, "rev-list", "--max-parents=0", "main")
    second = git_out(hostile_repo, "rev-parse", "main")

    # The descriptions go in through htmx, which needs vcsweb.js's CSRF header.
    page.goto(site + "/")
    for name, text in DESCRIPTIONS.items():
        describe(page, name, text)
    page.reload()
    for name, text in DESCRIPTIONS.items():
        expect(row_for(page, name).locator(".desc-text")).to_have_text(text)
    expect(row_for(page, IMG_NAME)).to_have_count(1)
    expect(row_for(page, TEMPLATE_NAME)).to_have_count(1)
    # Shown as typed, not evaluated as a template (which would say 49).
    expect(row_for(page, TEMPLATE_NAME).locator("a.entry")).to_have_text(TEMPLATE_NAME)
    expect(row_for(page, TEMPLATE_NAME).locator("td.subject")).to_contain_text(
        "Initial commit"
    )
    expect(row_for(page, IMG_NAME).locator("td.subject")).to_have_text(SUBJECT)
    shoot(page, "security-folder")

    for name in (IMG_NAME, TEMPLATE_NAME, "a.txt"):
        page.goto(f"{site}/blob/{url_of(name)}")
        expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator(".file-desc .desc-text")).to_have_text(DESCRIPTIONS["a.txt"])
    expect(page.locator("main")).to_contain_text("<script>alert(12)</script>")

    page.goto(f"{site}/blob/{url_of(IMG_NAME)}")
    page.locator(".file-desc").get_by_role("link", name=DESCRIPTIONS[IMG_NAME]).click()
    editor = page.locator(".file-desc").get_by_role("textbox")
    expect(editor).to_have_value(DESCRIPTIONS[IMG_NAME])
    editor.press("Escape")
    expect(page.locator(".file-desc .desc-text")).to_have_text(DESCRIPTIONS[IMG_NAME])

    page.goto(f"{site}/meta-edit/{url_of(IMG_NAME)}")
    expect(
        page.get_by_role("textbox", name=f"Description of {IMG_NAME}")
    ).to_have_value(DESCRIPTIONS[IMG_NAME])

    page.goto(f"{site}/history/{url_of(IMG_NAME)}")
    expect(page.locator("main")).to_contain_text(SUBJECT)
    page.goto(f"{site}/commits")
    expect(page.locator("main")).to_contain_text(SUBJECT)

    page.goto(f"{site}/commit/{second}")
    expect(page.locator("main")).to_contain_text(SUBJECT)
    expect(page.locator("main")).to_contain_text(BODY)
    expect(page.locator("main")).to_contain_text(IMG_NAME)
    shoot(page, "security-commit")

    page.goto(f"{site}/diff/{url_of(IMG_NAME)}?from={first}")
    expect(page.locator("main")).to_contain_text(IMG_NAME)
    page.goto(f"{site}/diff/?from={first}")
    expect(page.locator("main")).to_contain_text("<script>alert(12)</script>")

    # The README's <img src=x> stays an image of a file the repository does
    # not have, without its handler: its 404 is the one error this page may log.
    console.expect(
        rf"^{site}/blob/README\.md: Failed to load resource: "
        r"the server responded with a status of 404"
    )
    page.goto(f"{site}/blob/README.md")
    rendered = page.locator("main .markdown-body")
    expect(rendered.locator("h1")).to_have_text("Notes")
    expect(rendered.locator("img")).to_have_attribute("src", "/raw/x")
    assert rendered.locator("img").get_attribute("onerror") is None
    expect(rendered.locator("iframe, script:not([src])")).to_have_count(0)
    for link in rendered.locator("a[href]").all():
        href = (link.get_attribute("href") or "").strip().lower()
        assert not href.startswith(("javascript:", "data:")), href

    assert dialogs == [], f"script ran: {dialogs}"

    # The watch itself works: a dialog opened on purpose is seen.
    page.evaluate("() => alert('the watch sees dialogs')")
    assert dialogs == ["the watch sees dialogs"]


def test_svg_with_script_is_shown_as_an_image_and_served_sandboxed(
    serve, hostile_repo, watched, console
):
    site = serve(hostile_repo)
    context, dialogs = watched
    page = context.new_page()
    sign_in(page, site, "editor")

    page.goto(f"{site}/blob/logo.svg")
    preview = page.locator("main img[src*='/raw/logo.svg']")
    expect(preview).to_have_count(1)
    expect(page.locator("main :is(object, embed, iframe)")).to_have_count(0)

    # Opened on its own, the file's onload handler is refused by its sandbox
    # policy: that refusal is the one console error this test expects.
    console.expect(
        rf"^{site}/raw/logo\.svg: (Blocked script execution in '{site}/raw/logo\.svg'"
        r" because the document's frame is sandboxed"
        r"|CSP violation: script-src-attr blocked inline"
        r"|Refused to execute inline event handler)"
    )
    raw = context.new_page()
    response = raw.goto(f"{site}/raw/logo.svg")

    policy = response.headers["content-security-policy"]
    assert "sandbox" in [d.strip().split(" ")[0] for d in policy.split(";")]
    assert "default-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert dialogs == [], f"script ran: {dialogs}"


def end_session(page) -> None:
    """Drop the session cookie, as when it expires.

    Every answer renews the cookie, so the page's own requests (its icon
    among them) must be over first, or one of them would bring it back.
    """
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()


def sign_in_again(page) -> None:
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_htmx_after_the_session_ended_opens_the_login_page(
    serve, hostile_repo, watched, console
):
    site = serve(hostile_repo)
    context, _ = watched
    page = context.new_page()
    sign_in(page, site, "editor")
    console.expect(rf"^{site}/blob/a\.txt: .*status of 401")
    description = page.locator(".file-desc")

    # Saving a description: the session is gone by the time Enter is pressed.
    page.goto(f"{site}/blob/a.txt")
    description.get_by_role("link", name="Add a description").click()
    field = description.get_by_role("textbox")
    expect(field).to_be_focused()
    end_session(page)
    field.fill("Typed after the session ended")
    field.press("Enter")

    # A whole page load to the login form, never the form inside the fragment.
    expect(page).to_have_url(f"{site}/login?next=/blob/a.txt")
    expect(page.get_by_role("heading", name="Sign in to vcsweb")).to_be_visible()
    sign_in_again(page)
    expect(page).to_have_url(f"{site}/blob/a.txt")
    expect(description.locator(".desc-text")).to_have_text("Add a description")

    # Nothing was saved, and nothing typed is lost: opening the description
    # again brings the text back, ready to save.
    description.get_by_role("link", name="Add a description").click()
    expect(description.get_by_role("textbox")).to_have_value(
        "Typed after the session ended"
    )
    expect(description.locator(".draft")).to_be_visible()
    description.get_by_role("textbox").press("Escape")
    expect(description.locator(".desc-text")).to_have_text("Add a description")
    # Cancelling lets the text go.
    description.get_by_role("link", name="Add a description").click()
    expect(description.get_by_role("textbox")).to_have_value("")
    description.get_by_role("textbox").press("Escape")

    # Opening the editor after the session ended.
    end_session(page)
    description.get_by_role("link", name="Add a description").click()

    expect(page).to_have_url(f"{site}/login?next=/blob/a.txt")
    expect(page.locator(".file-desc")).to_have_count(0)
    sign_in_again(page)
    expect(page).to_have_url(f"{site}/blob/a.txt")
