"""What a file's bytes are and how to show them: text or binary, encoding, colour."""

import codecs
import contextlib
import difflib
import mimetypes
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import markdown
import nh3
from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

# Bytes looked at to tell text from binary, as Git does for diffs.
SNIFF_BYTES = 8000
# Highlighting costs about a second per MB; above this, lines are shown plain.
HIGHLIGHT_LIMIT = 200 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".bmp": "image/bmp",
    ".ico": "image/x-icon",
    ".svg": "image/svg+xml",
}

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")

# Served files may be anything a user committed; this keeps a page, an SVG or
# anything a browser might sniff from running in vcsweb's origin.
RAW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; sandbox"


@dataclass(frozen=True)
class Text:
    """Decoded text and what is needed to write it back byte for byte."""

    text: str
    encoding: str
    bom: bytes

    @property
    def is_utf8(self) -> bool:
        return self.encoding == "utf-8"

    @property
    def label(self) -> str:
        name = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}.get(
            self.encoding, self.encoding.upper()
        )
        return f"{name} with BOM" if self.bom else name


def decode(data: bytes, truncated: bool = False) -> Text | None:
    """Return the text in data, or None when it is binary."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                return Text(_decode(body, encoding, truncated), encoding, bom)
            except UnicodeDecodeError:
                return None
    if b"\0" in data[:SNIFF_BYTES]:
        return None
    try:
        return Text(_decode(data, "utf-8", truncated), "utf-8", b"")
    except UnicodeDecodeError:
        pass
    try:
        return Text(data.decode("cp1252"), "cp1252", b"")
    except UnicodeDecodeError:
        return Text(data.decode("latin-1"), "latin-1", b"")


def _decode(data: bytes, encoding: str, truncated: bool) -> str:
    # A cut-short file may end in the middle of a character; only then may the
    # last bytes be left out instead of failing.
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(data, final=not truncated)


_NEWLINE = re.compile(r"\r\n|\n|\r")


def reencode(original: bytes, text: Text, edited: str) -> bytes:
    """Return edited text as bytes the way the original file was written.

    Browsers send a text area with CRLF line breaks whatever the file had, so
    the breaks are read as plain line breaks and each line gets back the
    ending it had in the file; new lines get the file's most common ending.
    The encoding and byte order mark are kept. Raises UnicodeEncodeError for
    text the file's encoding cannot hold.
    """
    new_lines = _NEWLINE.sub("\n", edited).split("\n")
    old_lines, endings = _split_lines(text.text)
    common = max(("\n", "\r\n", "\r"), key=endings.count) if endings else "\n"
    new_endings = [common] * (len(new_lines) - 1)
    if len(set(endings)) > 1:
        matcher = difflib.SequenceMatcher(
            None, old_lines, new_lines[:-1], autojunk=False
        )
        for op, a1, a2, b1, b2 in matcher.get_opcodes():
            # Unchanged lines, and lines changed in place one for one, keep
            # the ending they had.
            if op == "equal" or (op == "replace" and a2 - a1 == b2 - b1):
                for offset in range(b2 - b1):
                    new_endings[b1 + offset] = endings[a1 + offset]
    body = "".join(
        line + (new_endings[i] if i < len(new_endings) else "")
        for i, line in enumerate(new_lines)
    )
    return text.bom + body.encode(_codec(text.encoding))


def round_trips(data: bytes, text: Text) -> bool:
    """True if saving the text unchanged gives back exactly the same bytes."""
    try:
        return reencode(data, text, text.text) == data
    except UnicodeEncodeError:
        return False


def _split_lines(text: str) -> tuple[list[str], list[str]]:
    parts = _NEWLINE.split(text)
    endings = _NEWLINE.findall(text)
    return parts[: len(endings)], endings


def _codec(encoding: str) -> str:
    return {"utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}.get(encoding, encoding)


def highlight(text: str, filename: str) -> Markup:
    """Return text as highlighted HTML lines with numbered anchors (#L-12)."""
    lexer = TextLexer()
    if len(text) <= HIGHLIGHT_LIMIT:
        with contextlib.suppress(ClassNotFound):
            lexer = get_lexer_for_filename(filename, stripnl=False)
    lexer.stripnl = False
    formatter = HtmlFormatter(
        linenos="table",
        anchorlinenos=True,
        lineanchors="L",
        cssclass="highlight",
        wrapcode=True,
    )
    return Markup(pygments_highlight(text, lexer, formatter))


def highlight_css() -> str:
    """Return the stylesheet for highlighted code, light and dark."""
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="github-dark").get_style_defs(".highlight")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


def is_markdown(path: str) -> bool:
    return path.lower().endswith(MARKDOWN_SUFFIXES)


def render_markdown(
    text: str,
    folder: str = "",
    link: Callable[[str], str] | None = None,
    image: Callable[[str], str] | None = None,
) -> Markup:
    """Render Markdown and keep only safe HTML: no scripts, handlers or odd links.

    Relative links and images name files beside the document in folder; link
    and image turn such a repository path into the URL of its page or bytes.
    """
    html = markdown.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])

    def resolve(element: str, attribute: str, value: str) -> str:
        if (element, attribute) == ("a", "href") and link:
            return _relative_url(value, folder, link)
        if (element, attribute) == ("img", "src") and image:
            return _relative_url(value, folder, image)
        return value

    cleaned = nh3.clean(
        html,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=resolve,
    )
    return Markup(cleaned)


def _relative_url(value: str, folder: str, to_url: Callable[[str], str]) -> str:
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path or value.startswith("/"):
        return value
    target = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
    if target == ".." or target.startswith("../"):
        return value
    url = to_url("" if target == "." else target)
    return url + (f"#{parts.fragment}" if parts.fragment else "")


def image_type(path: str) -> str | None:
    """Return the image type a name suggests, or None."""
    dot = path.rfind(".")
    return IMAGE_TYPES.get(path[dot:].lower()) if dot >= 0 else None


def raw_content_type(
    path: str, head: bytes, truncated: bool = True
) -> tuple[str, bool]:
    """Return the Content-Type to serve a file with, and whether it may show inline.

    HTML and everything else that is text is sent as text/plain, never as the
    type its name suggests, so a committed page cannot run in vcsweb's origin.
    truncated says whether head is only the start of the file.
    """
    image = image_type(path)
    if image:
        return image, True
    text = decode(head, truncated=truncated)
    if text is not None:
        charset = {"cp1252": "windows-1252", "latin-1": "iso-8859-1"}.get(
            text.encoding, text.encoding.replace("-le", "le").replace("-be", "be")
        )
        return f"text/plain; charset={charset}", True
    guessed = mimetypes.guess_type(path)[0]
    if guessed == "application/pdf":
        return guessed, True
    return "application/octet-stream", False


def content_disposition(name: str, inline: bool) -> str:
    """Return a Content-Disposition header for any file name, safe for every browser."""
    clean = "".join(c for c in name if c >= " " and c != "\x7f")
    fallback = (
        "".join(c if c.isascii() and c not in '"\\;' else "_" for c in clean)
        or "download"
    )
    encoded = quote(clean.encode("utf-8", "replace"), safe="")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
