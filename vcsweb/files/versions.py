"""History, diffs, the repository log, single commits and deleted files."""

from flask import make_response, render_template, request, url_for

from .. import catalog, diffs, paths
from .blueprint import bp

DIFF_VIEWS = ("unified", "split")


@bp.get("/history/", defaults={"path": ""})
@bp.get("/history/<repopath:path>")
def history(path: str):
    """List the commits that changed a file (across renames) or a folder."""
    path = paths.repo_path(path)
    rev = request.args.get("rev") or None
    page = catalog.history(path, rev, request.args.get("page", 1, type=int))
    return render_template("files/history.html", history=page, path=path, rev=rev)


@bp.get("/diff/", defaults={"path": ""})
@bp.get("/diff/<repopath:path>")
def diff(path: str):
    """Show how a file or folder differs between two revisions."""
    path = paths.repo_path(path)
    new = request.args.get("to") or "HEAD"
    old = request.args.get("from") or None
    files = catalog.diff(old, new, path)
    return _with_view(
        "files/diff.html", files=files, path=path, old=old, new=new, mode=_diff_view()
    )


@bp.get("/commits")
def commits():
    """The branch's log, newest first, filtered by path prefix and author."""
    path = paths.repo_path(request.args.get("path", ""))
    author = request.args.get("author", "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    found, more = catalog.commits(page, path, author)
    return render_template(
        "files/commits.html",
        commits=found,
        more=more,
        page=page,
        path=path,
        author=author,
    )


@bp.get("/commit/<rev>")
def commit(rev: str):
    """One commit: message, author, parents and each changed file's diff."""
    found, files = catalog.commit_detail(rev)
    return _with_view("files/commit.html", commit=found, files=files, mode=_diff_view())


@bp.get("/deleted/", defaults={"path": ""})
@bp.get("/deleted/<repopath:path>")
def deleted(path: str):
    """Files deleted below a folder that can be brought back."""
    path = paths.repo_path(path)
    base = catalog.repository().tip() or ""
    return render_template(
        "files/deleted.html", path=path, files=catalog.deleted(path), base=base
    )


def _diff_view() -> str:
    asked = request.args.get("view")
    if asked in DIFF_VIEWS:
        return asked
    remembered = request.cookies.get("diff_view")
    return remembered if remembered in DIFF_VIEWS else "unified"


def _with_view(template: str, **context):
    """Render a diff page and remember the unified or split choice in a cookie."""
    context["side_by_side"] = diffs.side_by_side
    args = {**request.view_args, **request.args.to_dict()}
    context["view_urls"] = {
        v: url_for(request.endpoint, **{**args, "view": v}) for v in DIFF_VIEWS
    }
    response = make_response(render_template(template, **context))
    asked = request.args.get("view")
    if asked in DIFF_VIEWS:
        response.set_cookie(
            "diff_view", asked, max_age=365 * 86400, samesite="Lax", httponly=True
        )
    return response
