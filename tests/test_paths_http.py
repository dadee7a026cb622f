"""Upload names and upload sizes, as a browser sends them through the form."""

import unicodedata
from io import BytesIO

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests import gitutil
from tests.conftest import HX, csrf_token
from tests.htmlutil import parse


@pytest.fixture
def served(tmp_path):
    """A bare repository holding photos/old.jpg."""
    source = gitutil.make_repo(tmp_path / "source", {"photos/old.jpg": b"\xff\xd8old"})
    return gitutil.bare_clone(source, tmp_path / "served.git")


@pytest.fixture
def web(make_app, served):
    return make_app(served).test_client()


def upload(client, folder, files, hx=False, **form):
    """Post the upload form of a folder with (name, bytes) files."""
    fields = MultiDict({"csrf_token": csrf_token(client), **form})
    for name, content in files:
        # Browsers send a double quote in a file name as %22 (HTML standard).
        sent = name.replace('"', "%22")
        fields.add("files", FileStorage(BytesIO(content), sent))
    boundary, body = encode_multipart(fields)
    return client.post(
        f"/upload/{folder}" if folder else "/upload/",
        data=body,
        headers=HX if hx else {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def tip(repo) -> str:
    return gitutil.git(repo, "rev-parse", "main").strip()


def stored_names(repo, folder: str = "") -> list[str]:
    """Return the names Git holds in a folder, decoded from its exact bytes."""
    tree = f"main:{folder}" if folder else "main^{tree}"
    output = gitutil.git(repo, "ls-tree", "-z", "--name-only", tree)
    return [name for name in output.split("\0") if name]


def message(response) -> str:
    return parse(response.data).one("p", class_="error").text()


# Names -------------------------------------------------------------------


def test_cyrillic_names_are_kept_as_two_files(web, served):
    first = upload(web, "photos", [("фото.jpg", b"photo")])
    second = upload(web, "photos", [("видео.jpg", b"video")])

    assert first.status_code == second.status_code == 303
    assert stored_names(served, "photos") == ["old.jpg", "видео.jpg", "фото.jpg"]
    assert gitutil.git(served, "show", "main:photos/фото.jpg") == "photo"
    assert gitutil.git(served, "show", "main:photos/видео.jpg") == "video"
    page = parse(web.get("/tree/photos").data)
    shown = [a.text() for a in page.find_all("a", class_="entry")]
    assert shown == ["old.jpg", "видео.jpg", "фото.jpg"]


def test_decomposed_names_are_stored_composed(web, served):
    decomposed = unicodedata.normalize("NFD", "Café мой.txt")
    assert decomposed != "Café мой.txt"

    response = upload(web, "", [(decomposed, b"menu")])

    assert response.status_code == 303
    assert "Café мой.txt" in stored_names(served)
    assert decomposed not in stored_names(served)


def test_emoji_name_is_stored_and_served(web, served):
    response = upload(web, "", [("😆", b"laugh")])

    assert response.status_code == 303
    assert "😆" in stored_names(served)
    assert web.get("/raw/%F0%9F%98%86").data == b"laugh"
    assert parse(web.get("/blob/%F0%9F%98%86").data).one("h1").text() == "😆"


def test_name_of_255_bytes_is_accepted(web, served):
    name = "é" * 125 + ".txt"
    assert len(name.encode()) == 254

    response = upload(web, "", [(name + "x", b"long")])

    assert response.status_code == 303
    assert name + "x" in stored_names(served)


def test_names_that_look_like_markup_are_stored_and_shown_as_text(web, served):
    name = "<img src=x onerror=alert(1)>\"q'.txt"

    fragment = upload(web, "photos", [(name, b"x")], hx=True)
    flashed = upload(web, "photos", [(name + "2", b"y")])

    assert fragment.status_code == 200
    assert name in stored_names(served, "photos")
    assert b"<img src=x" not in fragment.data
    assert name in parse(fragment.data).one("p", class_="success").text()
    page = web.get(flashed.headers["Location"])
    assert b"<img src=x" not in page.data
    assert name + "2" in parse(page.data).one("p", class_="notice").text()


@pytest.mark.parametrize(
    "name",
    [
        "..",
        ".",
        ".git/config",
        ".GIT",
        ".git",
        "a/../../b.txt",
        "../../app.py",
        "/etc/passwd",
        "name\\with\\backslash.txt",
        "..\\..\\x.txt",
        "nul\x00byte.txt",
        "tab\tname.txt",
        "x" * 296 + ".txt",
        " leading.txt",
    ],
)
def test_bad_names_are_400_with_a_message_and_no_commit(web, served, name):
    before = tip(served)

    for hx in (False, True):
        response = upload(web, "photos", [(name, b"sneaky")], hx=hx)

        assert response.status_code == 400
        assert message(response)
        assert (b"<html" in response.data) is not hx

    assert tip(served) == before


def test_bad_name_next_to_a_good_one_commits_neither(web, served):
    before = tip(served)

    response = upload(web, "photos", [("fine.jpg", b"ok"), ("..", b"bad")])

    assert response.status_code == 400
    assert tip(served) == before


def test_same_name_twice_in_one_upload_is_refused(web, served):
    before = tip(served)

    response = upload(web, "photos", [("twin.jpg", b"1"), ("twin.jpg", b"2")])

    assert response.status_code == 422
    assert "twin.jpg" in message(response)
    assert tip(served) == before


def test_upload_into_a_folder_path_that_leaves_the_files_is_refused(web, served):
    before = tip(served)
    token = csrf_token(web)

    for folder in ["..", ".git", "photos/..", "%2e%2e"]:
        response = web.post(
            f"/upload/{folder}",
            data={"csrf_token": token, "files": [(BytesIO(b"x"), "x.txt")]},
            content_type="multipart/form-data",
        )
        assert response.status_code in {400, 404}, folder
    assert tip(served) == before


# Sizes -------------------------------------------------------------------

LIMIT = 1024 * 1024  # VCSWEB_MAX_UPLOAD_MB=1


def multipart_of_size(total: int, token: str) -> tuple[bytes, str]:
    """Return an upload form body of exactly total bytes, and its content type."""
    boundary = "vcswebboundary"

    def body(size: int) -> bytes:
        fields = {
            "csrf_token": token,
            "files": FileStorage(BytesIO(b"a" * size), "big.bin"),
        }
        return encode_multipart(fields, boundary)[1]

    size = total - len(body(0))
    data = body(size)
    data = body(size - (len(data) - total))
    assert len(data) == total
    return data, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def small(make_app, served):
    return make_app(served, VCSWEB_MAX_UPLOAD_MB=1).test_client()


def test_upload_one_byte_over_the_limit_is_413_with_a_message(small, served):
    before = tip(served)
    data, content_type = multipart_of_size(LIMIT + 1, csrf_token(small))

    response = small.post("/upload/", data=data, content_type=content_type, headers=HX)

    assert response.status_code == 413
    assert b"<html" not in response.data
    text = message(response)
    assert "1 MB" in text
    assert "nothing was saved" in text
    assert tip(served) == before


def test_upload_over_the_limit_without_htmx_is_a_413_page(small, served):
    before = tip(served)
    data, content_type = multipart_of_size(LIMIT + 1, csrf_token(small))

    response = small.post("/upload/", data=data, content_type=content_type)

    assert response.status_code == 413
    assert parse(response.data).one("title").text().startswith("413")
    assert "1 MB" in message(response)
    assert tip(served) == before


def test_upload_of_exactly_the_limit_is_committed(small, served):
    data, content_type = multipart_of_size(LIMIT, csrf_token(small))

    response = small.post("/upload/", data=data, content_type=content_type, headers=HX)

    assert response.status_code == 200
    assert "big.bin" in stored_names(served)


def test_form_field_over_500_kb_is_accepted(web, served):
    long_message = "Notes " + "n" * (600 * 1024)

    response = upload(web, "", [("notes.txt", b"n")], message=long_message)

    assert response.status_code == 303
    subject = gitutil.git(served, "log", "-1", "--format=%B", "main").strip()
    assert subject == long_message


def test_large_description_field_reaches_the_length_check(web):
    token = csrf_token(web)

    response = web.put(
        "/meta/photos/old.jpg",
        data={"description": "d" * (600 * 1024), "version": "0"},
        headers={**HX, "X-CSRFToken": token},
    )

    assert response.status_code == 422
    assert "10,000 characters" in message(response)
