"""Sections, tags, authors and sources: the public vocabularies articles refer to."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db

SOURCE_KINDS = (
    "newspaper",
    "agency",
    "broadcaster",
    "magazine",
    "online",
    "press_release",
    "research",
    "government",
    "social",
    "other",
)


class Section(db.Model):
    __tablename__ = "sections"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")


class Tag(db.Model):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class Author(db.Model):
    """A public byline. Never holds anything private: logins live in ``User``."""

    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    avatar_url: Mapped[str | None] = mapped_column(sa.String(2000))


class Source(db.Model):
    """Where reported facts come from, e.g. "Handelsblatt" (newspaper)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    kind: Mapped[str] = mapped_column(sa.String(32), default="newspaper")
