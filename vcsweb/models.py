"""Database models: what Git should not store."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
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
