"""Build real repositories with the git CLI for tests."""

import os
import subprocess
from pathlib import Path

AUTHOR = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


def git(
    repo: Path | str,
    *args: str | bytes,
    env: dict | None = None,
    input: bytes | None = None,
) -> str:
    """Run git in repo and return its output; fail the test on an error."""
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input,
        capture_output=True,
        env={**os.environ, **AUTHOR, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"git {args} failed: {result.stderr.decode(errors='replace')}"
        )
    return result.stdout.decode("utf-8", "surrogateescape")


def init(path: Path, bare: bool = False, branch: str = "main") -> Path:
    args = ["init", "-q", "-b", branch] + (["--bare"] if bare else []) + [str(path)]
    subprocess.run(["git", *args], check=True)
    return path


def commit_files(
    repo: Path,
    files: dict[str | bytes, bytes | str | None],
    message: str = "Change files",
    **env,
) -> str:
    """Write (None: delete) files in a non-bare repo, commit them, return the id."""
    for name, content in files.items():
        target = Path(os.fsdecode(os.path.join(os.fsencode(repo), os.fsencode(name))))
        if content is None:
            git(repo, "rm", "-q", "--", os.fsdecode(name))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        git(repo, "add", "--", os.fsdecode(name))
    git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(path: Path, files: dict, message: str = "Initial commit") -> Path:
    """Create a non-bare repository with one commit holding files."""
    init(path)
    commit_files(path, files, message)
    return path


def bare_clone(source: Path, path: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(path)], check=True)
    return path
