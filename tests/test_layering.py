"""The code keeps its layers: Git in one place, no create_all, plain templates."""

import ast
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vcsweb"
TEMPLATES = PACKAGE / "templates"
GIT_HOME = {PACKAGE / "gitstore.py", PACKAGE / "gitstore"}

# Names that would let a template reach the database or the repository.
FORBIDDEN_NAMES = {"db", "git", "gitstore", "catalog", "models", "g", "repo"}
FORBIDDEN_NAMES |= {"repository", "extensions", "Repository", "FileMeta"}
FORBIDDEN_ATTRIBUTES = {"query", "session", "execute", "scalars", "scalar", "engine"}
FORBIDDEN_ATTRIBUTES |= {"list_folder", "read_blob", "stream_blob", "last_commits"}
FORBIDDEN_ATTRIBUTES |= {"write", "tip", "resolve", "dirty_paths", "worktree_status"}


def python_files() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    files += [p for p in (ROOT / "config.py", ROOT / "wsgi.py") if p.exists()]
    assert len(files) > 10
    return files


def inside_git_home(path: Path) -> bool:
    return any(path == home or home in path.parents for home in GIT_HOME)


def imported_modules(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and _called_name(node) in {
            "import_module",
            "__import__",
        }:
            found |= {
                arg.value
                for arg in node.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            }
    return found


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_only_the_git_layer_imports_git():
    offenders = []
    for path in python_files():
        if inside_git_home(path):
            continue
        for module in imported_modules(parsed(path)):
            top = module.split(".")[0]
            if top in {"git", "gitdb"}:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_git_layer_does_import_git():
    # Guards the test above against a move that leaves it checking nothing.
    homes = [p for p in python_files() if inside_git_home(p)]
    assert homes
    assert any("git" in imported_modules(parsed(p)) for p in homes)


def test_no_module_creates_tables_itself():
    offenders = []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call) and _called_name(node) == "create_all":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def templates() -> list[Path]:
    found = sorted(TEMPLATES.rglob("*.html"))
    assert found
    return found


@pytest.mark.parametrize(
    "template", templates(), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_templates_reach_neither_database_nor_git(template):
    tree = jinja2.Environment().parse(template.read_text(encoding="utf-8"))
    names = {n.name for n in tree.find_all(nodes.Name)}
    attributes = {n.attr for n in tree.find_all(nodes.Getattr)}
    attributes |= {
        n.arg.value
        for n in tree.find_all(nodes.Getitem)
        if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str)
    }
    assert names & FORBIDDEN_NAMES == set()
    assert attributes & FORBIDDEN_ATTRIBUTES == set()


def test_the_template_check_would_notice_a_database_call():
    tree = jinja2.Environment().parse("{{ db.session.execute(q) }}{{ g['repo'] }}")
    names = {n.name for n in tree.find_all(nodes.Name)}
    attributes = {n.attr for n in tree.find_all(nodes.Getattr)}
    assert names & FORBIDDEN_NAMES == {"db", "g"}
    assert attributes & FORBIDDEN_ATTRIBUTES == {"session", "execute"}
