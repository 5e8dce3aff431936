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


def listed_count_column() -> Mapped[int]:
    """Articles listed in this entry, public now or scheduled for later
    (``cms.services.visibility.listed_condition``), kept on write by
    ``cms.services.public.counts``. Public counts subtract the ones still to come."""
    return mapped_column(default=0, server_default=sa.text("0"))


class Section(db.Model):
    __tablename__ = "sections"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    listed_count: Mapped[int] = listed_count_column()


class Tag(db.Model):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    listed_count: Mapped[int] = listed_count_column()


class Author(db.Model):
    """A public byline. Never holds anything private: logins live in ``User``."""

    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    avatar_url: Mapped[str | None] = mapped_column(sa.String(2000))
    listed_count: Mapped[int] = listed_count_column()


class Source(db.Model):
    """Where reported facts come from, e.g. "Handelsblatt" (newspaper)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    kind: Mapped[str] = mapped_column(sa.String(32), default="newspaper")
    listed_count: Mapped[int] = listed_count_column()
