"""What a file's bytes are and how they are shown and served."""

import codecs
import re
from urllib.parse import quote, unquote

import pytest
from werkzeug.http import parse_options_header

from vcsweb import content
from vcsweb.content import (
    content_disposition,
    decode,
    highlight,
    raw_content_type,
    render_markdown,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"


# Text or binary --------------------------------------------------------------


def test_utf8_text():
    text = decode("héllo wörld ✓\n".encode())
    assert text.text == "héllo wörld ✓\n"
    assert text.is_utf8
    assert text.bom == b""
    assert text.label == "UTF-8"


def test_utf8_with_bom_keeps_the_bom_apart():
    text = decode(codecs.BOM_UTF8 + "é\n".encode())
    assert text.text == "é\n"
    assert text.encoding == "utf-8"
    assert text.bom == codecs.BOM_UTF8
    assert text.label == "UTF-8 with BOM"


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_utf16_with_bom_is_text_not_binary(bom, codec):
    # Every other byte is NUL, which alone would look binary.
    words = "Grüße, 世界\r\nline two\r\n"
    text = decode(bom + words.encode(codec))
    assert text is not None
    assert text.text == words
    assert text.encoding == codec
    assert text.bom == bom


def test_latin1_bytes_are_text_in_a_western_encoding():
    text = decode("café crème, naïve\n".encode("latin-1"))
    assert text is not None
    assert text.text == "café crème, naïve\n"
    assert text.encoding in {"cp1252", "latin-1"}
    assert not text.is_utf8


def test_windows_quotes_are_read_as_windows_1252():
    text = decode(b"\x93quoted\x94 \x80 5")
    assert text.text == "\u201cquoted\u201d \u20ac 5"
    assert text.label == "Windows-1252"


def test_bytes_windows_1252_leaves_undefined_fall_back_to_latin1():
    text = decode(b"caf\xe9 \x81")
    assert text.text == "café \x81"
    assert text.encoding == "latin-1"


@pytest.mark.parametrize(
    "data", [b"abc\x00def", PNG, b"\x00", b"text" * 100 + b"\x00" + b"more"]
)
def test_a_nul_byte_means_binary(data):
    assert decode(data) is None


def test_a_nul_byte_after_the_sniffed_start_does_not_make_text_binary():
    data = b"a" * content.SNIFF_BYTES + b"\x00"
    assert decode(data).text == "a" * content.SNIFF_BYTES + "\x00"


def test_a_truncated_read_may_end_inside_a_character():
    whole = "жук" * 50
    data = whole.encode()[:-1]  # cuts the last 'к' after its first byte
    text = decode(data, truncated=True)
    assert text.is_utf8
    assert text.text == whole[:-1]


def test_a_complete_file_ending_inside_a_character_is_not_utf8():
    text = decode("жук".encode()[:-1])
    assert text is not None
    assert not text.is_utf8


def test_a_truncated_utf16_read_may_end_inside_a_character():
    data = codecs.BOM_UTF16_LE + "abc".encode("utf-16-le")
    text = decode(data[:-1], truncated=True)
    assert text.text == "ab"


def test_empty_file_is_empty_text():
    assert decode(b"").text == ""


# Serving raw files -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("page.html", b"<!doctype html><script>alert(1)</script>"),
        ("page.htm", b"<html><body onload=alert(1)>"),
        ("page.xhtml", b'<html xmlns="http://www.w3.org/1999/xhtml"/>'),
        ("notes.txt", b"<html><script>alert(1)</script>"),
        ("no-extension", b"<html><script>alert(1)</script>"),
    ],
)
def test_html_is_served_as_plain_text(name, data):
    kind, inline = raw_content_type(name, data)
    assert kind == "text/plain; charset=utf-8"
    assert inline


@pytest.mark.parametrize("name", ["page.html", "x.svg", "x.xml", "x.htm"])
def test_nothing_is_served_as_html(name):
    for data in [b"<html></html>", PNG, b"\x00\x01", "é".encode("latin-1")]:
        kind, _ = raw_content_type(name, data)
        assert "html" not in kind
        assert not kind.startswith("text/xml")


def test_svg_shows_only_under_a_sandbox():
    kind, inline = raw_content_type("logo.svg", b"<svg><script>alert(1)</script>")
    assert kind != "text/html"
    if inline and "svg" in kind:
        assert "sandbox" in content.RAW_CSP
        assert "script-src" not in content.RAW_CSP
        assert "default-src 'none'" in content.RAW_CSP


def test_utf8_text_says_its_charset():
    assert raw_content_type("notes.txt", "grüße".encode()) == (
        "text/plain; charset=utf-8",
        True,
    )


@pytest.mark.parametrize(
    ("head", "truncated"),
    [
        # A whole short file whose last letter is the only one past ASCII.
        ("café".encode("latin-1"), False),
        ("Zoë, Renée, André\n".encode("latin-1") * 3, False),
        ("Zoë, Renée, André\n".encode("latin-1") * 3, True),
    ],
)
def test_latin1_text_is_not_claimed_as_utf8(head, truncated):
    kind, inline = raw_content_type("old.txt", head, truncated=truncated)
    assert kind.startswith("text/plain; charset=")
    assert kind.split("charset=")[1] in {"windows-1252", "iso-8859-1"}
    assert inline


def test_a_utf8_head_cut_inside_a_character_is_still_utf8():
    head = ("ж" * 5000).encode()[:8191]
    assert raw_content_type("big.txt", head) == ("text/plain; charset=utf-8", True)


def test_utf16_text_says_its_charset():
    data = codecs.BOM_UTF16_LE + "hi".encode("utf-16-le")
    assert raw_content_type("u.txt", data)[0] == "text/plain; charset=utf-16le"


