"""Helpers shared by the browser tests."""

import re
from pathlib import Path

from playwright.sync_api import expect

from tests import gitutil
from tests.conftest import PASSWORD, USERS

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def shoot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def git_out(repo: Path, *args: str) -> str:
    """Run git in repo and return what it printed, stripped."""
    return gitutil.git(repo, *args).strip()


def row_for(page, name: str):
    """Return the folder table row whose entry is called name."""
    link = page.locator("a.entry", has_text=re.compile(rf"^\s*{re.escape(name)}/?\s*$"))
    return page.locator("table.entries tbody tr").filter(has=link)


def last_commit(repo: Path, path: str) -> dict[str, str]:
    """Return what `git log -1 -- path` says: id, author, exact date and subject."""
    fields = git_out(
        repo,
        "log",
        "-1",
        "--format=%H%x00%an%x00%ad%x00%s",
        "--date=format:%Y-%m-%d %H:%M:%S %z",
        "--",
        path,
    ).split("\0")
    return dict(zip(("id", "author", "date", "subject"), fields, strict=True))


def sign_in(page, site: str, username: str = "editor") -> None:
    """Sign in through the login form, as a person does."""
    page.goto(f"{site}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topnav .me")).to_contain_text(USERS[username][0])


def api_headers(site) -> dict[str, str]:
    """Headers for a program calling the JSON API with an admin's token."""
    return {"Authorization": f"Bearer {site.token}"}
