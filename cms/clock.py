"""The one clock of the application. Tests call ``set_clock`` to move time without sleeping."""

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Use ``source`` as the current time (``None`` restores the system clock)."""
    global _source
    _source = source or _system_now
