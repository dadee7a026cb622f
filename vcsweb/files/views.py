"""Folder pages, file pages, raw files and uploads."""

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import text

from .. import catalog, changes, content, paths
from ..auth.policy import can
from ..extensions import db
from ..htmx import render, wants_fragment
from .blueprint import bp
from .links import FolderLinks


@bp.get("/", defaults={"path": ""})
@bp.get("/tree/<repopath:path>")
def tree(path: str):
    """Show a folder: entries with last commits and descriptions, and uploads."""
    path = paths.repo_path(path)
    rev = request.args.get("rev") or None
    try:
        folder = catalog.folder(
            path,
            rev,
            request.args.get("page", 1, type=int),
            wait=request.args.get("commits") == "1",
        )
    except catalog.NotFound:
        if path and _is_file(path, rev):
            return redirect(url_for("files.blob", path=path, rev=rev))
        raise
    # Rows of a folder shown at an older commit link to that commit's versions.
    rev_shown = None if folder.at_tip or not folder.commit else folder.commit.id
    links = FolderLinks(rev_shown, can("write"), request.full_path.rstrip("?"))
    return render(
        "files/tree.html",
        "files/partials/folder.html",
        folder=folder,
        base=folder.commit.id if folder.commit else "",
        links=links,
    )


@bp.get("/tree/")
def tree_root():
    """The root folder's one address is '/'."""
    return redirect(url_for("files.tree", **request.args))


@bp.get("/blob/<repopath:path>")
def blob(path: str):
    """Show a file: highlighted text, rendered Markdown, an image or a download link."""
    path = paths.repo_path(path, allow_root=False)
    rev = request.args.get("rev") or None
    try:
        view = catalog.file(path, rev)
    except catalog.NotFound:
        if _is_folder(path, rev):
            return redirect(url_for("files.tree", path=path, rev=rev))
        raise
    source = request.args.get("view") == "source"
    rendered = None
    if view.text is not None:
        if content.is_markdown(path) and not source and not view.truncated:
            rendered = content.render_markdown(
                view.text.text,
                paths.parent(path),
                link=lambda target: url_for("files.blob", path=target, rev=rev),
                image=lambda target: url_for("files.raw", path=target, rev=rev),
            )
        else:
            rendered = content.highlight(view.text.text, paths.basename(path))
    return render_template(
        "files/blob.html",
        view=view,
        row=view.row,
        rendered=rendered,
        markdown=content.is_markdown(path),
        source=source,
        image=content.image_type(path),
        rev=rev,
        description_history=catalog.description_history(path),
    )


@bp.get("/raw/<repopath:path>")
def raw(path: str):
    """Stream a file's bytes with headers that keep it from running as a page."""
    path = paths.repo_path(path, allow_root=False)
    entry, head, chunks = catalog.stream(path, request.args.get("rev") or None)
    content_type, inline = content.raw_content_type(
        path, head, truncated=len(head) < (entry.size or 0)
    )
    if request.args.get("download"):
        inline = False
    response = Response(chunks, content_type=content_type, direct_passthrough=True)
    response.content_length = entry.size
    response.headers["Content-Disposition"] = content.content_disposition(
        paths.display(entry.name), inline
    )
    response.headers["Content-Security-Policy"] = content.RAW_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/upload/", defaults={"path": ""})
@bp.post("/upload/<repopath:path>")
def upload(path: str):
    """Commit the chosen files into this folder as one commit."""
    path = paths.repo_path(path)
    files = [
        (f.filename or "", f.stream)
        for f in request.files.getlist("files")
        if f.filename
    ]
    commit = changes.upload(
        path,
        files,
        request.form.get("message", ""),
        request.form.get("base"),
        request.form.get("replace") == "on",
    )
    names = ", ".join(paths.display(n) for n, _ in files)
    if commit is None:
        message = f"No changes: {names} already had this content."
    else:
        message = f"Uploaded {names} in commit {commit.short_id}."
    if wants_fragment():
        response = current_app.make_response(
            render_template(
                "files/partials/upload_done.html", message=message, commit=commit
            )
        )
        # The folder table listens for this and reloads itself.
        response.headers["HX-Trigger"] = "folder-changed"
        return response
    flash(message)
    return redirect(url_for("files.tree", path=path), code=303)


@bp.get("/assets/highlight.css")
def highlight_css():
    """Serve the colours for highlighted code, light and dark."""
    response = Response(content.highlight_css(), content_type="text/css; charset=utf-8")
    response.cache_control.max_age = 86400
    response.cache_control.public = True
    return response


@bp.get("/healthz")
def healthz():
    """Report whether the database and the repository answer: 200 or 503."""
    problems = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means unhealthy; the message says which
        problems["database"] = str(exc).split("\n", 1)[0]
    try:
        catalog.repository().tip()
    except catalog.GitStoreError as exc:
        problems["repository"] = str(exc)
    status = 503 if problems else 200
    body = {
        "database": problems.get("database", "ok"),
        "repository": problems.get("repository", "ok"),
    }
    return body, status


def _is_file(path: str, rev: str | None) -> bool:
    try:
        return not catalog.row(path, rev).entry.is_folder
    except catalog.NotFound:
        return False


def _is_folder(path: str, rev: str | None) -> bool:
    try:
        return catalog.row(path, rev).entry.is_folder
    except catalog.NotFound:
        return False
