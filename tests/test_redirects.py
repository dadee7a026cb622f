"""Where a form may send the browser afterwards."""

import pytest

from vcsweb.redirects import local_target

HOME = "/"


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/files/docs/a.md?rev=abc#L3",
        "/files/docs/my%20file.txt",
        "/files/%D1%84%D0%BE%D1%82%D0%BE.jpg",
        "/files/фото.jpg",
        "/files/a%2Fb.txt",
        "/%09/evil.example",
        "/files/docs/?page=2&sort=name",
        "/api/files?path=docs:colon",
    ],
)
def test_local_paths_are_kept_exactly(target):
    assert local_target(target, HOME) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http://evil.example",
        "HTTPS://evil.example",
        "//evil.example",
        "//evil.example/files",
        "////evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "https:evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "/\r\n/evil.example",
        "\t//evil.example",
        " //evil.example",
        "/\x00/evil.example",
        "/\x0b/evil.example",
        "/files\\..\\..\\evil",
        "evil.example",
        "files/docs",
        "?next=//evil.example",
        "#top",
        "",
        None,
    ],
)
def test_anything_else_goes_to_the_default(target):
    assert local_target(target, HOME) == HOME


def test_default_is_returned_as_given():
    assert local_target("//evil.example", "/files/docs") == "/files/docs"
