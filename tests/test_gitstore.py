"""The git layer on real repositories, bare and with a working tree, without Flask."""

import fcntl
import io
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests import gitutil
from tests.gitutil import git
from vcsweb import paths
from vcsweb.gitobjects import Entry, Identity, parse_ls_tree, sort_entries
from vcsweb.gitstore import (
    Change,
    Conflict,
    Memo,
    NotFound,
    NothingToCommit,
    Repository,
    RepositoryBusy,
    RepositoryUnavailable,
)

ROOT = Path(__file__).resolve().parent.parent
ANN = Identity("Ann Editor", "ann@example.com")
BOT = Identity("Deploy Bot", "bot@example.com")

NON_UTF8 = b"caf\xe9.txt"
NON_UTF8_FOLDER = b"d\xfcr"
BIG = bytes(range(256)) * 1024  # 256 KiB, several stream chunks

SAMPLE = {
    "README.md": "# Sample\n",
    "apple.txt": "apple\n",
    "Zebra.txt": "zebra\n",
    "-rf.txt": "not an option\n",
    "--help": "not help\n",
    "--output=x.txt": "not an output file\n",
    "фото.jpg": b"\xff\xd8\xff\xe0 not really a photo",
    "my notes.txt": "notes with a space\n",
    NON_UTF8: b"latin-1 name\n",
    NON_UTF8_FOLDER + b"/inner.txt": "inside\n",
    "docs/guide.md": "guide\n",
    "docs/sub/deep.txt": "deep\n",
    "big.bin": BIG,
    "run.sh": "#!/bin/sh\necho hi\n",
}


def open_repo(path, **kwargs) -> Repository:
    return Repository(str(path), **kwargs)


def tip_of(path, ref="main") -> str:
    return git(path, "rev-parse", ref).strip()


def commit_count(path, ref="main") -> int:
    return int(git(path, "rev-list", "--count", ref))


def show(path, spec: str) -> bytes:
    result = subprocess.run(
        ["git", "-C", str(path), "cat-file", "blob", spec],
        capture_output=True,
        check=True,
    )
    return result.stdout


def make_sample(folder: Path) -> Path:
    """A repository with a working tree holding SAMPLE, run.sh executable.

    links/ holds a symbolic link and a submodule.
    """
    repo = gitutil.make_repo(folder, SAMPLE)
    (repo / "run.sh").chmod(0o755)
    (repo / "links").mkdir()
    (repo / "links" / "to-readme").symlink_to("../README.md")
    git(repo, "add", "run.sh", "links/to-readme")
    vendored = f"160000,{'1' * 40},links/vendor"
    git(repo, "update-index", "--add", "--cacheinfo", vendored)
    (repo / "links" / "vendor").mkdir()  # a submodule that was never cloned
    gitutil.commit_files(repo, {}, "Make run.sh executable, add links")
    return repo


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory) -> dict[str, Path]:
    """SAMPLE built once; each test works on its own copy."""
    folder = tmp_path_factory.mktemp("sample")
    work = make_sample(folder / "work")
    return {"worktree": work, "bare": gitutil.bare_clone(work, folder / "bare.git")}


def copy_sample(template: dict[str, Path], kind: str, folder: Path) -> Path:
    copy = Path(shutil.copytree(template[kind], folder / kind, symlinks=True))
    if kind == "worktree":
        # A copy has new inode numbers; let Git record them as a checkout would.
        git(copy, "update-index", "-q", "--refresh")
    return copy


@pytest.fixture(params=["bare", "worktree"])
def sample(request, sample_template, tmp_path) -> Path:
    """SAMPLE in a bare repository and in one with a working tree."""
    return copy_sample(sample_template, request.param, tmp_path)


@pytest.fixture
def bare(sample_template, tmp_path) -> Path:
    return copy_sample(sample_template, "bare", tmp_path)


@pytest.fixture
def worktree(sample_template, tmp_path) -> Path:
    return copy_sample(sample_template, "worktree", tmp_path)


# Opening and the empty repository ------------------------------------------


def test_a_folder_that_is_not_a_repository_is_refused(tmp_path):
    with pytest.raises(RepositoryUnavailable):
        open_repo(tmp_path)
    with pytest.raises(RepositoryUnavailable):
        open_repo(tmp_path / "missing")


def test_empty_repository_has_no_tip_until_the_first_write(tmp_path):
    path = gitutil.init(tmp_path / "empty.git", bare=True)
    with open_repo(path) as repo:
        assert repo.branch == "main"
        assert repo.tip() is None

        first = repo.write(
            [Change("hello.txt", b"hello\n")], "Say hello", ANN, ANN, base=None
        )

        assert first.parents == ()
        assert repo.tip() == first.id
    assert tip_of(path, "refs/heads/main") == first.id
    assert commit_count(path) == 1
    assert show(path, "main:hello.txt") == b"hello\n"
    assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_empty_repository_on_another_default_branch(tmp_path):
    path = gitutil.init(tmp_path / "trunk.git", bare=True, branch="trunk")
    with open_repo(path) as repo:
        assert repo.branch == "trunk"
        assert repo.tip() is None
        repo.write([Change("a.txt", b"a\n")], "Add a", ANN, ANN, base=None)
    assert show(path, "trunk:a.txt") == b"a\n"


# Reading --------------------------------------------------------------------


def test_folders_come_first_then_files_by_name(sample):
    with open_repo(sample) as repo:
        names = [e.name for e in repo.list_folder(repo.tip(), "")]
    folders = ["docs", paths.from_bytes(NON_UTF8_FOLDER), "links"]
    assert names[:3] == folders
    files = names[3:]
    assert files == sorted(files, key=lambda n: (n.casefold(), n))
    assert set(files) == {
        "README.md",
        "apple.txt",
        "Zebra.txt",
        "-rf.txt",
        "--help",
        "--output=x.txt",
        "фото.jpg",
        "my notes.txt",
        paths.from_bytes(NON_UTF8),
        "big.bin",
        "run.sh",
    }
    assert files.index("apple.txt") < files.index("Zebra.txt")


