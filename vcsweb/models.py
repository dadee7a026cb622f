"""Database models: what Git should not store."""

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

DESCRIPTION_MAX = 10_000
PATH_MAX = 1024  # bytes, enforced by paths.py; fits a PostgreSQL index entry


def utcnow() -> datetime:
    return datetime.now(UTC)


class FileMeta(db.Model):
    """A human description of one repository path, versioned for safe edits."""

    __tablename__ = "file_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(PATH_MAX), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    def __repr__(self) -> str:
        return f"<FileMeta {self.path!r} v{self.version}>"


class DescriptionRevision(db.Model):
    """One saved description: the text, who saved it and when (the audit trail)."""

    __tablename__ = "description_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_meta_id: Mapped[int] = mapped_column(
        ForeignKey("file_meta.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    saved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


ROLES = ("viewer", "editor", "admin")


class User(db.Model):
    """A person who signs in; the role says what they may do."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_login_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )

    # Flask-Login asks these of the object it keeps for a request.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def can(self, level: str) -> bool:
        """True if the role allows 'read', 'write' or 'admin'."""
        return self.active and ROLES.index(self.role) >= ROLES.index(ROLE_FOR[level])


# The least role each level of access needs.
ROLE_FOR = {"read": "viewer", "write": "editor", "admin": "admin"}


class ApiToken(db.Model):
    """A secret a program sends as `Authorization: Bearer`; only its hash is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_used_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class LoginFailure(db.Model):
    """A failed sign-in, kept for a while to slow down password guessing."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class ChangeEvent(db.Model):
    """A change other pages should show: kept minutes, for live updates.

    Every process follows this table (PostgreSQL also announces each row
    with NOTIFY), so a page served by any worker on any host hears of a
    description saved through another. Ids only grow, even after old rows
    are pruned, so a reader can ask for "everything after id N".
    """

    __tablename__ = "change_event"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(PATH_MAX))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
