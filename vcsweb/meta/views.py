"""Description fragments: show, edit and save a path's description in place."""

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import catalog, paths
from ..htmx import render, wants_fragment
from ..redirects import local_target

bp = Blueprint("meta", __name__)


@bp.get("/meta/<repopath:path>")
def show(path: str):
    """Return the description display fragment (what Cancel goes back to)."""
    path = paths.repo_path(path, allow_root=False)
    if wants_fragment():
        response = make_response(
            render_template(
                "meta/partials/description.html",
                path=path,
                d=catalog.current_description(path),
                next=local_target(request.args.get("next"), ""),
            )
        )
    else:
        response = redirect(url_for("files.blob", path=path))
    response.vary.add("HX-Request")
    return response


@bp.get("/meta-edit/<repopath:path>")
def edit(path: str):
    """Return the edit form: a fragment for htmx, a page without JavaScript."""
    path = paths.repo_path(path, allow_root=False)
    catalog.row(path)
    d = catalog.current_description(path)
    return _form(path, d.text, d.version)


@bp.route("/meta/<repopath:path>", methods=["PUT", "POST"])
def save(path: str):
    """Save a description if nobody saved a newer one since the form was opened."""
    path = paths.repo_path(path, allow_root=False)
    typed = request.form.get("description", "")
    version = request.form.get("version", type=int)
    if version is None:
        return _form(
            path,
            typed,
            0,
            error="The form is missing its version; reload the page.",
            status=422,
        )
    try:
        d = catalog.save_description(path, typed, version)
    except catalog.ValidationError as exc:
        return _form(path, typed, version, error=str(exc), status=422)
    except catalog.StaleDescription as exc:
        return _form(path, typed, exc.current.version, theirs=exc.current, status=409)
    except catalog.NotFound:
        return _gone(path, typed, version)
    if wants_fragment():
        return render_template(
            "meta/partials/description.html",
            path=path,
            d=d,
            next=_next(path),
            saved=True,
        )
    return redirect(_next(path), code=303)


def _next(path: str) -> str:
    return local_target(request.values.get("next"), url_for("files.blob", path=path))


def _form(path, typed, version, error=None, theirs=None, status=200, **extra):
    return render(
        "meta/edit.html",
        "meta/partials/description_form.html",
        status=status,
        path=path,
        typed=typed,
        version=version,
        error=error,
        theirs=theirs,
        next=_next(path),
        **extra,
    )


def _gone(path, typed, version):
    """The form again, text kept, for a path the branch no longer has."""
    folder = paths.parent(path)
    return _form(
        path,
        typed,
        version,
        error=(
            f"{paths.display(path)} no longer exists: it was deleted or moved "
            "meanwhile, so nothing was saved. Your text is still in the field."
        ),
        status=404,
        deleted_url=url_for("files.deleted", path=folder),
        deleted_in=paths.display(folder) or "the top folder",
    )


@bp.post("/meta-restore/<repopath:path>")
def restore(path: str):
    """Save an earlier text of a description again as its newest version."""
    path = paths.repo_path(path, allow_root=False)
    revision = request.form.get("revision", type=int)
    version = request.form.get("version", type=int)
    if revision is None or version is None:
        raise catalog.ValidationError(
            "The form is missing its revision; reload the page."
        )
    try:
        catalog.restore_description(path, revision, version)
    except catalog.StaleDescription:
        flash(
            "The description changed meanwhile; nothing was restored. "
            "Look again and retry."
        )
    else:
        flash("The earlier description is the current one again.")
    return redirect(url_for("files.blob", path=path), code=303)
