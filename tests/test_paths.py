"""Repository paths from URLs and forms: what is accepted, what is refused and why."""

import unicodedata
from urllib.parse import unquote_to_bytes

import pytest

from vcsweb import paths
from vcsweb.paths import MAX_PATH_BYTES, MAX_SEGMENT_BYTES, InvalidPath, repo_path

CAFE_NFC = unicodedata.normalize("NFC", "café.txt")
CAFE_NFD = unicodedata.normalize("NFD", "café.txt")

ORDINARY_NAMES = [
    "report.txt",
    "my file.txt",
    'it\'s "quoted".txt',
    "issue #12.md",
    "what?.txt",
    "100% done.txt",
    "c++ notes.txt",
    "-rf.txt",
    "--help",
    "😆",
    "фото.jpg",
    "a%2Fb.txt",
    "%2e%2e.txt",
    "docs/nested/deeper/file.txt",
    "docs/фото/😆 and more.txt",
    "a" * MAX_SEGMENT_BYTES,
]


@pytest.mark.parametrize("name", ORDINARY_NAMES)
@pytest.mark.parametrize("for_write", [False, True])
def test_ordinary_names_are_kept_exactly(name, for_write):
    assert repo_path(name, for_write=for_write) == name


def test_reading_keeps_both_unicode_forms_as_stored():
    # A file committed from macOS may be stored decomposed; it must stay findable.
    assert CAFE_NFC != CAFE_NFD
    assert repo_path(CAFE_NFC) == CAFE_NFC
    assert repo_path(CAFE_NFD) == CAFE_NFD
    assert repo_path("docs/" + CAFE_NFD) == "docs/" + CAFE_NFD


def test_writing_normalises_to_nfc():
    assert repo_path(CAFE_NFD, for_write=True) == CAFE_NFC
    nested = unicodedata.normalize("NFD", "Übung/Straße é.txt")
    assert repo_path(nested, for_write=True) == unicodedata.normalize("NFC", nested)


def test_root_and_trailing_slash():
    assert repo_path("") == ""
    assert repo_path(None) == ""
    assert repo_path("docs/") == "docs"
    assert repo_path("docs/sub/") == "docs/sub"


def test_names_git_can_hold_are_readable_but_not_writable():
    # Existing files created with the git CLI stay viewable; new names stay clean.
    for name in ["back\\slash.txt", "tab\there.txt", "line\nbreak.txt", "bell\x07"]:
        assert repo_path(name) == name
        with pytest.raises(InvalidPath) as caught:
            repo_path(name, for_write=True)
        assert caught.value.reason.startswith("Names cannot contain")


def test_names_that_are_not_utf8_are_readable_but_not_writable():
    name = paths.from_bytes(b"caf\xe9.txt")
    assert repo_path(name) == name
    with pytest.raises(InvalidPath, match="UTF-8"):
        repo_path(name, for_write=True)


@pytest.mark.parametrize("name", [" leading.txt", "trailing.txt ", "docs /a.txt"])
def test_new_names_cannot_start_or_end_with_a_space(name):
    assert repo_path(name) == name
    with pytest.raises(InvalidPath, match="space"):
        repo_path(name, for_write=True)


REFUSED = [
    (".", "'.' or '..'"),
    ("..", "'.' or '..'"),
    ("a/../b", "'.' or '..'"),
    ("a/./b", "'.' or '..'"),
    ("../etc/passwd", "'.' or '..'"),
    ("/abs", "relative"),
    ("/", "relative"),
    ("a//b", "empty segments"),
    ("a//", "empty segments"),
    (".git", ".git folder"),
    (".git/config", ".git folder"),
    (".GIT/config", ".git folder"),
    ("x/.Git/hooks", ".git folder"),
    (".git.", ".git folder"),
    ("x/.gIt../HEAD", ".git folder"),
    ("a\x00b", "NUL"),
    ("a" * (MAX_SEGMENT_BYTES + 1), f"{MAX_SEGMENT_BYTES} bytes"),
    # 128 two-byte letters: 128 characters but 256 bytes.
    ("é" * 128, f"{MAX_SEGMENT_BYTES} bytes"),
    ("/".join(["a" * 200] * 6), f"{MAX_PATH_BYTES} bytes"),
]


@pytest.mark.parametrize(("raw", "reason"), REFUSED)
@pytest.mark.parametrize("for_write", [False, True])
def test_refused_with_a_reason_a_person_can_read(raw, reason, for_write):
    with pytest.raises(InvalidPath) as caught:
        repo_path(raw, for_write=for_write)
    error = caught.value
    assert reason in error.reason
    assert error.reason[0].isupper()
    assert error.reason in str(error)
    assert error.path in (raw, raw.removesuffix("/"))


def test_git_folder_with_trailing_space_is_refused():
    with pytest.raises(InvalidPath, match=".git folder"):
        repo_path("docs/.git /config")
    with pytest.raises(InvalidPath):
        repo_path("docs/.git /config", for_write=True)


def test_empty_name_is_refused_where_a_file_is_required():
    for raw in ["", None]:
        with pytest.raises(InvalidPath, match="file name is required"):
            repo_path(raw, allow_root=False)
        with pytest.raises(InvalidPath, match="file name is required"):
            repo_path(raw, for_write=True, allow_root=False)


def test_path_length_limit_is_in_bytes():
    at_limit = "/".join(["a" * 204] * 5)
    assert len(at_limit.encode()) == MAX_PATH_BYTES
    assert repo_path(at_limit) == at_limit
    with pytest.raises(InvalidPath):
        repo_path(at_limit + "b")
    wide = "/".join(["ж" * 100] * 6)  # 1205 bytes, 605 characters
    with pytest.raises(InvalidPath, match=f"{MAX_PATH_BYTES} bytes"):
        repo_path(wide)


def test_error_message_shows_unreadable_bytes_safely():
    raw = paths.from_bytes(b"caf\xe9/..")
    with pytest.raises(InvalidPath) as caught:
        repo_path(raw)
    message = str(caught.value)
    message.encode("utf-8")  # printable and loggable: no lone surrogates
    assert "caf\ufffd/.." in message


@pytest.mark.parametrize(
    "raw",
    [b"caf\xe9.txt", b"\xff\xfe", b"ok/\x80\x81/name", "фото/😆".encode(), b"a b"],
)
def test_bytes_round_trip_through_text(raw):
    text = paths.from_bytes(raw)
    assert paths.to_bytes(text) == raw
    assert unquote_to_bytes(paths.url_quote(text)) == raw


def test_url_quote_keeps_slashes_and_escapes_the_rest():
    assert paths.url_quote("docs/my file#1?.txt") == "docs/my%20file%231%3F.txt"
    assert paths.url_quote(paths.from_bytes(b"caf\xe9/x")) == "caf%E9/x"
    assert paths.url_quote("a%2Fb.txt") == "a%252Fb.txt"
    assert paths.url_quote("фото.jpg") == "%D1%84%D0%BE%D1%82%D0%BE.jpg"


def test_display_replaces_bytes_that_are_not_utf8():
    assert paths.display(paths.from_bytes(b"caf\xe9.txt")) == "caf\ufffd.txt"
    assert paths.display("фото.jpg") == "фото.jpg"


def test_join_parent_basename():
    assert paths.join("", "a.txt") == "a.txt"
    assert paths.join("docs", "a.txt") == "docs/a.txt"
    assert paths.parent("docs/sub/a.txt") == "docs/sub"
    assert paths.parent("a.txt") == ""
    assert paths.basename("docs/sub/a.txt") == "a.txt"