def test_entries_say_kind_mode_and_size(sample):
    with open_repo(sample) as repo:
        tip = repo.tip()
        by_name = {e.name: e for e in repo.list_folder(tip, "")}
        assert by_name["docs"].is_folder
        assert by_name["docs"].size is None
        assert by_name["big.bin"].size == len(BIG)
        assert by_name["README.md"].size == len(SAMPLE["README.md"])
        assert by_name["run.sh"].executable
        assert not by_name["README.md"].executable
        assert repo.entry(tip, "docs/sub/deep.txt").size == len("deep\n")
        assert repo.entry(tip, "docs/sub").kind == "folder"
        assert repo.entry(tip, "").is_folder
        with pytest.raises(NotFound):
            repo.entry(tip, "docs/missing.txt")
        with pytest.raises(NotFound):
            repo.list_folder(tip, "README.md")


def test_unknown_commits_are_not_found(sample):
    with open_repo(sample) as repo:
        for missing in ["0" * 40, "f" * 40]:
            with pytest.raises(NotFound):
                repo.commit(missing)
            with pytest.raises(NotFound):
                repo.entry(missing, "")
            with pytest.raises(NotFound):
                repo.entry(missing, "README.md")
            with pytest.raises(NotFound):
                repo.list_folder(missing, "")
        tree = repo.entry(repo.tip(), "docs").oid
        with pytest.raises(NotFound):
            repo.commit(tree)


def test_resolve_names_commits_and_refuses_option_like_text(sample):
    with open_repo(sample) as repo:
        tip = repo.tip()
        assert repo.resolve("main") == tip
        assert repo.resolve(tip[:10]) == tip
        assert repo.resolve(tip) == tip
        for bad in [
            "--output=x",
            "-n",
            "main..main",
            "no-such-branch",
            "main:README.md",
        ]:
            with pytest.raises(NotFound):
                repo.resolve(bad)
        with pytest.raises(NotFound):
            repo.resolve(repo.entry(tip, "README.md").oid)


def test_symbolic_links_and_submodules_are_entries(sample):
    with open_repo(sample) as repo:
        tip = repo.tip()
        kinds = {e.name: (e.kind, e.size) for e in repo.list_folder(tip, "links")}
        assert kinds == {
            "to-readme": ("symlink", len("../README.md")),
            "vendor": ("submodule", None),
        }
        link = repo.entry(tip, "links/to-readme")
        assert repo.read_blob(link.oid, 100) == (b"../README.md", False)
        found = repo.last_commits(tip, "links", ["to-readme", "vendor"])
        assert found["vendor"].id == found["to-readme"].id == tip


def test_missing_paths_with_spaces_or_line_breaks_are_not_found(sample):
    # Git echoes a missing name back; odd names must not confuse what follows.
    with open_repo(sample) as repo:
        tip = repo.tip()
        for missing in ["no such folder", "two words here", "line\nbreak", "a b c d"]:
            with pytest.raises(NotFound):
                repo.list_folder(tip, missing)
            assert [e.name for e in repo.list_folder(tip, "docs")] == [
                "sub",
                "guide.md",
            ]
            assert repo.entry(tip, "my notes.txt").size == len(SAMPLE["my notes.txt"])


def test_read_and_stream_blob(sample):
    with open_repo(sample) as repo:
        tip = repo.tip()
        big = repo.entry(tip, "big.bin")
        assert repo.read_blob(big.oid, len(BIG)) == (BIG, False)
        assert repo.read_blob(big.oid, 1000) == (BIG[:1000], True)
        assert b"".join(repo.stream_blob(big.oid)) == BIG
        small = repo.entry(tip, "README.md")
        assert repo.read_blob(small.oid, 1 << 20) == (b"# Sample\n", False)
        with pytest.raises(NotFound):
            repo.read_blob("0" * 40, 10)


