"""Changing files in the browser: edit, new file, rename or move, delete, restore.

Each form carries the commit its page was built from (`base`); a change
that would overwrite someone else's newer commit is refused with 409 and
the form comes back with what the person typed.
"""

from flask import flash, redirect, render_template, request, url_for

from .. import catalog, changes, paths
from ..descriptions import ValidationError
from ..errors import status_of
from ..gitstore import Conflict
from ..redirects import local_target
from .blueprint import bp

# Errors a form shows above itself, keeping what the person typed.
FORM_ERRORS = (Conflict, ValidationError, changes.FilesExist, paths.InvalidPath)


@bp.get("/edit/<repopath:path>")
def edit(path: str):
    """Open a text file in the editor."""
    path = paths.repo_path(path, allow_root=False)
    base, text = changes.editable(path)
    return render_template(
        "files/edit.html", path=path, base=base, typed=text.text, text=text, message=""
    )


@bp.post("/edit/<repopath:path>")
def save(path: str):
    """Commit the editor's text, unless the file changed since the editor opened."""
    path = paths.repo_path(path, allow_root=False)
    typed = request.form.get("text", "")
    base = request.form.get("base", "")
    message = request.form.get("message", "")
    try:
        commit = changes.edit(path, typed, base, message)
    except (Conflict, ValidationError) as exc:
        return _editor_again(path, typed, base, message, exc)
    if commit is None:
        flash(f"No changes: {paths.display(path)} already had this text.")
    else:
        flash(f"Saved {paths.display(path)} in commit {commit.short_id}.")
    return redirect(url_for("files.blob", path=path), code=303)


def _editor_again(path, typed, base, message, exc):
    """Show the editor again with the typed text and, after a conflict, their change."""
    conflict = isinstance(exc, Conflict)
    theirs = catalog.diff(base, "HEAD", path) if conflict and base else []
    try:
        current_base, text = changes.editable(path)
    except (ValidationError, catalog.NotFound):
        current_base, text = base, None
    return render_template(
        "files/edit.html",
        path=path,
        base=current_base if conflict else base,
        typed=typed,
        text=text,
        message=message,
        error=str(exc),
        theirs=theirs,
        conflict=conflict,
    ), status_of(exc)


@bp.get("/new/", defaults={"path": ""})
@bp.get("/new/<repopath:path>")
def new(path: str):
    """A form for a new text file in a folder."""
    path = paths.repo_path(path)
    base = catalog.repository().tip() or ""
    return render_template("files/new.html", path=path, base=base, name="", typed="")


@bp.post("/new/", defaults={"path": ""})
@bp.post("/new/<repopath:path>")
def create(path: str):
    path = paths.repo_path(path)
    form = request.form
    name, typed, base = (
        form.get("name", "").strip(),
        form.get("text", ""),
        form.get("base", ""),
    )
    try:
        commit, created = changes.create(
            path, name, typed, base, form.get("message", "")
        )
    except FORM_ERRORS as exc:
        page = render_template(
            "files/new.html",
            path=path,
            base=base,
            name=name,
            typed=typed,
            error=str(exc),
        )
        return page, status_of(exc)
    flash(f"Added {paths.display(created)} in commit {commit.short_id}.")
    return redirect(url_for("files.blob", path=created), code=303)


@bp.get("/rename/<repopath:path>")
def rename(path: str):
    """A form to rename or move a file or folder."""
    path = paths.repo_path(path, allow_root=False)
    catalog.row(path)
    return _rename_form(path, catalog.repository().tip(), path)


@bp.post("/rename/<repopath:path>")
def do_rename(path: str):
    path = paths.repo_path(path, allow_root=False)
    target = request.form.get("target", "").strip()
    base = request.form.get("base", "")
    try:
        commit, new_path = changes.rename(
            path, target, base, request.form.get("message", "")
        )
    except FORM_ERRORS as exc:
        return _rename_form(path, base, target, exc)
    flash(
        f"Renamed {paths.display(path)} to {paths.display(new_path)} "
        f"in commit {commit.short_id}."
    )
    return redirect(url_for("files.blob", path=new_path), code=303)


def _rename_form(path, base, target, exc: Exception | None = None):
    repo = catalog.repository()
    is_folder = repo.kind_of(repo.tip(), path) == "folder" if repo.tip() else False
    page = render_template(
        "files/rename.html",
        path=path,
        is_folder=is_folder,
        base=base,
        target=target,
        error=str(exc) if exc else None,
    )
    return page, status_of(exc) if exc else 200


@bp.get("/delete/<repopath:path>")
def delete(path: str):
    """Ask before deleting a file or folder."""
    path = paths.repo_path(path, allow_root=False)
    row = catalog.row(path)
    base = catalog.repository().tip()
    return render_template("files/delete.html", row=row, path=path, base=base)


@bp.post("/delete/<repopath:path>")
def do_delete(path: str):
    path = paths.repo_path(path, allow_root=False)
    commit = changes.delete(
        path, request.form.get("base", ""), request.form.get("message", "")
    )
    # The folder it was in is gone too when it held nothing else.
    folder = catalog.nearest_folder(paths.parent(path), commit.id)
    where = paths.display(folder) if folder else "the top folder"
    flash(
        f"Deleted {paths.display(path)} in commit {commit.short_id}. "
        f"It can be restored from “Deleted files” in {where}."
    )
    return redirect(url_for("files.tree", path=folder), code=303)


@bp.get("/restore/<repopath:path>")
def restore(path: str):
    """Ask before writing an earlier version of a file back as a new commit."""
    path = paths.repo_path(path, allow_root=False)
    rev = request.args.get("rev", "")
    source = paths.repo_path(request.args.get("from") or path, allow_root=False)
    commit_id = catalog.repository().resolve(rev)
    commit = catalog.repository().commit(commit_id)
    catalog.repository().entry(commit_id, source)  # 404 unless it was there
    return render_template(
        "files/restore.html",
        path=path,
        source=source,
        commit=commit,
        base=catalog.repository().tip() or "",
        next=local_target(
            request.args.get("next"), url_for("files.history", path=path)
        ),
    )


@bp.post("/restore/<repopath:path>")
def do_restore(path: str):
    path = paths.repo_path(path, allow_root=False)
    form = request.form
    source = paths.repo_path(form.get("from") or path, allow_root=False)
    commit = changes.restore(
        path, form.get("rev", ""), source, form.get("base", ""), form.get("message", "")
    )
    if commit is None:
        flash(f"No changes: {paths.display(path)} already has that content.")
    else:
        flash(f"Restored {paths.display(path)} in commit {commit.short_id}.")
    return redirect(url_for("files.blob", path=path), code=303)
