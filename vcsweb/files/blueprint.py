"""The blueprint for files: browsing, versions and changes register on it."""

from flask import Blueprint

bp = Blueprint("files", __name__)
