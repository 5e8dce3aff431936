"""§7 webhooks: the admin API, Standard Webhooks signatures (verified with the
``standardwebhooks`` package as a receiver would), retries on an injected clock, disabling,
per-article order, coalescing and SSRF defence. Deliveries run in-process here through the
functions the worker calls (``delivery.claim`` then ``delivery.attempt``) against real HTTP
receivers on 127.0.0.1; ``test_worker.py`` runs the worker itself."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook, WebhookVerificationError

from cms.extensions import db
from cms.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from cms.services.events import delivery
from tests.conftest import make_article

ALL = ["article.published", "article.updated", "article.unpublished", "article.corrected"]


@pytest.fixture(autouse=True)
def _settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_RETRY_SCHEDULE", "1s,1m,5m")
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_TIMEOUT_SECONDS", 2.0)


def create_webhook(client, headers, url, **body):
    response = client.post(
        "/api/v1/editor/webhooks", json={"url": url, "events": ALL, **body}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def run_due() -> list[str | None]:
    """What a worker does in one round, in this process: lease due deliveries, send them."""
    return [delivery.attempt(i, token, worker="test") for i, token in delivery.claim(50)]


def deliveries(client, headers, webhook_id):
    response = client.get(f"/api/v1/editor/webhooks/{webhook_id}/deliveries", headers=headers)
    assert response.status_code == 200
    return response.get_json()["data"]


def verify(secret: str, request: dict) -> dict:
    return Webhook(secret).verify(request["body"], request["headers"])


# --- admin API -------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_only_admins_manage(client, headers, receivers):
    hook = create_webhook(
        client,
        headers["admin"],
        receivers().url,
        description="Search indexer",
        filters={"section": "news"},
        coalesce_seconds=5,
    )
    assert hook["secret"].startswith("whsec_")
    assert hook["filters"] == {"section": "news", "tag": None}
    assert hook["enabled"] is True
    shown = client.get(f"/api/v1/editor/webhooks/{hook['id']}", headers=headers["admin"])
    assert shown.status_code == 200 and "secret" not in shown.get_json()
    assert shown.headers["Cache-Control"] == "no-store"
    listed = client.get("/api/v1/editor/webhooks", headers=headers["admin"]).get_json()
    assert [h["id"] for h in listed["data"]] == [hook["id"]] and "secret" not in listed["data"][0]
    assert client.get("/api/v1/editor/webhooks", headers=headers["editor"]).status_code == 403
    assert client.get("/api/v1/editor/webhooks").status_code == 401

    patched = client.patch(
        f"/api/v1/editor/webhooks/{hook['id']}",
        json={"events": ["article.published"], "enabled": False},
        headers=headers["admin"],
    ).get_json()
    assert patched["events"] == ["article.published"] and patched["enabled"] is False
    assert (
        client.delete(f"/api/v1/editor/webhooks/{hook['id']}", headers=headers["admin"]).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/editor/webhooks/{hook['id']}", headers=headers["admin"]).status_code
        == 404
    )
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert [a for a in actions if a.startswith("webhook.")] == [
        "webhook.create",
        "webhook.update",
        "webhook.delete",
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "http://127.0.0.1:9/x", "events": ["article.deleted"]}, "events.0"),
        ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
        ({"url": "ftp://example.org/x", "events": ["article.published"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["article.published"]}, "url"),
        (
            {
                "url": "http://127.0.0.1:9/x",
                "events": ["article.published"],
                "description": "x" * 501,
            },
            "description",
        ),
        (
            {
                "url": "http://127.0.0.1:9/x",
                "events": ["article.published"],
                "coalesce_seconds": -1,
            },
            "coalesce_seconds",
        ),
        (
            {
                "url": "http://127.0.0.1:9/x",
                "events": ["article.published"],
                "filters": {"desk": "x"},
            },
            "filters.desk",
        ),
        (
            {"url": "http://127.0.0.1:9/x", "events": ["article.published"], "colour": "red"},
            "colour",
        ),
    ],
)
def test_bad_input_is_422_naming_the_field(client, headers, body, field):
    response = client.post("/api/v1/editor/webhooks", json=body, headers=headers["admin"])
    assert response.status_code == 422, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",  # a name resolving to loopback
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://internal.example/hook",  # resolves to 10.x (below)
    ],
)
def test_private_targets_are_refused_at_creation(app, client, headers, monkeypatch, url):
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_ALLOW_PRIVATE", False)
    _fake_dns(monkeypatch, {"internal.example": "10.20.30.40"})
    response = client.post(
        "/api/v1/editor/webhooks",
        json={"url": url, "events": ["article.published"]},
        headers=headers["admin"],
    )
    assert response.status_code == 422, response.get_json()
    assert "url" in response.get_json()["errors"]


def _fake_dns(monkeypatch, names: dict[str, str]):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port or 80))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_public_target_is_accepted_and_rechecked_at_delivery(app, client, headers, monkeypatch):
    """DNS rebinding: public at creation, 10.x at delivery: refused before connecting."""
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_ALLOW_PRIVATE", False)
    _fake_dns(monkeypatch, {"hooks.example.com": "93.184.216.34"})
    hook = create_webhook(client, headers["admin"], "https://hooks.example.com/cms")
    make_article("Rebinding")
    _fake_dns(monkeypatch, {"hooks.example.com": "10.0.0.7"})
    assert run_due() == ["pending"]
    [item] = deliveries(client, headers["admin"], hook["id"])
    assert item["attempts"][0]["status_code"] is None
    assert "10.0.0.7" in item["attempts"][0]["error"]
    assert item["attempts"][0]["error"].startswith("refused")


# --- delivery ----------------------------------------------------------------------------------


def test_every_event_type_arrives_signed(client, headers, receivers):
    from cms.services import events

    hook_receiver = receivers()
    hook = create_webhook(client, headers["admin"], hook_receiver.url)
    article = make_article("Bridge reopens")
    response = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"title": "Bridge reopens after repairs"},
        headers={**headers["editor"], "If-Match": f'"a{article.id}-v{article.version}"'},
    )
    assert response.status_code == 200
    db.session.expire_all()
    events.record(db.session, "article.corrected", article)
    db.session.commit()
    response = client.post(
        f"/api/v1/editor/articles/{article.id}/unpublish",
        headers={**headers["editor"], "If-Match": f'"a{article.id}-v{article.version}"'},
    )
    assert response.status_code == 200
    for _ in range(4):
        run_due()  # one per round: an article's events go in order
    got = hook_receiver.wait_for(4)
    payloads = [verify(hook["secret"], r) for r in got]
    assert [p["type"] for p in payloads] == [
        "article.published",
        "article.updated",
        "article.corrected",
        "article.unpublished",
    ]
    assert [p["data"]["type"] for p in payloads] == [p["type"] for p in payloads]
    assert payloads[0]["data"]["article"]["slug"] == "bridge-reopens"
    assert payloads[3]["data"]["reason"] == "unpublished"
    assert all(
        r["headers"]["webhook-id"] == p["data"]["id"] for r, p in zip(got, payloads, strict=True)
    )
    sequences = [p["data"]["sequence"] for p in payloads]
    assert sequences == sorted(sequences)
    # a tampered body or another secret fails verification
    with pytest.raises(WebhookVerificationError):
        verify(hook["secret"], {**got[0], "body": got[0]["body"].replace(b"bridge", b"b")})
    with pytest.raises(WebhookVerificationError):
        verify(delivery.new_secret(), got[0])
    items = deliveries(client, headers["admin"], hook["id"])
    assert {i["state"] for i in items} == {"delivered"}
    assert items[0]["attempts"][0]["status_code"] == 200
    assert items[0]["attempts"][0]["duration_ms"] >= 0


def test_test_event_rotation_and_redeliver(client, headers, receivers):
    hook_receiver = receivers()
    hook = create_webhook(client, headers["admin"], hook_receiver.url)
    old_secret = hook["secret"]
    sent = client.post(f"/api/v1/editor/webhooks/{hook['id']}/test", headers=headers["admin"])
    assert sent.status_code == 202 and sent.get_json()["state"] == "pending"
    run_due()
    [first] = hook_receiver.wait_for(1)
    assert verify(old_secret, first)["type"] == "webhook.test"

    rotated = client.post(
        f"/api/v1/editor/webhooks/{hook['id']}/rotate-secret", headers=headers["admin"]
    ).get_json()
    new_secret = rotated["secret"]
    assert new_secret != old_secret and rotated["previous_secret_until"]
    redo = client.post(
        f"/api/v1/editor/webhooks/{hook['id']}/deliveries/{sent.get_json()['id']}/redeliver",
        headers=headers["admin"],
    )
    assert redo.status_code == 202
    run_due()
    second = hook_receiver.wait_for(2)[1]
    assert second["headers"]["webhook-id"] == first["headers"]["webhook-id"]
    assert len(second["headers"]["webhook-signature"].split(" ")) == 2  # both secrets sign
    verify(new_secret, second)
    verify(old_secret, second)  # receivers still on the old secret keep working for 24 h
    missing = client.post(
        f"/api/v1/editor/webhooks/{hook['id']}/deliveries/999999/redeliver",
        headers=headers["admin"],
    )
    assert missing.status_code == 404


def test_double_signing_ends_after_24_hours(client, headers, receivers, clock):
    hook_receiver = receivers()
    hook = create_webhook(client, headers["admin"], hook_receiver.url)
    client.post(f"/api/v1/editor/webhooks/{hook['id']}/rotate-secret", headers=headers["admin"])
    clock.advance(hours=25)
    client.post(f"/api/v1/editor/webhooks/{hook['id']}/test", headers=headers["admin"])
    run_due()
    [got] = hook_receiver.wait_for(1)
    assert len(got["headers"]["webhook-signature"].split(" ")) == 1


def test_retry_schedule_with_backoff_and_jitter(app, client, headers, receivers, clock):
    hook_receiver = receivers([500, 503, 500, 500])
    hook = create_webhook(client, headers["admin"], hook_receiver.url)
    make_article("Retry me")
    assert run_due() == ["pending"]
    waits = []
    for _ in range(3):
        [row] = db.session.scalars(sa.select(WebhookDelivery)).all()
        db.session.refresh(row)
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        assert run_due() == []  # not due yet
        clock.now = row.next_attempt_at
        state = run_due()
    assert state == ["failed"]  # the schedule has 3 retries: 4 attempts, then it gives up
    assert 0.8 <= waits[0] <= 1.2
    assert 48 <= waits[1] <= 72
    assert 240 <= waits[2] <= 360
    [item] = deliveries(client, headers["admin"], hook["id"])
    assert [a["status_code"] for a in item["attempts"]] == [500, 503, 500, 500]
    assert item["attempts"][0]["next_retry_at"] is not None
    assert item["attempts"][-1]["next_retry_at"] is None
    assert "500" in item["attempts"][0]["error"]
    # one webhook-id on every attempt
    assert len({r["headers"]["webhook-id"] for r in hook_receiver.requests}) == 1


def test_default_schedule_retries_for_about_a_day(app):
    from cms.config import SETTINGS

    default = next(s.default for s in SETTINGS if s.name == "CMS_WEBHOOK_RETRY_SCHEDULE")
    schedule = delivery.parse_schedule(default)
    assert schedule[0] <= 60  # the first retry within a minute
    assert 20 * 3600 <= sum(schedule) <= 30 * 3600


def test_gone_disables_the_endpoint_and_audits(client, headers, receivers):
    hook_receiver = receivers([410])
    hook = create_webhook(client, headers["admin"], hook_receiver.url)
    make_article("First")
    make_article("Second")
    run_due()
    shown = client.get(f"/api/v1/editor/webhooks/{hook['id']}", headers=headers["admin"]).get_json()
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    states = sorted(i["state"] for i in deliveries(client, headers["admin"], hook["id"]))
    assert states == ["cancelled", "failed"]
    make_article("Third")  # not queued for a disabled endpoint
    assert len(deliveries(client, headers["admin"], hook["id"])) == 2
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "webhook.disable")
    ).resource_id == str(hook["id"])


def test_failing_for_five_days_disables_and_audits(
    app, client, headers, receivers, clock, monkeypatch
):
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_RETRY_SCHEDULE", "1d,1d,1d,1d,1d,1d,1d")
    hook_receiver = receivers(lambda n, request: 500)
    hook = create_webhook(client, headers["admin"], hook_receiver.url)
    make_article("Never arrives")
    for _ in range(7):
        run_due()
        clock.advance(days=1, hours=6)
        shown = client.get(f"/api/v1/editor/webhooks/{hook['id']}", headers=headers["admin"])
        if not shown.get_json()["enabled"]:
            break
    shown = shown.get_json()
    assert shown["enabled"] is False
    assert "5 days" in shown["disabled_reason"]
    assert shown["failing_since"] is not None
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "webhook.disable"))
        == 1
    )


def test_receiver_faults_are_retried_and_logged(client, headers, receivers, app, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_TIMEOUT_SECONDS", 0.5)
    hanging = receivers(hang_seconds=2)
    redirecting = receivers([301])
    hook_hang = create_webhook(client, headers["admin"], hanging.url)
    hook_redirect = create_webhook(client, headers["admin"], redirecting.url)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    closed.close()  # nothing listens: connection refused
    hook_closed = create_webhook(client, headers["admin"], closed_url)
    make_article("Faults")
    assert sorted(run_due()) == ["pending", "pending", "pending"]
    hang = deliveries(client, headers["admin"], hook_hang["id"])[0]["attempts"][0]
    assert "timed out" in hang["error"]
    redirect = deliveries(client, headers["admin"], hook_redirect["id"])[0]["attempts"][0]
    assert redirect["status_code"] == 301 and "not followed" in redirect["error"]
    assert len(redirecting.requests) == 1  # the metadata address was never asked
    refused = deliveries(client, headers["admin"], hook_closed["id"])[0]["attempts"][0]
    assert refused["status_code"] is None and "Connection" in refused["error"]


def test_one_article_reaches_an_endpoint_in_order(client, headers, receivers, clock):
    hook_receiver = receivers([500])  # the first delivery fails once
    create_webhook(client, headers["admin"], hook_receiver.url)
    article = make_article("Ordered")
    other = make_article("Unrelated")
    article.title = "Ordered, edited"
    db.session.commit()
    run_due()  # 1st of "ordered" fails; "unrelated" is not held up; the edit waits
    assert [r["json"]["data"]["article"]["id"] for r in hook_receiver.requests] == [
        article.id,
        other.id,
    ]
    clock.advance(seconds=2)
    run_due()  # the retry goes out; the edit still waits for it to finish
    run_due()
    got = [(r["json"]["type"], r["json"]["data"]["article"]["id"]) for r in hook_receiver.requests]
    assert got == [
        ("article.published", article.id),
        ("article.published", other.id),
        ("article.published", article.id),
        ("article.updated", article.id),
    ]


def test_coalesce_merges_a_burst_into_the_latest_state(client, headers, receivers, clock):
    hook_receiver = receivers()
    hook = create_webhook(client, headers["admin"], hook_receiver.url, coalesce_seconds=30)
    article = make_article("Burst")
    for n in range(3):
        article.title = f"Burst, edit {n}"
        db.session.commit()
    assert run_due() == []  # waiting for the burst to end
    clock.advance(seconds=31)
    run_due()
    [got] = hook_receiver.wait_for(1)
    assert got["json"]["type"] == "article.published"  # the receivers never heard of it before
    assert got["json"]["data"]["article"]["slug"] == "burst"
    items = deliveries(client, headers["admin"], hook["id"])
    assert sorted(i["state"] for i in items) == ["coalesced"] * 3 + ["delivered"]
    delivered = next(i for i in items if i["state"] == "delivered")
    into = {i["id"]: i["coalesced_into_id"] for i in items}
    for item in items:  # each merged delivery points at the one that replaced it
        ident = item["id"]
        while into[ident] is not None:
            ident = into[ident]
        assert ident == delivered["id"]


def test_endpoint_filters_see_removals(client, headers, receivers):
    news = receivers()
    sport_hook_receiver = receivers()
    create_webhook(client, headers["admin"], news.url, filters={"section": "news"})
    create_webhook(client, headers["admin"], sport_hook_receiver.url, filters={"section": "sport"})
    article = make_article("Moves desks")
    response = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"section": "sport"},
        headers={**headers["editor"], "If-Match": f'"a{article.id}-v{article.version}"'},
    )
    assert response.status_code == 200
    run_due()
    run_due()
    assert [(r["json"]["type"], r["json"]["data"]["reason"]) for r in news.requests] == [
        ("article.published", None),
        ("article.unpublished", "moved"),
    ]
    assert [r["json"]["type"] for r in sport_hook_receiver.requests] == ["article.published"]
