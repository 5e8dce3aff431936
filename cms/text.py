"""Text rules shared by every part of the application: reading time and language keys.

A leaf module (it imports nothing of cms), so models, services and views can all use it.
"""

from __future__ import annotations

import math

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
