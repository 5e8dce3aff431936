"""Short soaks in CI (PostgreSQL only): several gunicorn workers under mixed read and write
load, one worker killed with SIGKILL in the middle, or the soak's own database cut off for 3
seconds; no 500, every 503 with Retry-After, and every acknowledged write is there exactly once
afterwards. The full runs (and the cluster restarts) are manual: see bench/README.md "Soak".
"""

from __future__ import annotations

import os

import pytest

BASE = os.environ.get("CMS_TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not BASE.startswith(("postgresql", "postgres:")),
    reason="the soak runs on PostgreSQL (set CMS_TEST_DATABASE_URL)",
)


def test_short_soak_with_a_killed_worker_loses_nothing():
    from bench.soak.soak import run

    result = run(BASE, duration=10, workers=3, readers=3, editors=3, kill_worker_at=4)

    assert result.events and "SIGKILL" in result.events[0]
    assert result.acknowledged_creates > 0 and result.requests > 100
    assert not result.server_errors, result.server_errors
    assert not any(isinstance(s, int) and s >= 500 for s in result.statuses), result.statuses
    assert result.found == result.acknowledged_creates
    assert result.missing == [] and result.wrong_title == []
    assert result.duplicates == {}
    assert result.half_written == []


def test_short_soak_through_a_database_outage_answers_503_never_500():
    """``--outage-at``: the soak's database terminates its connections and refuses new ones for
    3 seconds (only that database: the shared server is not restarted)."""
    from bench.soak.soak import BARE_503, run

    result = run(BASE, duration=6, workers=2, readers=3, editors=2, outage_at=1.5)

    assert result.events and "unreachable" in result.events[0]
    assert result.statuses.get(503), result.statuses  # the outage was felt
    assert 500 not in result.statuses, result.server_errors
    assert BARE_503 not in result.statuses
    assert result.acknowledged_creates > 0
    assert result.found == result.acknowledged_creates
    assert result.missing == [] and result.wrong_title == []
    assert result.duplicates == {}
    assert result.half_written == []
