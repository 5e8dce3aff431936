"""``flask --app wsgi import FILE``: bulk loading JSON lines, through the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article, DerivedJob, Suggestion
from cms.text import rfc3339
from tests.conftest import drain, make_article

PARAGRAPH = (
    "Dockworkers in Westerhaven walked off the job on Monday after pay talks collapsed. "
    "The union said the harbour would stay closed until the port authority made a new offer. "
    "Container ships queued off the breakwater as the strike entered its second day."
)


def _line(title: str, **extra) -> str:
    body = [
        {"type": "paragraph", "text": PARAGRAPH, "attribution": {"source": "wire-agency"}},
        {"type": "paragraph", "text": f"{title} was reported by several outlets on Monday."},
    ]
    return json.dumps({"title": title, "body": body, **extra})


def _run(app, tmp_path, lines: list[str]):
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return app.test_cli_runner().invoke(args=["import", str(path)])


def test_import_loads_good_lines_publicly_with_counts(app, client, tmp_path, taxonomy, clock):
    yesterday = rfc3339(clock.now - timedelta(days=1))
    lines = [
        _line(
            "Harbour strike enters second day",
            status="published",
            published_at=yesterday,
            section="harbour-news",
            tags=["port", "strikes"],
            authors=["new-reporter"],
            sources=["handelsblatt"],
        ),
        _line("Port talks resume", status="published", section="harbour-news", tags=["strikes"]),
        _line("Draft about the strike", section="harbour-news", tags=["strikes"]),
    ]
    result = _run(app, tmp_path, lines)
    assert result.exit_code == 0, result.output
    assert "Loaded 3 articles in" in result.output
    assert "articles/s" in result.output

    listed = client.get("/api/v1/articles?section=harbour-news").get_json()["data"]
    assert {a["title"] for a in listed} == {"Harbour strike enters second day", "Port talks resume"}
    first = next(a for a in listed if a["slug"] == "harbour-strike-enters-second-day")
    assert first["published_at"] == yesterday
    assert first["section"] == {"slug": "harbour-news", "name": "Harbour News"}

    detail = client.get("/api/v1/articles/harbour-strike-enters-second-day").get_json()
    assert [a["slug"] for a in detail["authors"]] == ["new-reporter"]
    assert {s["slug"] for s in detail["sources"]} == {"handelsblatt", "wire-agency"}
    assert detail["summary"]["origin"] == "auto" and detail["summary"]["tldr"]
    assert "(Wire Agency)" in detail["body_html"]

    # created taxonomy entries count only the published articles
    assert client.get("/api/v1/sections/harbour-news").get_json()["article_count"] == 2
    assert client.get("/api/v1/tags/strikes").get_json()["article_count"] == 2
    assert client.get("/api/v1/tags/port").get_json()["article_count"] == 1
    assert client.get("/api/v1/sources/wire-agency").get_json()["article_count"] == 2
    assert client.get("/api/v1/authors/new-reporter").get_json()["article_count"] == 1

    # found by search at once; related suggestions between the two published ones once the
    # worker's jobs (one per article) have run
    found = client.get("/api/v1/search?q=dockworkers").get_json()["data"]
    assert {a["slug"] for a in found} == {"harbour-strike-enters-second-day", "port-talks-resume"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DerivedJob)) == 3
    assert client.get("/api/v1/articles/port-talks-resume/related").get_json()["related"] == []
    assert "Ran 3 derived-data jobs" in drain(app)
    related = client.get("/api/v1/articles/port-talks-resume/related").get_json()["related"]
    assert [r["article"]["slug"] for r in related] == ["harbour-strike-enters-second-day"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suggestion)) == 6


def test_drafts_stay_invisible(app, client, tmp_path, taxonomy):
    result = _run(app, tmp_path, [_line("Secret plan for the harbour", tags=["strikes"])])
    assert result.exit_code == 0, result.output
    article = db.session.scalar(sa.select(Article))
    assert article.status == "draft" and article.published_at is None
    slug = article.slug
    assert client.get(f"/api/v1/articles/{slug}").status_code == 404
    assert client.get(f"/api/v1/articles/{slug}/summary").status_code == 404
    assert client.get("/api/v1/articles").get_json()["data"] == []
    assert client.get("/api/v1/search?q=dockworkers").get_json()["data"] == []
    assert client.get("/api/v1/tags/strikes").get_json()["article_count"] == 0


def test_future_published_at_is_scheduled(app, client, tmp_path, taxonomy, clock):
    later = rfc3339(clock.now + timedelta(days=1))
    result = _run(app, tmp_path, [_line("Tomorrow", status="published", published_at=later)])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Article.status)) == "scheduled"
    assert client.get("/api/v1/articles/tomorrow").status_code == 404


def test_bad_lines_reported_by_number_and_skipped(app, client, tmp_path, taxonomy):
    lines = [
        _line("Good one", status="published"),
        "{not json",
        json.dumps({"subtitle": "no title"}),
        _line("Bad status", status="archived"),
        "",
        _line("Draft with a time", published_at="2026-01-01T00:00:00Z"),
        json.dumps({"title": "Bad block", "body": [{"type": "paragraph"}]}),
        _line("Good one", status="published", slug="good-one"),
        json.dumps(["a", "list"]),
        _line("Second good", status="published", colour="red"),
        _line("Second good", status="published"),
    ]
    result = _run(app, tmp_path, lines)
    assert result.exit_code == 1
    errors = {
        int(line.split(":")[0].removeprefix("line ")): line
        for line in result.output.splitlines()
        if line.startswith("line ")
    }
    assert sorted(errors) == [2, 3, 4, 6, 7, 8, 9, 10]
    assert "not valid JSON" in errors[2]
    assert "title" in errors[3]
    assert "status" in errors[4]
    assert "published_at" in errors[6]
    assert "body.0.text" in errors[7]
    assert "already in use" in errors[8]
    assert "not a JSON object" in errors[9]
    assert "colour" in errors[10]
    assert "Loaded 2 articles" in result.output
    assert "skipped 8 bad lines" in result.output
    slugs = {a["slug"] for a in client.get("/api/v1/articles").get_json()["data"]}
    assert slugs == {"good-one", "second-good"}


def test_import_slugs_avoid_existing_and_repeat_titles(app, client, tmp_path, taxonomy):
    make_article(title="Same title", status="published")
    lines = [_line("Same title", status="published") for _ in range(3)]
    result = _run(app, tmp_path, lines)
    assert result.exit_code == 0, result.output
    slugs = set(db.session.scalars(sa.select(Article.slug)))
    assert slugs == {"same-title", "same-title-2", "same-title-3", "same-title-4"}


def test_import_in_several_batches_offers_to_earlier_articles(app, client, tmp_path, taxonomy):
    lines = [_line(f"Harbour strike update {n}", status="published") for n in range(5)]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(path), "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    drain(app)
    first = client.get("/api/v1/articles/harbour-strike-update-0/related").get_json()["related"]
    assert len(first) == 4  # the articles of later batches reached the first one's list


def test_import_jobs_prepare_in_worker_processes_as_one_process_would(
    app, client, tmp_path, taxonomy, monkeypatch
):
    from cms.services.content import importing

    pools = []
    real_pool = importing._pool
    monkeypatch.setattr(importing, "CHUNK", 2)  # several chunks from a few lines
    monkeypatch.setattr(importing, "_pool", lambda jobs: pools.append(jobs) or real_pool(jobs))
    lines = [
        _line(
            f"Harbour strike day {n}", status="published", tags=["strikes"], section="harbour-news"
        )
        for n in range(6)
    ]
    lines.insert(3, "{not json")
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    one = app.test_cli_runner().invoke(args=["import", str(path), "--jobs", "1"])
    assert one.exit_code == 1 and "line 4: not valid JSON" in one.output
    assert "Loaded 6 articles" in one.output and pools == []
    two = app.test_cli_runner().invoke(
        args=["import", str(path), "--jobs", "2", "--batch-size", "3"]
    )
    assert two.exit_code == 1 and "line 4: not valid JSON" in two.output
    assert "Loaded 6 articles" in two.output and pools == [2]

    def stored(slug):
        a = db.session.scalar(sa.select(Article).where(Article.slug == slug))
        return (
            a.body,
            a.body_html,
            a.body_text,
            a.excerpt,
            a.word_count,
            a.summary.tldr,
            a.summary.key_points,
            a.status,
        )

    for n in range(6):
        assert stored(f"harbour-strike-day-{n}") == stored(f"harbour-strike-day-{n}-2")
    assert "(Wire Agency)" in stored("harbour-strike-day-5-2")[1]
    assert client.get("/api/v1/tags/strikes").get_json()["article_count"] == 12
    assert client.get("/api/v1/sections/harbour-news").get_json()["article_count"] == 12
    found = client.get("/api/v1/search?q=dockworkers&limit=50").get_json()["data"]
    assert len(found) == 12
    assert "Ran 12 derived-data jobs" in drain(app)


def test_import_last_batch_in_pieces_writes_what_a_whole_batch_would(
    app, client, tmp_path, taxonomy, monkeypatch
):
    """The last batch is written in pieces while the workers still prepare it; the batch's new
    taxonomy entries are created before its first piece, in the order a whole batch creates
    them, and its counts, search entries and events come out as for a whole batch."""
    from cms.models import ArticleEventState, Tag
    from cms.services.content import importing

    monkeypatch.setattr(importing, "CHUNK", 2)
    monkeypatch.setattr(importing, "PIECE", 1)
    written = []
    real_write = importing._write_articles
    monkeypatch.setattr(
        importing,
        "_write_articles",
        lambda made, now: written.append(len(made)) or real_write(made, now),
    )
    # The workers are always behind: every article is written as soon as it is built.
    monkeypatch.setattr(importing._Batch, "waiting_for", lambda self, number: self.last)

    def lines(prefix):
        return [
            _line(f"{prefix} strike day 0", status="published", tags=[f"{prefix}-zeta"]),
            *(
                _line(
                    f"{prefix} strike day {n}",
                    status="published",
                    tags=[f"{prefix}-alpha", f"{prefix}-zeta"],
                    section=f"{prefix}-news",
                )
                for n in range(1, 6)
            ),
            "{not json",
            _line(f"{prefix} strike day 6", section=f"{prefix}-news", tags=[f"{prefix}-alpha"]),
        ]

    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines("larch")) + "\n", encoding="utf-8")
    whole = app.test_cli_runner().invoke(args=["import", str(path), "--jobs", "1"])
    assert "Loaded 7 articles" in whole.output and written == [7]
    written.clear()
    path.write_text("\n".join(lines("birch")) + "\n", encoding="utf-8")
    pieces = app.test_cli_runner().invoke(args=["import", str(path), "--jobs", "2"])
    assert "Loaded 7 articles" in pieces.output and "line 7: not valid JSON" in pieces.output
    assert written == [1] * 7

    def tag_id(slug):
        return db.session.scalar(sa.select(Tag.id).where(Tag.slug == slug))

    # Created for the whole batch, in slug order, although the first piece needs only zeta.
    assert tag_id("larch-alpha") < tag_id("larch-zeta")
    assert tag_id("birch-alpha") < tag_id("birch-zeta")

    def stored(prefix, n):
        a = db.session.scalar(sa.select(Article).where(Article.slug == f"{prefix}-strike-day-{n}"))
        state = db.session.get(ArticleEventState, a.id)
        return repr(
            (
                a.body_html,
                a.summary.tldr,
                a.status,
                [t.slug for t in a.tags],
                state and state.visible,
            )
        ).replace(prefix, "*")

    for n in range(7):
        assert stored("larch", n) == stored("birch", n)
    for prefix in ("larch", "birch"):
        assert client.get(f"/api/v1/tags/{prefix}-zeta").get_json()["article_count"] == 6
        assert client.get(f"/api/v1/tags/{prefix}-alpha").get_json()["article_count"] == 5
        assert client.get(f"/api/v1/sections/{prefix}-news").get_json()["article_count"] == 5
        found = client.get(f"/api/v1/search?q={prefix}&limit=50").get_json()["data"]
        assert len(found) == 6


def test_import_writes_what_a_save_would(app, client, tmp_path, taxonomy, clock):
    """The import writes rows in bulk, without the session's hooks: its cards, revisions,
    summaries, counts, search entries and events are what a save leaves."""
    from cms.models import ArticleEventState, Event, Revision, Section, StoredCard, Tag
    from cms.services.content import revisions
    from cms.services.events import log
    from cms.services.public import cards, counts
    from cms.services.summaries.summarizer import summarize

    yesterday = rfc3339(clock.now - timedelta(days=1))
    lines = [
        _line(
            "Harbour strike enters second day",
            status="published",
            published_at=yesterday,
            section="news",
            tags=["strikes", "port", "strikes"],
            authors=["new-reporter", "other-reporter"],
            sources=["handelsblatt", "wire-agency"],
            subtitle="Ships queue off the breakwater",
            hero_image={"url": "https://img.example.org/a.jpg", "alt": "Cranes"},
            excerpt="The port stays shut.",
        ),
        _line("Port talks resume", status="published", tags=["port"]),
        _line("Talks tomorrow", status="published", published_at="2999-01-01T00:00:00Z"),
        _line("Draft about the strike", section="news", tags=["strikes"]),
    ]
    result = _run(app, tmp_path, lines)
    assert result.exit_code == 0, result.output
    imported = db.session.scalars(sa.select(Article).order_by(Article.id)).all()
    assert [a.status for a in imported] == ["published", "published", "scheduled", "draft"]
    ids = [a.id for a in imported]

    # cards: byte for byte what a save stores
    stored = dict(db.session.execute(sa.select(StoredCard.article_id, StoredCard.card)).all())
    assert cards.build(ids) == 4
    rebuilt = dict(db.session.execute(sa.select(StoredCard.article_id, StoredCard.card)).all())
    assert stored == rebuilt
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredCard)) == 4

    for article in imported:
        revision = db.session.scalar(sa.select(Revision).where(Revision.article_id == article.id))
        assert revision.number == 1 and revision.kind == "import" and revision.detail is None
        assert revision.snapshot == revisions.content_of(article)
        assert revision.status == article.status
        made = summarize(article.title, article.body, article.language)
        assert (article.summary.tldr, article.summary.key_points) == (
            made["tldr"],
            made["key_points"],
        )
        assert article.summary.origin == "auto" and article.summary.source_revision == 1
    first = imported[0]
    assert [t.slug for t in first.tags] == ["port", "strikes"]
    assert [a.slug for a in first.authors] == ["new-reporter", "other-reporter"]
    assert [(link.source.slug, link.explicit) for link in first.source_links] == [
        ("handelsblatt", True),
        ("wire-agency", True),
    ]
    assert first.excerpt == "The port stays shut." and first.custom_excerpt == first.excerpt
    assert imported[1].excerpt.startswith("Dockworkers in Westerhaven")

    # counts equal a recount, and only the public article is announced, once each
    def listed():
        return sorted(
            (m.__name__, row.slug, row.listed_count)
            for m in (Section, Tag)
            for row in db.session.scalars(sa.select(m))
        )

    before = listed()
    counts.recount(db.session.connection())
    assert listed() == before
    events = db.session.scalars(sa.select(Event).order_by(Event.sequence)).all()
    assert [(e.type, e.article_id) for e in events] == [
        ("article.published", ids[0]),
        ("article.published", ids[1]),
    ]
    states = {s.article_id: s for s in db.session.scalars(sa.select(ArticleEventState))}
    assert set(states) == set(ids[:2])
    now = clock.now
    for article, event in zip(imported, events, strict=False):
        snap = log.snapshot(article, now)
        assert event.article == json_roundtrip(snap.data)
        assert states[article.id].tags == [t["slug"] for t in snap.tags]
    if db.engine.dialect.name == "sqlite":  # JSONB reorders the keys of a reloaded body
        assert all(
            states[a.id].fingerprint == log.snapshot(a, now).fingerprint for a in imported[:2]
        )
    assert {a["slug"] for a in client.get("/api/v1/search?q=dockworkers").get_json()["data"]} == {
        a.slug for a in imported[:2]
    }
    # the scheduled one is announced when its time comes, as after a save
    assert client.get(f"/api/v1/articles/{imported[2].slug}").status_code == 404


def json_roundtrip(value):
    return json.loads(json.dumps(value))


def test_insert_rows_writes_what_an_insert_would(app, taxonomy):
    """The bulk import's row writer (COPY on PostgreSQL): columns left out get their Python
    default per row or the server's, values their column's processing (JSON, UTC times; SQL
    NULL for a nullable JSON column), as ``INSERT`` with the same rows gives them."""
    from cms.database import insert_rows
    from cms.models import Revision

    with app.app_context():
        article = make_article("Rows as an insert writes them")
        table = Revision.__table__
        common = {"article_id": article.id, "article_version": 1, "kind": "import"}
        rows = [
            {**common, "number": 10, "status": "draft", "snapshot": {"title": "Ä “q” \\ \t"}},
            {**common, "number": 11, "status": "published", "snapshot": None},
        ]
        insert_rows(db.session.connection(), table, [dict(r) for r in rows])
        db.session.execute(sa.insert(table), [{**r, "number": r["number"] + 10} for r in rows])
        db.session.commit()
        got = db.session.execute(
            sa.select(
                table.c.number,
                table.c.status,
                table.c.changed,
                table.c.snapshot,
                table.c.snapshot.is_(None),
                table.c.detail.is_(None),
                table.c.id.is_(None),
                table.c.created_at.is_(None),
            )
            .where(table.c.number >= 10)
            .order_by(table.c.number)
        ).all()
        assert [tuple(r)[1:] for r in got[:2]] == [tuple(r)[1:] for r in got[2:]]
        assert got[0][1:4] == ("draft", [], {"title": "Ä “q” \\ \t"})
        assert got[1][4:] == (True, True, False, False)