@pytest.mark.parametrize("name", ["-rf.txt", "--help", "--output=x.txt"])
def test_option_like_names_are_just_names(sample, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_repo(sample) as repo:
        before = repo.tip()
        entry = repo.entry(before, name)
        assert repo.read_blob(entry.oid, 100)[0] == paths.to_bytes(SAMPLE[name])

        done = repo.write([Change(name, b"new\n")], f"Edit {name}", ANN, ANN, before)

        assert repo.read_blob(repo.entry(done.id, name).oid, 100)[0] == b"new\n"
        assert repo.last_commits(done.id, "", [name])[name].id == done.id
    listed = git(sample, "ls-tree", "-r", "-z", "--name-only", "main").split("\0")
    assert name in listed
    assert "x.txt" not in listed
    assert not any(p.name == "x.txt" for p in tmp_path.rglob("*"))
    assert not (ROOT / "x.txt").exists()
    changed = git(sample, "diff", "--name-only", "-z", before, "main").split("\0")
    assert [n for n in changed if n] == [name]


def test_names_that_are_not_utf8_are_listed_and_readable(sample):
    name = paths.from_bytes(NON_UTF8)
    folder = paths.from_bytes(NON_UTF8_FOLDER)
    with open_repo(sample) as repo:
        tip = repo.tip()
        assert name in [e.name for e in repo.list_folder(tip, "")]
        entry = repo.entry(tip, name)
        assert repo.read_blob(entry.oid, 100) == (b"latin-1 name\n", False)
        inner = repo.list_folder(tip, folder)
        assert [e.path for e in inner] == [folder + "/inner.txt"]
        found = repo.last_commits(tip, "", [name, folder])
        assert set(found) == {name, folder}


def test_non_ascii_names_are_not_quoted(sample):
    git(sample, "config", "core.quotePath", "true")
    with open_repo(sample) as repo:
        names = [e.name for e in repo.list_folder(repo.tip(), "")]
    assert "фото.jpg" in names
    assert not any("\\" in n or n.startswith('"') for n in names)


ODD_NAMES = {
    "line\nbreak.txt": "a line break in the name\n",
    "#hash.txt": "hash\n",
    "100%.txt": "percent\n",
    "-leading-dash": "dash\n",
    "e\u0301-nfd.txt": "decomposed\n",
    "\u00e9-nfc.txt": "composed\n",
    "tab\there.txt": "tab\n",
    "?query&x=1.txt": "query\n",
    b"caf\xe9/\xff\xfe.bin": b"\x00binary\x00",
    "deep/a b/c.txt": "deep\n",
    "empty.txt": "",
}


def ls_tree_listing(path: Path, commit: str, folder: str) -> list:
    """List a folder the way `git ls-tree -l` shows it."""
    spec = f"{commit}:{folder}" if folder else f"{commit}^{{tree}}"
    output = subprocess.run(
        ["git", "-C", str(path), "ls-tree", "-l", "-z", paths.to_bytes(spec)],
        capture_output=True,
        check=True,
    ).stdout
    return sort_entries(parse_ls_tree(output, folder))


def test_folders_read_from_tree_objects_match_ls_tree(sample):
    with open_repo(sample) as repo:
        tip = repo.tip()
        for folder in every_folder(repo, tip):
            assert repo.list_folder(tip, folder) == ls_tree_listing(
                sample, tip, folder
            ), paths.display(folder)


def test_folders_with_odd_names_match_ls_tree(tmp_path):
    work = gitutil.make_repo(tmp_path / "odd", ODD_NAMES)
    with open_repo(work) as repo:
        tip = repo.tip()
        folders = list(every_folder(repo, tip))
        assert len(folders) == 4
        for folder in folders:
            assert repo.list_folder(tip, folder) == ls_tree_listing(work, tip, folder)
        names = {e.name for e in repo.list_folder(tip, "")}
        assert {"line\nbreak.txt", "e\u0301-nfd.txt", "\u00e9-nfc.txt"} <= names


def test_modes_written_by_old_git_read_as_git_shows_them(tmp_path):
    repo_path = gitutil.init(tmp_path / "modes.git", bare=True)
    blob = git(repo_path, "hash-object", "-w", "--stdin", input=b"hi\n").strip()
    raw = bytes.fromhex(blob)
    sub = raw_tree(repo_path, b"100644 inner.txt\0" + raw)
    # Sorted as Git sorts tree entries; modes as Git before 2005 wrote them.
    tree = raw_tree(
        repo_path,
        b"100664 group-writable.txt\0"
        + raw
        + b"100700 owner-only\0"
        + raw
        + b"120000 to-blob\0"
        + raw
        + b"40000 zz-folder\0"
        + bytes.fromhex(sub),
    )
    commit = git(repo_path, "commit-tree", tree, "-m", "Old modes").strip()
    with open_repo(repo_path) as repo:
        listed = repo.list_folder(commit, "")
    assert listed == ls_tree_listing(repo_path, commit, "")
    modes = {e.name: (e.mode, e.kind) for e in listed}
    assert modes == {
        "group-writable.txt": ("100644", "file"),
        "owner-only": ("100755", "file"),
        "to-blob": ("120000", "symlink"),
        "zz-folder": ("040000", "folder"),
    }


def test_folders_and_last_commits_in_a_sha256_repository(tmp_path):
    work = tmp_path / "sha256"
    subprocess.run(
        ["git", "init", "-q", "-b", "main", "--object-format=sha256", str(work)],
        check=True,
    )
    first = gitutil.commit_files(work, {"a.txt": "1", "docs/b.txt": "1"})
    second = gitutil.commit_files(work, {"docs/b.txt": "2"})
    with open_repo(work) as repo:
        tip = repo.tip()
        assert tip == second and len(tip) == 64
        for folder in ("", "docs"):
            assert repo.list_folder(tip, folder) == ls_tree_listing(work, tip, folder)
        found = repo.last_commits(tip, "", ["a.txt", "docs"])
        assert (found["a.txt"].id, found["docs"].id) == (first, second)


def raw_tree(repo_path: Path, data: bytes) -> str:
    return git(
        repo_path,
        "hash-object",
        "-t",
        "tree",
        "-w",
        "--literally",
        "--stdin",
        input=data,
    ).strip()


def test_a_second_repository_object_reuses_what_the_first_read(
    sample, monkeypatch, tmp_path
):
    memo = Memo()
    with open_repo(sample, memo=memo) as repo:
        # A branch that moved lately has a file of its own; a clone packs them.
        tip = repo.write([Change("new.txt", b"new\n")], "Add", ANN, ANN, repo.tip()).id
        first = repo.list_folder(tip, "docs")
        head = repo.commit(tip)
    # Objects never change, so the same answers come back without Git: with
    # no git program to be found, the second object still answers.
    monkeypatch.setenv("PATH", str(tmp_path))
    with open_repo(sample, memo=memo) as repo:
        assert repo.tip() == tip
        assert repo.list_folder(tip, "docs") == first
        assert repo.commit(tip) is head
        with pytest.raises(Exception, match="git"):
            repo.list_folder(tip, "links")


def test_the_memo_keeps_a_bounded_number_of_entries():
    def listing(size: int) -> list[Entry]:
        return [Entry(f"f{i}", "file", "100644", "0" * 40, 1) for i in range(size)]

    memo = Memo(entries=10)
    memo.keep_listing("a", "", listing(4))
    memo.keep_listing("b", "", listing(4))
    assert memo.listing("a", "")  # now the most recently used
    memo.keep_listing("c", "", listing(4))
    assert memo.listing("b", "") is None
    assert memo.listing("a", "") and memo.listing("c", "")
    memo.keep_listing("huge", "", listing(11))
    assert memo.listing("huge", "") is None
    assert memo.listing("a", "") and memo.listing("c", "")


def test_tip_follows_the_branch_whether_its_ref_is_loose_or_packed(bare):
    with open_repo(bare) as repo:
        loose = repo.tip()
    assert loose == tip_of(bare)
    git(bare, "pack-refs", "--all")
    assert not (bare / "refs" / "heads" / "main").exists()
    with open_repo(bare) as repo:
        assert repo.tip() == loose
        done = repo.write([Change("new.txt", b"new\n")], "Add new.txt", ANN, ANN, loose)
    with open_repo(bare) as repo:
        assert repo.tip() == done.id == tip_of(bare)


def test_head_naming_another_branch_or_no_branch(bare):
    git(bare, "branch", "trunk", "main")
    git(bare, "symbolic-ref", "HEAD", "refs/heads/trunk")
    with open_repo(bare) as repo:
        assert repo.branch == "trunk"
    git(bare, "update-ref", "--no-deref", "HEAD", tip_of(bare))
    with open_repo(bare) as repo:
        assert repo.branch == "main"


# Last commits ---------------------------------------------------------------


class History:
    """Builds a history with the git CLI on a clock the test controls."""

    def __init__(self, path: Path):
        self.path = gitutil.init(path)
        self.time = 1_600_000_000

    def env(self, when: int | None = None) -> dict:
        if when is None:
            self.time += 100
            when = self.time
        stamp = f"{when} +0000"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def commit(self, files: dict, message: str = "Change", when=None) -> str:
        return gitutil.commit_files(self.path, files, message, **self.env(when))

    def branch(self, name: str, start: str = "HEAD") -> None:
        git(self.path, "branch", name, start)

    def switch(self, name: str) -> None:
        git(self.path, "checkout", "-q", name)

    def exists(self, rev: str, name: str) -> bool:
        check = ["git", "-C", str(self.path), "cat-file", "-e", f"{rev}:{name}"]
        return subprocess.run(check, capture_output=True).returncode == 0

    def merge(self, other: str, take=(), files=None, message=None, when=None) -> str:
        """Merge other into the current branch; the tree is ours, plus take and files.

        take lists names whose version (or absence) comes from other; files
        gives new content (None deletes).
        """
        git(self.path, "merge", "--no-ff", "--no-commit", "-q", "-s", "ours", other)
        for name in take:
            if self.exists(other, name):
                git(self.path, "checkout", other, "--", name)
            elif self.exists("HEAD", name):
                git(self.path, "rm", "-q", "--", name)
        return self.commit(files or {}, message or f"Merge {other}", when)


def every_folder(repo: Repository, tip: str, folder: str = ""):
    yield folder
    for entry in repo.list_folder(tip, folder):
        if entry.is_folder:
            yield from every_folder(repo, tip, entry.path)


def assert_matches_git_log(path: Path, ref: str = "main") -> int:
    """Compare last_commits with `git log -1` for every entry of every folder."""
    checked = 0
    with open_repo(path) as repo:
        tip = repo.resolve(ref)
        for folder in every_folder(repo, tip):
            names = [e.name for e in repo.list_folder(tip, folder)]
            found = repo.last_commits(tip, folder, names)
            assert set(found) == set(names), folder
            for name in names:
                full = paths.to_bytes(paths.join(folder, name))
                expected = git(
                    path,
                    "log",
                    "-1",
                    "--format=%H",
                    tip,
                    "--",
                    full,
                    env={"GIT_LITERAL_PATHSPECS": "1"},
                ).strip()
                assert found[name].id == expected, paths.display(full.decode("latin-1"))
                checked += 1
    return checked


def test_last_commits_on_a_straight_line(tmp_path):
    h = History(tmp_path / "h")
    first = h.commit({"a.txt": "1", "b.txt": "1", "docs/x.md": "1"})
    second = h.commit({"a.txt": "2"})
    h.commit({"docs/y.md": "1"})
    with open_repo(h.path) as repo:
        tip = repo.tip()
        found = repo.last_commits(tip, "", ["a.txt", "b.txt", "docs"])
        assert found["a.txt"].id == second
        assert found["b.txt"].id == first
        assert found["docs"].id == tip
        assert repo.last_commits(tip, "docs", ["x.md"])["x.md"].id == first
        only = repo.last_commits(tip, "", ["b.txt"])
        assert set(only) == {"b.txt"}
    assert_matches_git_log(h.path)


def test_last_commits_through_merges_of_different_files(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"a.txt": "1", "b.txt": "1", "c.txt": "1", "docs/x.md": "1"})
    h.branch("feature")
    h.switch("feature")
    side = h.commit({"a.txt": "feature"})
    h.commit({"docs/x.md": "feature"})
    h.switch("main")
    ours = h.commit({"b.txt": "main"})
    merge = h.merge("feature", take=["a.txt", "docs"])
    with open_repo(h.path) as repo:
        found = repo.last_commits(merge, "", ["a.txt", "b.txt", "c.txt", "docs"])
    assert found["a.txt"].id == side
    assert found["b.txt"].id == ours
    assert assert_matches_git_log(h.path) == 5


