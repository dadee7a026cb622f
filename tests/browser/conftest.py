"""Browser fixtures: Debian's Chromium driving vcsweb served by gunicorn.

The repository served is a bare clone of this project's own repository, so
pages show real folders, real history and real Python and Markdown files.
Every page a test opens is watched: a console error, an uncaught exception
or a Content-Security-Policy violation fails the test.
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests import gitutil
from tests.browser.support import ROOT, sign_in

CHROMIUM = "/usr/bin/chromium"

# Chromium's own background traffic (updates, sync, QUIC probes) has nowhere
# to go on a closed network; these keep it from trying.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Chromium reports every CSP violation in the console on its own, but as a
# warning for some directives; this makes each one an error the watch sees.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " +
                (event.blockedURI || "inline code") + " in " + event.documentURI);
});
"""


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Launch Debian's Chromium; Playwright's own browser builds are not used."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class ConsoleWatch:
    """Collects console errors and page exceptions from every watched context."""

    def __init__(self):
        self.errors: list[str] = []
        self.expected: list[re.Pattern] = []

    def attach(self, context) -> None:
        context.add_init_script(REPORT_CSP)
        context.on("console", self._console)
        context.on("weberror", self._weberror)

    def expect(self, pattern: str) -> None:
        """Accept console errors matching pattern (a response the test provokes)."""
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.page.url if message.page else "?"
            self.errors.append(f"{where}: {message.text}")

    def _weberror(self, error) -> None:
        where = error.page.url if error.page else "?"
        self.errors.append(f"{where}: uncaught {error.error}")


@pytest.fixture
def console():
    """The watch over every page of the test; it fails the test on an error."""
    watch = ConsoleWatch()
    yield watch
    problems = watch.unexpected()
    assert not problems, "console errors:\n" + "\n".join(problems)


@pytest.fixture
def open_context(new_context, console):
    """Open a watched browser context (viewport, colour scheme, ...)."""

    def open_(**options):
        context = new_context(**options)
        console.attach(context)
        return context

    return open_


@pytest.fixture
def context(open_context):
    return open_context(viewport={"width": 1280, "height": 800})


# Files the browser tests read from the served repository.
DOCUMENTS = ["README.md", "docs/screenshot.png"]


@pytest.fixture
def project_repo(tmp_path) -> Path:
    """A bare clone of this project's repository, with its README and screenshot."""
    clone = gitutil.bare_clone(ROOT, tmp_path / "project.git")
    missing = {
        name: (ROOT / name).read_bytes()
        for name in DOCUMENTS
        if subprocess.run(
            ["git", "-C", str(clone), "cat-file", "-e", f"HEAD:{name}"],
            capture_output=True,
            check=False,
        ).returncode
    }
    if missing:
        # A checkout whose documents are not committed yet still serves
        # them, from the files on disk.
        work = tmp_path / "documents-work"
        gitutil.git(tmp_path, "clone", "-q", str(clone), str(work))
        gitutil.commit_files(work, missing, "Add the README and its screenshot")
        gitutil.git(work, "push", "-q", "origin", "HEAD")
    return clone


@pytest.fixture
def site(serve, project_repo) -> str:
    """Base URL of vcsweb serving the project's clone."""
    return serve(project_repo)


@pytest.fixture
def page(context, site):
    """A page in the watched context, signed in as an editor."""
    page = context.new_page()
    sign_in(page, site, "editor")
    return page
