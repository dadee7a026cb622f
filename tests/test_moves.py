"""What a move of the branch changed, as live updates need it, on real repositories."""

from tests import gitutil
from vcsweb.gitstore import Repository


def test_forward_move_lists_every_path_its_commits_changed(tmp_path):
    work = gitutil.make_repo(
        tmp_path / "work", {"a.txt": "a\n", "docs/b.md": "b\n", "src/c.py": "c\n"}
    )
    old = gitutil.git(work, "rev-parse", "HEAD").strip()
    gitutil.commit_files(work, {"docs/b.md": "changed\n"}, "Change b")
    # Changed and changed back: its last commit moved although its text did not.
    gitutil.commit_files(work, {"a.txt": "other\n"}, "Change a")
    new = gitutil.commit_files(work, {"a.txt": "a\n", "src/c.py": None}, "Revert a")

    with Repository(str(work), "main") as repo:
        move = repo.branch_move(old, new)

    assert move.touched == {"docs/b.md", "a.txt", "src/c.py"}
    assert move.deleted == {"src/c.py"}
    assert move.touches("docs") and move.touches("") and move.touches("a.txt")
    assert not move.touches("doc") and not move.touches("docs/other.md")


def test_merge_counts_what_it_brought_in(tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"a.txt": "a\n", "b.txt": "b\n"})
    old = gitutil.git(work, "rev-parse", "HEAD").strip()
    gitutil.git(work, "checkout", "-q", "-b", "side")
    gitutil.commit_files(work, {"side/new.txt": "new\n"}, "On the side")
    gitutil.git(work, "checkout", "-q", "main")
    gitutil.commit_files(work, {"a.txt": "main\n"}, "On main")
    gitutil.git(work, "merge", "-q", "--no-edit", "side")
    new = gitutil.git(work, "rev-parse", "HEAD").strip()

    with Repository(str(work), "main") as repo:
        move = repo.branch_move(old, new)

    assert move.touched == {"a.txt", "side/new.txt"}


def test_rewritten_or_unknown_history_means_anything_may_have_changed(tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"a.txt": "a\n"})
    first = gitutil.commit_files(work, {"b.txt": "b\n"}, "Add b")
    gitutil.git(work, "commit", "-q", "--amend", "-m", "Add b, reworded")
    rewritten = gitutil.git(work, "rev-parse", "HEAD").strip()

    with Repository(str(work), "main") as repo:
        assert repo.branch_move(first, rewritten).touched is None
        assert repo.branch_move("0" * 40, rewritten).touched is None
        assert repo.branch_move(None, rewritten).touched is None
        assert repo.branch_move(rewritten, rewritten).touched == frozenset()


def test_a_tip_has_seen_itself_and_its_history_only(tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"a.txt": "a\n"})
    first = gitutil.git(work, "rev-parse", "HEAD").strip()
    second = gitutil.commit_files(work, {"b.txt": "b\n"}, "Add b")
    gitutil.git(work, "commit", "-q", "--amend", "-m", "Add b, reworded")
    rewritten = gitutil.git(work, "rev-parse", "HEAD").strip()

    with Repository(str(work), "main") as repo:
        assert repo.has_seen(second, second)
        assert repo.has_seen(second, first)
        assert not repo.has_seen(first, second)
        assert not repo.has_seen(rewritten, second)
        assert not repo.has_seen(rewritten, "0" * 40)