def test_last_commits_when_both_sides_changed_a_file(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"shared.txt": "base", "ours.txt": "base", "theirs.txt": "base"})
    h.branch("side")
    h.switch("side")
    side = h.commit({"shared.txt": "side", "ours.txt": "side", "theirs.txt": "side"})
    h.switch("main")
    main = h.commit({"shared.txt": "main", "ours.txt": "main", "theirs.txt": "main"})
    # shared.txt is resolved by hand, ours.txt keeps main's version and
    # theirs.txt takes the side's: the merge is TREESAME to its second parent
    # for that file only.
    merge = h.merge("side", take=["theirs.txt"], files={"shared.txt": "merged"})
    with open_repo(h.path) as repo:
        found = repo.last_commits(merge, "", ["shared.txt", "ours.txt", "theirs.txt"])
    assert found["shared.txt"].id == merge
    assert found["ours.txt"].id == main
    assert found["theirs.txt"].id == side
    assert_matches_git_log(h.path)


def test_last_commits_for_a_merge_treesame_to_its_second_parent(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"a.txt": "1", "b.txt": "1"})
    h.branch("side")
    h.commit({"a.txt": "main"})
    h.switch("side")
    side_a = h.commit({"a.txt": "side"})
    side_b = h.commit({"b.txt": "side"})
    h.switch("main")
    h.merge("side", take=["a.txt", "b.txt"])
    with open_repo(h.path) as repo:
        found = repo.last_commits(repo.tip(), "", ["a.txt", "b.txt"])
    assert found["a.txt"].id == side_a
    assert found["b.txt"].id == side_b
    assert_matches_git_log(h.path)


