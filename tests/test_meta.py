"""Editing a file's description in place: the fragments htmx swaps, and the page."""

from urllib.parse import quote

import pytest

from tests import gitutil
from tests.conftest import HX, csrf_token
from tests.htmlutil import parse

XSS = "<img src=x onerror=alert(1)>.txt"
QUOTES = "\"><svg onload=alert(2)>'q.txt"


@pytest.fixture
def web(make_app, tmp_path):
    repo = gitutil.make_repo(
        tmp_path / "site",
        {"a.txt": "a\n", "docs/b.txt": "b\n", XSS: "x\n", QUOTES: "q\n"},
    )
    return make_app(repo).test_client()


def description(client, path: str) -> dict:
    """Return the description the API reports for a path."""
    found = client.get("/api/files/" + quote(path, safe=""))
    assert found.status_code == 200
    return found.get_json()


def save(client, path, text, version, hx=True, token=None, **form):
    """Send the description form as htmx (PUT) or a plain browser (POST) would."""
    token = csrf_token(client) if token is None else token
    url = "/meta/" + quote(path)
    data = {"description": text, "version": str(version), **form}
    if hx:
        headers = {**HX, "X-CSRFToken": token} if token else HX
        return client.put(url, data=data, headers=headers)
    if token:
        data["csrf_token"] = token
    return client.post(url, data=data)


def field(response):
    """Return the description field of an edit form."""
    return parse(response.data).one(name="description")


def typed(response) -> str:
    found = field(response)
    return found.get("value") if found.tag == "input" else found.raw_text()


# Opening the editor ------------------------------------------------------


def test_edit_with_htmx_returns_the_form_fragment(web):
    save(web, "a.txt", "Alphabet start", 0)

    form = web.get("/meta-edit/a.txt", headers=HX)

    assert form.status_code == 200
    assert b"<html" not in form.data
    tree = parse(form.data)
    element = tree.one("form", class_="editing")
    assert element.get("hx-put") == "/meta/a.txt"
    assert element.get("action") == "/meta/a.txt"
    assert element.get("method") == "post"
    assert element.one(name="version").get("value") == "1"
    assert element.one(name="csrf_token").get("value")
    assert typed(form) == "Alphabet start"


def test_edit_without_htmx_is_a_whole_page_with_the_form(web):
    page = web.get("/meta-edit/docs/b.txt")

    assert page.status_code == 200
    tree = parse(page.data)
    assert tree.one("title").text() == "Description of docs/b.txt · vcsweb"
    form = tree.one("form", class_="editing")
    assert form.get("action") == "/meta/docs/b.txt"
    assert form.one(name="version").get("value") == "0"
    crumbs = [a.get("href") for a in tree.one("nav", class_="crumbs").find_all("a")]
    assert crumbs[:2] == ["/", "/tree/docs"]
    for href in crumbs:
        assert web.get(href, follow_redirects=True).status_code == 200
    file_page = web.get(crumbs[-1], follow_redirects=True)
    assert parse(file_page.data).one("h1").text() == "b.txt"


def test_edit_of_an_unknown_path_is_404(web):
    assert web.get("/meta-edit/nope.txt", headers=HX).status_code == 404
    assert web.get("/meta-edit/docs/nope.txt").status_code == 404


# Saving ------------------------------------------------------------------


def test_put_with_htmx_saves_and_returns_the_display_fragment(web):
    saved = save(web, "docs/b.txt", "  The second letter  ", 0)

    assert saved.status_code == 200
    assert b"<html" not in saved.data
    shown = parse(saved.data).one("div", class_="desc")
    assert "saved" in shown.classes
    assert shown.text() == "The second letter"
    assert shown.one("a").get("hx-get").startswith("/meta-edit/docs/b.txt")
    stored = description(web, "docs/b.txt")
    assert stored["description"] == "The second letter"
    assert stored["version"] == 1


def test_post_without_htmx_saves_and_goes_to_next(web):
    saved = save(web, "docs/b.txt", "Bee", 0, hx=False, next="/tree/docs?page=1")

    assert saved.status_code == 303
    assert saved.headers["Location"] == "/tree/docs?page=1"
    assert description(web, "docs/b.txt")["description"] == "Bee"


def test_post_without_next_goes_to_the_file_page(web):
    saved = save(web, "docs/b.txt", "Bee", 0, hx=False)

    assert saved.status_code == 303
    assert saved.headers["Location"] == "/blob/docs/b.txt"


OUTSIDE = [
    "//evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "evil.example",
]


