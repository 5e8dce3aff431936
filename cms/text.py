"""Text rules shared by every part of the application: reading time, language keys, times.

A leaf module (it imports nothing of cms), so models, services and views can all use it.
"""

from __future__ import annotations

import math
from datetime import datetime

# One reading rate for an article's minutes and a summary's seconds.
WORDS_PER_MINUTE = 230


def reading_seconds(words: int) -> int:
    """Seconds to read ``words`` words, rounded up (any text takes at least a second)."""
    return math.ceil(words * 60 / WORDS_PER_MINUTE) if words > 0 else 0


def reading_minutes(words: int) -> int:
    """Whole minutes to read ``words`` words, rounded up: ``reading_seconds`` in minutes."""
    return math.ceil(reading_seconds(words) / 60)


def language_key(language: str | None) -> str:
    """The primary subtag of a language tag, lowercase: ``de-CH`` -> ``de``; English by default."""
    return (language or "en").strip().lower().replace("_", "-").split("-")[0] or "en"


def rfc3339(value: datetime | None) -> str | None:
    """A UTC time as the API writes it: ``2026-11-27T09:30:00Z`` (whole seconds); None stays."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")