def test_last_commits_through_criss_cross_merges(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"f.txt": "0", "g.txt": "0", "d/h.txt": "0"})
    h.branch("a")
    h.branch("b")
    h.switch("a")
    a1 = h.commit({"f.txt": "a1"})
    h.switch("b")
    h.commit({"g.txt": "b1"})
    h.branch("b1")
    h.switch("a")
    h.merge("b1", take=["g.txt"], files={"d/h.txt": "merged on a"})
    h.switch("b")
    h.merge(a1, take=["f.txt"], files={"d/h.txt": "merged on b"})
    h.commit({"g.txt": "b2"})
    h.switch("a")
    h.commit({"f.txt": "a2"})
    h.merge("b", take=["g.txt"], files={"d/h.txt": "final"})
    h.switch("main")
    h.merge("a", take=["f.txt", "g.txt", "d"])
    for ref in ["main", "a", "b"]:
        assert_matches_git_log(h.path, ref)


def test_last_commits_for_deleted_readded_and_renamed_files(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"back.txt": "same", "old.txt": "moved", "stay.txt": "x"})
    h.commit({"back.txt": None})
    h.commit({"other.txt": "unrelated"})
    readded = h.commit({"back.txt": "same"})
    git(h.path, "mv", "old.txt", "new.txt")
    renamed = h.commit({}, "Rename old.txt")
    h.commit({"other.txt": "unrelated again"})
    with open_repo(h.path) as repo:
        found = repo.last_commits(repo.tip(), "", ["back.txt", "new.txt"])
    assert found["back.txt"].id == readded
    assert found["new.txt"].id == renamed
    assert_matches_git_log(h.path)


def test_last_commits_with_clock_skew(tmp_path):
    h = History(tmp_path / "h")
    start = h.time
    h.commit({"a.txt": "0", "b.txt": "0", "c.txt": "0"}, when=start + 1_000)
    # A commit dated far after its children: Git lists it before one of them.
    future = h.commit({"c.txt": "future"}, when=start + 9_000)
    h.branch("side")
    h.commit({"a.txt": "main"}, when=start + 2_000)
    # Authored before its parent, as a machine with a wrong clock would.
    older = h.commit({"b.txt": "older"}, when=start + 1_500)
    h.switch("side")
    h.commit({"a.txt": "side"}, when=start + 8_000)
    h.switch("main")
    merge = h.merge("side", take=[], when=start + 10_000)
    with open_repo(h.path) as repo:
        found = repo.last_commits(merge, "", ["a.txt", "b.txt", "c.txt"])
    assert found["b.txt"].id == older
    assert found["c.txt"].id == future
    assert_matches_git_log(h.path)


def test_last_commits_when_messages_look_like_log_output(tmp_path):
    h = History(tmp_path / "h")
    ids = ["a" * 40, "b" * 40, "c" * 40]
    fake = (
        f"commit {ids[0]} {ids[1]} (from {ids[2]})\n\n"
        f":100644 100644 {ids[0]} {ids[1]} M\tdocs/b.txt\n"
        f"\n:000000 100644 {'0' * 40} {ids[2]} A"
    )
    h.commit({"a.txt": "1", "docs/b.txt": "1", "docs/c.txt": "1"}, fake)
    h.branch("side")
    h.switch("side")
    side = h.commit({"docs/c.txt": "side"}, fake + "\n\n" + fake)
    h.switch("main")
    h.commit({"a.txt": "2"}, "Edit a.txt")
    h.merge("side", take=["docs"], message=fake)
    with open_repo(h.path) as repo:
        found = repo.last_commits(repo.tip(), "docs", ["b.txt", "c.txt"])
        assert found["c.txt"].id == side
        assert found["c.txt"].message == fake + "\n\n" + fake
    assert assert_matches_git_log(h.path) == 4


def test_last_commits_for_nested_folders(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"top.txt": "1", "docs/a/b/deep.txt": "1", "docs/a/c.txt": "1"})
    h.branch("side")
    h.switch("side")
    deep = h.commit({"docs/a/b/deep.txt": "2"})
    h.switch("main")
    h.commit({"top.txt": "2"})
    h.merge("side", take=["docs"])
    with open_repo(h.path) as repo:
        tip = repo.tip()
        assert repo.last_commits(tip, "", ["docs"])["docs"].id == deep
        assert repo.last_commits(tip, "docs", ["a"])["a"].id == deep
        assert repo.last_commits(tip, "docs/a", ["b"])["b"].id == deep
    assert_matches_git_log(h.path)


def test_last_commits_for_folders_with_spaces_and_odd_names(tmp_path):
    h = History(tmp_path / "h")
    h.commit({"plain.txt": "1"})
    h.commit({"my docs/a b.txt": "1", b"caf\xe9 dir/x y.txt": "1"})
    h.commit({"my docs/a b.txt": "2"})
    h.commit({"line\nbreak/inside.txt": "1", "tab\there/x.txt": "1"})
    h.commit({"plain.txt": "2"})
    assert_matches_git_log(h.path)


def random_history(path: Path, seed: int) -> tuple[History, list[str]]:
    """A history of commits, branches and merges chosen by a seeded generator."""
    rng = random.Random(seed)
    names = ["a.txt", "b.txt", "c.txt", "d/e.txt", "d/f/g.txt", "d/f/h.txt"]
    values = ["one", "two", "three"]
    h = History(path)
    h.commit({n: rng.choice(values) for n in names}, "Root")
    branches = ["main"]
    current = "main"
    for step in range(60):
        # One commit in six is dated before its parent.
        when = h.time - rng.randint(1, 3_000) if rng.random() < 0.17 else None
        roll = rng.random()
        if roll < 0.1 and len(branches) < 4:
            current = f"b{step}"
            h.branch(current)
            h.switch(current)
            branches.append(current)
        elif roll < 0.25:
            current = rng.choice(branches)
            h.switch(current)
        elif roll < 0.5 and len(branches) > 1:
            other = rng.choice([b for b in branches if b != current])
            take = [n for n in names if rng.random() < 0.5]
            files = {n: rng.choice(values) for n in names if rng.random() < 0.15}
            h.merge(other, take=take, files=files, when=when)
        else:
            files = {}
            for name in rng.sample(names, rng.randint(1, 2)):
                present = h.exists("HEAD", name)
                delete = present and rng.random() < 0.2
                files[name] = None if delete else rng.choice(values)
            h.commit(files, when=when)
    return h, branches