def test_next_outside_the_site_goes_to_the_file_page(web):
    for version, target in enumerate(OUTSIDE):
        saved = save(
            web, "docs/b.txt", f"Bee {version}", version, hx=False, next=target
        )

        assert saved.status_code == 303, target
        assert saved.headers["Location"] == "/blob/docs/b.txt", target

    assert description(web, "docs/b.txt")["version"] == len(OUTSIDE)


def test_form_page_never_offers_an_outside_next(web):
    page = parse(web.get("/meta-edit/a.txt?next=//evil.example").data)

    form = page.one("form", class_="editing")
    assert form.one(name="next").get("value") == "/blob/a.txt"
    assert form.one("a", class_="cancel").get("href") == "/blob/a.txt"


def test_ten_thousand_characters_are_accepted(web):
    text = "y" * 10_000

    saved = save(web, "a.txt", text, 0)

    assert saved.status_code == 200
    assert description(web, "a.txt")["description"] == text


def test_too_long_description_is_422_and_keeps_the_typed_text(web):
    text = "x" * 10_001

    refused = save(web, "a.txt", text, 0)

    assert refused.status_code == 422
    assert b"<html" not in refused.data
    form = parse(refused.data).one("form", class_="editing")
    assert "10,000 characters" in form.one("p", class_="error").text()
    assert typed(refused) == text
    assert field(refused).get("aria-invalid") == "true"
    assert description(web, "a.txt")["version"] == 0


def test_too_long_description_without_htmx_is_a_page_with_the_text(web):
    refused = save(web, "a.txt", "x" * 10_001, 0, hx=False)

    assert refused.status_code == 422
    assert b"<html" in refused.data
    assert typed(refused) == "x" * 10_001


def test_stale_version_is_409_showing_theirs_and_keeping_mine(web):
    save(web, "a.txt", "Theirs, saved first", 0)

    conflict = save(web, "a.txt", "Mine, typed meanwhile", 0)

    assert conflict.status_code == 409
    assert b"<html" not in conflict.data
    form = parse(conflict.data).one("form", class_="editing")
    assert form.one("blockquote").text() == "Theirs, saved first"
    assert typed(conflict) == "Mine, typed meanwhile"
    assert form.one(name="version").get("value") == "1"
    assert description(web, "a.txt")["description"] == "Theirs, saved first"

    again = save(web, "a.txt", typed(conflict), form.one(name="version").get("value"))

    assert again.status_code == 200
    assert description(web, "a.txt")["description"] == "Mine, typed meanwhile"


def test_multi_line_text_comes_back_in_a_textarea(web):
    save(web, "a.txt", "Theirs", 0)

    conflict = save(web, "a.txt", "line one\nline two", 0)

    assert conflict.status_code == 409
    assert field(conflict).tag == "textarea"
    assert typed(conflict) == "line one\nline two"


def test_missing_csrf_token_is_400_and_saves_nothing(web):
    refused = save(web, "a.txt", "Sneaky", 0, token="")

    assert refused.status_code == 400
    assert b"<html" not in refused.data
    assert "CSRF" in parse(refused.data).one("p", class_="error").text()
    assert description(web, "a.txt")["version"] == 0


def test_missing_csrf_token_without_htmx_is_a_readable_page(web):
    refused = save(web, "a.txt", "Sneaky", 0, hx=False, token="")

    assert refused.status_code == 400
    assert "nothing was saved" in parse(refused.data).one("p", class_="error").text()
    assert description(web, "a.txt")["version"] == 0


def test_wrong_csrf_token_is_400(web):
    refused = save(web, "a.txt", "Sneaky", 0, token="not-a-token")

    assert refused.status_code == 400
    assert description(web, "a.txt")["version"] == 0


def test_save_for_an_unknown_path_is_404_and_stores_nothing(web):
    missing = save(web, "nope.txt", "Ghost", 0)

    assert missing.status_code == 404
    assert b"<html" not in missing.data
    assert "nope.txt" in parse(missing.data).one("p", class_="error").text()
    assert web.get("/api/files/nope.txt").status_code == 404