def test_images_by_name():
    assert raw_content_type("photo.png", PNG) == ("image/png", True)
    assert raw_content_type("PHOTO.JPG", b"\xff\xd8\xff") == ("image/jpeg", True)


def test_unknown_binary_is_a_download():
    assert raw_content_type("blob.bin", b"\x00\x01\x02\xff") == (
        "application/octet-stream",
        False,
    )
    assert raw_content_type("photo.html", PNG) == ("application/octet-stream", False)


# Download names ----------------------------------------------------------------

DISPOSITION = re.compile(
    r"(inline|attachment); filename=\"([ -~]*)\"; "
    r"filename\*=UTF-8''([A-Za-z0-9%!#$&+.^_`|~-]*)"
)


@pytest.mark.parametrize(
    "name",
    [
        "(тест).txt",
        "отчёт 2024.pdf",
        'a"b.txt',
        "semi;colon.txt",
        "back\\slash.txt",
        "😆",
        "plain.txt",
        "100% sure, isn't it?.txt",
    ],
)
@pytest.mark.parametrize("inline", [True, False])
def test_content_disposition_names_any_file(name, inline):
    header = content_disposition(name, inline)
    assert header.isascii()
    found = DISPOSITION.fullmatch(header)
    assert found, header
    kind, fallback, encoded = found.groups()
    assert kind == ("inline" if inline else "attachment")
    assert '"' not in fallback and "\\" not in fallback and ";" not in fallback
    assert fallback
    assert unquote(encoded) == name
    assert parse_options_header(header) == (kind, {"filename": name})


def test_content_disposition_fallback_keeps_what_ascii_can_say():
    header = content_disposition("отчёт 2024.pdf", False)
    assert 'filename="_____ 2024.pdf"' in header
    assert content_disposition("😆", True).startswith('inline; filename="_"; ')
    assert "filename*=UTF-8''%F0%9F%98%86" in content_disposition("😆", True)


def test_content_disposition_drops_line_breaks():
    header = content_disposition("evil\r\nSet-Cookie: a=b.txt", False)
    assert "\r" not in header and "\n" not in header
    assert DISPOSITION.fullmatch(header)
    assert parse_options_header(header)[1]["filename"] == "evilSet-Cookie: a=b.txt"


# Markdown --------------------------------------------------------------------


def test_markdown_keeps_formatting():
    html = render_markdown(
        "# Title\n\n**bold**, _em_, `code` and [a link](https://example.com/x).\n\n"
        "- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nfenced\n```\n"
    )
    for fragment in [
        "<h1>Title</h1>",
        "<strong>bold</strong>",
        "<em>em</em>",
        "<code>code</code>",
        '<a href="https://example.com/x"',
        "<li>one</li>",
        "<table>",
        "<td>2</td>",
        "<pre><code>fenced",
    ]:
        assert fragment in html
    assert 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        '<img src="x.png" onerror="alert(1)">',
        "<div onmouseover=alert(1)>hover</div>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1))",
        '<a href="&#x6A;avascript:alert(1)">x</a>',
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
        '<iframe src="https://evil.example/"></iframe>',
        '<object data="https://evil.example/x.swf"></object>',
        '<form action="https://evil.example/"><input name=x></form>',
        "<style>body{display:none}</style>",
    ],
)
@pytest.mark.parametrize("local_links", [False, True])
def test_markdown_drops_what_could_run_or_mislead(source, local_links):
    extra = {}
    if local_links:
        extra = {"folder": "docs", "link": page_url, "image": raw_url}
    html = render_markdown(f"Before\n\n{source}\n\nAfter", **extra).lower()
    assert "<p>before</p>" in html
    assert "<p>after</p>" in html
    for bad in [
        "<script",
        "alert(",
        "onerror",
        "onmouseover",
        "javascript:",
        "data:",
        "<iframe",
        "<object",
        "<form",
        "<style",
    ]:
        assert bad not in html, html


def page_url(path: str) -> str:
    return "/files/" + quote(path)


def raw_url(path: str) -> str:
    return "/raw/" + quote(path)


def test_markdown_points_relative_links_at_files_beside_it():
    html = render_markdown(
        "[guide](guide.md#setup) [up](../README.md) ![logo](img/logo%20big.png) "
        "[out](../../../etc/passwd) [web](https://example.com/a)",
        "docs/manual",
        link=page_url,
        image=raw_url,
    )
    assert 'href="/files/docs/manual/guide.md#setup"' in html
    assert 'href="/files/docs/README.md"' in html
    assert 'src="/raw/docs/manual/img/logo%20big.png"' in html
    assert 'href="https://example.com/a"' in html
    assert "/files/etc" not in html and "/files/../" not in html


# Highlighting ------------------------------------------------------------------


def test_highlight_numbers_lines_with_anchors():
    html = str(highlight('a = 1\nb = 2\nc = "<x>"\n', "example.py"))
    for line in (1, 2, 3):
        assert f'id="L-{line}"' in html
        assert f'href="#L-{line}"' in html
    assert 'id="L-4"' not in html
    assert "&lt;x&gt;" in html and "<x>" not in html
    assert 'class="n"' in html  # Python names are coloured


def test_highlight_unknown_and_large_files_still_have_anchors():
    assert 'id="L-2"' in str(highlight("one\ntwo\n", "no-lexer.unknownext"))
    big = "x = 1\n" * (content.HIGHLIGHT_LIMIT // 6 + 10)
    html = str(highlight(big, "big.py"))
    assert f'id="L-{big.count(chr(10))}"' in html
    assert 'class="n"' not in html


def test_highlight_keeps_leading_and_trailing_blank_lines():
    html = str(highlight("\n\nthird\n\n", "x.txt"))
    assert 'id="L-3"' in html and 'id="L-4"' in html