# Seeds 29, 40 and 110 date a commit before an ancestor in a way that made
# Git, printing as it walks, rewrite parents wrongly for a subfolder.
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 29, 40, 110])
def test_last_commits_match_git_log_on_generated_histories(tmp_path, seed):
    h, branches = random_history(tmp_path / "h", seed)
    merges = git(h.path, "rev-list", "--merges", "--all").split()
    assert len(merges) >= 3
    for branch in branches:
        assert_matches_git_log(h.path, branch)


def test_last_commits_match_git_log_on_this_project(tmp_path):
    clone = tmp_path / "project.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(clone)], check=True)
    head = git(clone, "symbolic-ref", "--short", "HEAD").strip()
    assert assert_matches_git_log(clone, head) > 20


# Writing --------------------------------------------------------------------


def test_write_from_bytes_and_from_a_file_object(bare):
    upload = io.BytesIO(BIG[::-1])
    message = "Add notes and an upload\n\nWith a body: déjà vu."
    with open_repo(bare) as repo:
        base = repo.tip()
        done = repo.write(
            [Change("notes/new file.txt", b"hello\n"), Change("upload.bin", upload)],
            message,
            ANN,
            BOT,
            base,
        )
        assert done.parents == (base,)
        assert done.message == message
        assert done.author == ANN
        assert repo.tip() == done.id
    assert show(bare, "main:notes/new file.txt") == b"hello\n"
    assert show(bare, "main:upload.bin") == BIG[::-1]
    who = git(bare, "log", "-1", "--format=%an|%ae|%cn|%ce", "main").strip()
    assert who == "Ann Editor|ann@example.com|Deploy Bot|bot@example.com"
    assert git(bare, "log", "-1", "--format=%B", "main").rstrip("\n") == message
    changed = git(
        bare, "diff-tree", "-z", "--no-commit-id", "--name-only", "-r", "main"
    )
    assert changed.split("\0") == ["notes/new file.txt", "upload.bin", ""]


def test_write_deletes_a_file(bare):
    with open_repo(bare) as repo:
        done = repo.write([Change("apple.txt", None)], "Drop", ANN, ANN, repo.tip())
        with pytest.raises(NotFound):
            repo.entry(done.id, "apple.txt")
    assert "apple.txt" not in git(bare, "ls-tree", "--name-only", "main").split()


def test_identities_are_cleaned_and_non_ascii_kept(bare):
    sneaky = Identity("Eve <eve@evil.example>\nCo-authored-by: x", "eve@example.com>")
    zoe = Identity("Zoë Çelik", "zoë@example.com")
    with open_repo(bare) as repo:
        done = repo.write([Change("a.txt", b"a\n")], "Edit", sneaky, zoe, repo.tip())
        assert done.author.email == "eve@example.com"
    raw = git(bare, "cat-file", "commit", done.id)
    author = next(line for line in raw.splitlines() if line.startswith("author "))
    name = git(bare, "log", "-1", "--format=%an", "main").strip()
    assert name.startswith("Eve")
    assert "eve@evil.example" in name
    assert not any(c in name for c in "<>\n")
    assert author.count("<") == 1 and author.count(">") == 1
    assert "Co-authored-by" not in git(bare, "log", "-1", "--format=%B", "main")
    who = git(bare, "log", "-1", "--format=%cn|%ce", "main").strip()
    assert who == "Zoë Çelik|zoë@example.com"


def test_unchanged_content_is_nothing_to_commit(bare):
    with open_repo(bare) as repo:
        tip = repo.tip()
        with pytest.raises(NothingToCommit):
            repo.write([Change("apple.txt", b"apple\n")], "Same", ANN, ANN, tip)
        with pytest.raises(NothingToCommit):
            repo.write([Change("missing.txt", None)], "Gone already", ANN, ANN, tip)
        assert repo.tip() == tip
    assert tip_of(bare) == tip


def test_stale_base_for_a_changed_path_is_a_conflict(bare):
    with open_repo(bare) as repo:
        base = repo.tip()
        theirs = repo.write([Change("apple.txt", b"theirs\n")], "Them", BOT, BOT, base)
        with pytest.raises(Conflict) as caught:
            repo.write([Change("apple.txt", b"mine\n")], "Me", ANN, ANN, base)
        assert caught.value.path == "apple.txt"
        assert caught.value.current == theirs.id
        assert repo.tip() == theirs.id
    assert show(bare, "main:apple.txt") == b"theirs\n"


@pytest.mark.parametrize(
    "theirs",
    [
        Change("my notes.txt", None),
        Change("my notes.txt", b"edited by someone else\n"),
    ],
)
def test_stale_base_for_a_deleted_or_changed_file_with_a_space(bare, theirs):
    with open_repo(bare) as repo:
        base = repo.tip()
        repo.write([theirs], "Them", BOT, BOT, base)
        with pytest.raises(Conflict):
            repo.write([Change("my notes.txt", b"mine\n")], "Me", ANN, ANN, base)


def test_a_file_created_meanwhile_at_the_same_path_is_a_conflict(bare):
    with open_repo(bare) as repo:
        base = repo.tip()
        repo.write([Change("new one.txt", b"first\n")], "Them", BOT, BOT, base)
        with pytest.raises(Conflict):
            repo.write([Change("new one.txt", b"second\n")], "Me", ANN, ANN, base)
    assert show(bare, "main:new one.txt") == b"first\n"