def test_file_deleted_while_typing_keeps_the_text_and_says_where_to_restore(
    web, tmp_path
):
    save(web, "docs/b.txt", "Bee", 0)
    opened = web.get("/meta-edit/docs/b.txt", headers=HX)
    version = parse(opened.data).one(name="version").get("value")
    gitutil.commit_files(tmp_path / "site", {"docs/b.txt": None}, "Remove b")

    refused = save(web, "docs/b.txt", "The second letter", version)

    assert refused.status_code == 404
    assert b"<html" not in refused.data
    form = parse(refused.data).one("form", class_="editing")
    assert typed(refused) == "The second letter"
    assert form.one(name="version").get("value") == "1"
    assert field(refused).get("aria-invalid") == "true"
    error = form.one("p", class_="error")
    assert error.text() == (
        "docs/b.txt no longer exists: it was deleted or moved meanwhile, so "
        "nothing was saved. Your text is still in the field. "
        "A deleted file comes back, description included, from Deleted files in docs."
    )
    restore = error.one("a")
    assert restore.text() == "Deleted files in docs"
    listing = parse(web.get(restore.get("href")).data)
    assert listing.one("td", class_="name").text() == "docs/b.txt"

    page = save(web, "docs/b.txt", "The second letter", version, hx=False)

    assert page.status_code == 404
    assert b"<html" in page.data
    assert typed(page) == "The second letter"
    assert "no longer exists" in parse(page.data).one("p", class_="error").text()


def test_form_without_a_version_is_422(web):
    token = csrf_token(web)
    refused = web.put(
        "/meta/a.txt", data={"description": "x"}, headers={**HX, "X-CSRFToken": token}
    )

    assert refused.status_code == 422
    assert description(web, "a.txt")["version"] == 0


# Cancel ------------------------------------------------------------------


def test_cancel_returns_the_display_fragment(web):
    save(web, "docs/b.txt", "Bee", 0)
    form = parse(web.get("/meta-edit/docs/b.txt?next=/tree/docs", headers=HX).data)
    cancel = form.one("a", class_="cancel")
    assert cancel.get("href") == "/tree/docs"

    shown = web.get(cancel.get("hx-get"), headers=HX)

    assert shown.status_code == 200
    assert b"<html" not in shown.data
    display = parse(shown.data).one("div", class_="desc")
    assert display.text() == "Bee"
    assert "saved" not in display.classes
    assert display.one("a").get("href") == "/meta-edit/docs/b.txt?next=/tree/docs"


def test_display_address_without_htmx_goes_to_the_file_page(web):
    shown = web.get("/meta/docs/b.txt")

    assert shown.status_code == 302
    assert shown.headers["Location"] == "/blob/docs/b.txt"


# Names that look like markup ---------------------------------------------


def assert_inert(data: bytes, name: str) -> None:
    """The name appears only as text: no element or handler comes from it."""
    assert b"<img src=x" not in data
    assert b"<svg" not in data
    tree = parse(data)
    for node in tree.iter():
        assert node.tag not in {"img", "svg", "script"} or node.get(
            "src", ""
        ).startswith("/static/"), node
        assert not [a for a in node.attrs if a.startswith("on")], node


@pytest.mark.parametrize("name", [XSS, QUOTES])
def test_names_with_markup_are_escaped_in_every_fragment(web, name):
    url = "/meta/" + quote(name)
    edit = web.get("/meta-edit/" + quote(name), headers=HX)
    form = parse(edit.data).one("form", class_="editing")

    assert form.get("hx-put") == url
    assert form.get("action") == url
    assert name in form.one("label").text()
    assert form.one("a", class_="cancel").get("hx-get").startswith(url + "?next=")
    assert_inert(edit.data, name)

    saved = save(web, name, f"About {name}", 0)
    assert saved.status_code == 200
    shown = parse(saved.data).one("div", class_="desc")
    assert shown.text() == f"About {name}"
    assert shown.one("a").get("hx-get").startswith("/meta-edit/" + quote(name) + "?")
    assert_inert(saved.data, name)

    conflict = save(web, name, "late", 0)
    assert conflict.status_code == 409
    assert_inert(conflict.data, name)
    assert_inert(web.get("/meta-edit/" + quote(name)).data, name)
    assert_inert(web.get(url, headers=HX).data, name)


def test_names_with_markup_are_escaped_on_the_folder_page(web):
    save(web, XSS, "<b>bold?</b>", 0)

    page = web.get("/")

    assert_inert(page.data, XSS)
    tree = parse(page.data)
    links = {a.text(): a for a in tree.find_all("a", class_="entry")}
    assert links[XSS].get("href") == "/blob/" + quote(XSS)
    assert links[QUOTES].get("href") == "/blob/" + quote(QUOTES)
    assert b"<b>bold?</b>" not in page.data
    assert "<b>bold?</b>" in tree.text()