def test_stale_base_for_other_paths_is_rebuilt_on_the_tip(bare):
    with open_repo(bare) as repo:
        base = repo.tip()
        theirs = repo.write([Change("apple.txt", b"theirs\n")], "Them", BOT, BOT, base)
        mine = repo.write(
            [
                Change("brand new/file name.txt", b"mine\n"),
                Change("my notes.txt", None),
            ],
            "Me",
            ANN,
            ANN,
            base,
        )
        assert mine.parents == (theirs.id,)
    assert show(bare, "main:apple.txt") == b"theirs\n"
    assert show(bare, "main:brand new/file name.txt") == b"mine\n"
    assert "my notes.txt" not in git(bare, "ls-tree", "--name-only", "main")


def test_a_file_never_replaces_a_folder_or_a_file_above_it(bare):
    with open_repo(bare) as repo:
        tip = repo.tip()
        with pytest.raises(Conflict) as caught:
            repo.write([Change("docs", b"a file now\n")], "Flatten", ANN, ANN, tip)
        assert caught.value.path == "docs"
        with pytest.raises(Conflict) as caught:
            nested = [Change("README.md/inside.txt", b"x\n")]
            repo.write(nested, "Nest", ANN, ANN, tip)
        assert caught.value.path == "README.md"
        assert repo.tip() == tip
    assert show(bare, "main:docs/guide.md") == b"guide\n"


def test_a_file_added_meanwhile_where_a_folder_is_wanted_is_a_conflict(bare):
    with open_repo(bare) as repo:
        base = repo.tip()
        repo.write([Change("notes", b"their file\n")], "Them", BOT, BOT, base)
        with pytest.raises(Conflict) as caught:
            repo.write([Change("notes/today.txt", b"mine\n")], "Me", ANN, ANN, base)
        assert caught.value.path == "notes"
    assert show(bare, "main:notes") == b"their file\n"


def test_executable_bit_is_kept_when_a_file_is_replaced(bare):
    with open_repo(bare) as repo:
        edit = [Change("run.sh", b"#!/bin/sh\necho new\n")]
        repo.write(edit, "Edit", ANN, ANN, repo.tip())
    listing = git(bare, "ls-tree", "main", "--", "run.sh", "apple.txt")
    modes = {line.split("\t")[1]: line.split()[0] for line in listing.splitlines()}
    assert modes == {"run.sh": "100755", "apple.txt": "100644"}


def test_a_locked_branch_makes_the_write_wait_and_commits_nothing(bare):
    lock = bare / "refs" / "heads" / "main.lock"
    lock.write_bytes(b"")
    before = tip_of(bare)
    with open_repo(bare) as repo, pytest.raises(RepositoryBusy):
        repo.write([Change("apple.txt", b"web\n")], "Web", ANN, ANN, before)
    assert lock.exists()
    assert tip_of(bare) == before


def test_one_writer_at_a_time(bare):
    # Another worker holding the write lock makes this one give up in time.
    with open(bare / "vcsweb-write.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        with open_repo(bare, timeout=1) as repo, pytest.raises(RepositoryBusy):
            repo.write([Change("apple.txt", b"web\n")], "Web", ANN, ANN, None)
        assert 0.9 < time.monotonic() - started < 10
        fcntl.flock(held, fcntl.LOCK_UN)
    with open_repo(bare, timeout=1) as repo:
        repo.write([Change("apple.txt", b"web\n")], "Web", ANN, ANN, repo.tip())


def test_writing_a_bare_repository_touches_no_shared_index(bare, monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with open_repo(bare) as repo:
        repo.write([Change("a.txt", b"a\n")], "Add a", ANN, ANN, repo.tip())
    assert not (bare / "index").exists()
    assert not (bare / "index.lock").exists()
    assert list(scratch.iterdir()) == []


# A repository with a working tree ------------------------------------------


def porcelain(path: Path) -> str:
    return git(path, "status", "--porcelain", "--untracked-files=all")


def test_working_tree_follows_each_write(worktree):
    with open_repo(worktree) as repo:
        assert not repo.bare
        tip = repo.tip()
        done = repo.write(
            [
                Change("apple.txt", b"green apple\n"),
                Change("new dir/added.txt", b"added\n"),
                Change("Zebra.txt", None),
            ],
            "Edit in the browser",
            ANN,
            ANN,
            tip,
        )
    assert tip_of(worktree, "HEAD") == done.id
    assert (worktree / "apple.txt").read_bytes() == b"green apple\n"
    assert (worktree / "new dir" / "added.txt").read_bytes() == b"added\n"
    assert not (worktree / "Zebra.txt").exists()
    assert porcelain(worktree) == ""


def test_first_write_to_an_empty_repository_with_a_working_tree(tmp_path):
    path = gitutil.init(tmp_path / "fresh")
    with open_repo(path) as repo:
        repo.write([Change("first.txt", b"1\n")], "First", ANN, ANN, None)
    assert (path / "first.txt").read_bytes() == b"1\n"
    assert porcelain(path) == ""


def test_a_path_with_local_edits_is_refused(worktree):
    (worktree / "apple.txt").write_bytes(b"edited on the server\n")
    before = tip_of(worktree)
    with open_repo(worktree) as repo:
        with pytest.raises(Conflict) as caught:
            repo.write(
                [Change("apple.txt", b"from the web\n")], "Web", ANN, ANN, before
            )
        assert caught.value.path == "apple.txt"
        assert "uncommitted" in str(caught.value)

        # Other files can still be changed, and the local edit stays.
        repo.write([Change("README.md", b"# New\n")], "Web", ANN, ANN, before)
    assert commit_count(worktree) == commit_count(worktree, before) + 1
    assert (worktree / "apple.txt").read_bytes() == b"edited on the server\n"
    assert (worktree / "README.md").read_bytes() == b"# New\n"
    assert porcelain(worktree) == " M apple.txt\n"


def test_an_untracked_local_file_at_the_path_is_refused(worktree):
    (worktree / "draft.txt").write_bytes(b"local draft\n")
    before = tip_of(worktree)
    with open_repo(worktree) as repo, pytest.raises(Conflict):
        repo.write([Change("draft.txt", b"web\n")], "Web", ANN, ANN, before)
    assert tip_of(worktree) == before
    assert (worktree / "draft.txt").read_bytes() == b"local draft\n"


def test_a_locked_index_makes_the_write_wait_and_commits_nothing(worktree):
    lock = worktree / ".git" / "index.lock"
    lock.write_bytes(b"")
    before = tip_of(worktree)
    with open_repo(worktree) as repo:
        with pytest.raises(RepositoryBusy):
            repo.write([Change("apple.txt", b"web\n")], "Web", ANN, ANN, before)
        assert lock.exists()
        assert tip_of(worktree) == before
        assert (worktree / "apple.txt").read_bytes() == b"apple\n"

        lock.unlink()
        repo.write([Change("apple.txt", b"web\n")], "Web", ANN, ANN, before)
    assert (worktree / "apple.txt").read_bytes() == b"web\n"
    assert porcelain(worktree) == ""


def test_serving_a_branch_that_is_not_checked_out_leaves_the_files_alone(worktree):
    git(worktree, "branch", "published")
    with open_repo(worktree, branch="published") as repo:
        edit = [Change("apple.txt", b"published\n")]
        repo.write(edit, "Pub", ANN, ANN, repo.tip())
    assert show(worktree, "published:apple.txt") == b"published\n"
    assert (worktree / "apple.txt").read_bytes() == b"apple\n"
    assert porcelain(worktree) == ""


# Several processes at once --------------------------------------------------


def write_in_process(path, name, content, base, start, results):
    """Write one file from a process of its own, after every writer is ready."""
    with Repository(path) as repo:
        start.wait(timeout=60)
        try:
            repo.write([Change(name, content)], f"Write {name}", ANN, ANN, base)
            results.put((name, content, "committed"))
        except Conflict:
            results.put((name, content, "conflict"))


def run_writers(path: Path, jobs: list[tuple[str, bytes]], base: str) -> list[tuple]:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(jobs))
    results = context.Queue()
    workers = [
        context.Process(
            target=write_in_process,
            args=(str(path), name, content, base, start, results),
        )
        for name, content in jobs
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return outcomes


def test_eight_processes_writing_different_files(bare):
    base = tip_of(bare)
    jobs = [(f"parallel/{n}.txt", f"file {n}\n".encode()) for n in range(8)]

    outcomes = run_writers(bare, jobs, base)

    assert sorted(o[2] for o in outcomes) == ["committed"] * 8
    assert commit_count(bare) == commit_count(bare, base) + 8
    assert git(bare, "rev-list", "--min-parents=2", "main") == ""
    for name, content in jobs:
        assert show(bare, f"main:{name}") == content


def test_five_processes_writing_one_path_from_one_base(bare):
    base = tip_of(bare)
    jobs = [("apple.txt", f"version {n}\n".encode()) for n in range(5)]

    outcomes = run_writers(bare, jobs, base)

    winners = [o for o in outcomes if o[2] == "committed"]
    assert len(winners) == 1
    assert sorted(o[2] for o in outcomes) == ["committed"] + ["conflict"] * 4
    assert commit_count(bare) == commit_count(bare, base) + 1
    assert show(bare, "main:apple.txt") == winners[0][1]


# Processes -------------------------------------------------------------------


def git_children() -> list[str]:
    """Describe git processes whose parent is this test process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid() and name.startswith("git"):
            found.append(f"{stat.parent.name} {name} {fields[0]}")
    return found


def test_close_leaves_no_git_process_behind(sample):
    before = set(git_children())
    repo = open_repo(sample)
    tip = repo.tip()
    names = [e.name for e in repo.list_folder(tip, "")]
    repo.last_commits(tip, "", names)
    big = repo.entry(tip, "big.bin")
    repo.read_blob(big.oid, 10)
    assert b"".join(repo.stream_blob(big.oid)) == BIG
    halfway = repo.stream_blob(big.oid)
    assert BIG.startswith(next(halfway))
    halfway.close()
    assert set(git_children()) - before

    repo.close()

    assert set(git_children()) <= before


def test_a_walk_started_and_never_read_ends_with_close(sample):
    before = set(git_children())
    repo = open_repo(sample)
    tip = repo.tip()
    repo.start_last_commits(tip, "docs")
    repo.start_last_commits(tip, "")
    with pytest.raises(NotFound):
        repo.list_folder(tip, "README.md")
    found = repo.last_commits(tip, "", ["README.md"])
    expected = git(sample, "log", "-1", "--format=%H", "--", "README.md").strip()
    assert found["README.md"].id == expected
    assert set(git_children()) - before

    repo.close()

    assert set(git_children()) <= before


def test_a_stream_outlives_close_and_stops_when_done(sample):
    # A download is sent after the request that opened the repository ended.
    before = set(git_children())
    with open_repo(sample) as repo:
        oid = repo.entry(repo.tip(), "big.bin").oid
        finished = repo.stream_blob(oid)
        abandoned = repo.stream_blob(oid)
        never_started = repo.stream_blob(oid)
    assert b"".join(finished) == BIG
    assert next(abandoned)
    assert len(set(git_children()) - before) == 2
    abandoned.close()
    never_started.close()
    assert set(git_children()) <= before


def test_writing_leaves_no_git_process_behind(bare):
    before = set(git_children())
    with open_repo(bare) as repo:
        repo.write([Change("a.txt", b"a\n")], "Add a", ANN, ANN, repo.tip())
        with pytest.raises(NothingToCommit):
            repo.write([Change("a.txt", b"a\n")], "Again", ANN, ANN, repo.tip())
    assert set(git_children()) <= before


def test_a_file_touched_on_the_server_without_changes_can_be_replaced(worktree):
    # Editors and backup tools rewrite files with the same bytes; only the
    # time stamp changes, which is not an edit.
    target = worktree / "apple.txt"
    os.utime(target, (1_000_000_000, 1_000_000_000))
    with open_repo(worktree) as repo:
        done = repo.write([Change("apple.txt", b"web\n")], "Web", ANN, ANN, repo.tip())
    assert tip_of(worktree, "HEAD") == done.id
    assert target.read_bytes() == b"web\n"
    assert porcelain(worktree) == ""
