"""The automatic summary of wire copy, as a reader gets it from ``GET /articles/{slug}/summary``:
datelines, time stamps, bylines, correction notes and service lines never make up the summary,
and abbreviations do not cut a sentence in two. Articles are written and published through the
editor API, so the summary read back is the one the app made on write."""

from __future__ import annotations

import re

API = "/api/v1/editor/articles"
PUBLIC = "/api/v1/articles"


def _para(text: str) -> dict:
    return {"type": "paragraph", "text": text}


def _publish(client, headers, title: str, body: list[dict], language: str = "en") -> dict:
    created = client.post(
        API, json={"title": title, "body": body, "language": language}, headers=headers["editor"]
    )
    assert created.status_code == 201, created.get_json()
    article = created.get_json()
    published = client.post(
        f"{API}/{article['id']}/publish",
        headers={**headers["editor"], "If-Match": created.headers["ETag"]},
    )
    assert published.status_code == 200, published.get_json()
    summary = client.get(f"{PUBLIC}/{article['slug']}/summary")
    assert summary.status_code == 200, summary.get_json()
    return summary.get_json()


def _everything(summary: dict) -> list[str]:
    return [summary["tldr"]] + [p["text"] for p in summary["key_points"]]


def _assert_traceable(client, summary: dict, body: list[dict]) -> None:
    """Every key point is text of the block it names."""
    for point in summary["key_points"]:
        block = body[point["block_index"]]
        assert point["text"] in re.sub(r"<[^>]+>", "", block.get("text", "")), point


GERMAN_WIRE = [
    _para(
        "POTSDAM (dpa) – Im Tarifstreit der Länder haben sich Gewerkschaften und Arbeitgeber "
        "am Samstag auf einen Abschluss geeinigt. Die Gehälter steigen in zwei Stufen um "
        "insgesamt 5,5 Prozent, wie beide Seiten mitteilten."
    ),
    _para(
        "Zum 1. April steigen die Einkommen um 3 Prozent, zum 1. Februar um weitere "
        "2,5 Prozent. Dazu kommt eine Einmalzahlung von 1000 Euro inkl. Zuschlägen für "
        "Teilzeitkräfte."
    ),
    _para(
        "Verdi-Chef Werner Blum sprach von einem „respektablen Ergebnis“. Die Einigung kostet "
        "die Länder rd. 9,8 Mrd. Euro, ggü. Vorjahr ein Plus von 4 Prozent."
    ),
    _para(
        "Korrektur: In einer früheren Fassung hieß es, der Abschluss gelte ab März. "
        "Richtig ist der 1. April."
    ),
    _para("Die Geschäftsstelle in der Goethestr. 5 bleibt bis Montag geschlossen."),
    _para("© dpa-infocom, dpa:260301-930-112233/2"),
]


def test_a_dateline_never_opens_the_tldr_and_notes_stay_out(client, users, headers):
    summary = _publish(client, headers, "Einigung im Tarifstreit der Länder", GERMAN_WIRE, "de")

    assert summary["tldr"].startswith("Im Tarifstreit der Länder haben sich")
    assert "POTSDAM" not in summary["tldr"] and "(dpa)" not in summary["tldr"]
    for text in _everything(summary):
        assert "Korrektur" not in text and "früheren Fassung" not in text
        assert "Richtig ist" not in text
        assert "dpa-infocom" not in text
    _assert_traceable(client, summary, GERMAN_WIRE)


# The sentences of GERMAN_WIRE a summary may show, whole (the dateline is not part of one).
GERMAN_SENTENCES = [
    "Im Tarifstreit der Länder haben sich Gewerkschaften und Arbeitgeber am Samstag auf einen "
    "Abschluss geeinigt.",
    "Die Gehälter steigen in zwei Stufen um insgesamt 5,5 Prozent, wie beide Seiten mitteilten.",
    "Zum 1. April steigen die Einkommen um 3 Prozent, zum 1. Februar um weitere 2,5 Prozent.",
    "Dazu kommt eine Einmalzahlung von 1000 Euro inkl. Zuschlägen für Teilzeitkräfte.",
    "Verdi-Chef Werner Blum sprach von einem „respektablen Ergebnis“.",
    "Die Einigung kostet die Länder rd. 9,8 Mrd. Euro, ggü. Vorjahr ein Plus von 4 Prozent.",
    "Die Geschäftsstelle in der Goethestr. 5 bleibt bis Montag geschlossen.",
]


def _decompose(text: str, sentences: list[str]) -> list[str]:
    """``text`` as a run of whole ``sentences``; fails on a fragment."""
    found, rest = [], text
    while rest:
        match = next((s for s in sentences if rest.startswith(s)), None)
        assert match is not None, f"not a whole sentence of the article: {rest!r}"
        found.append(match)
        rest = rest[len(match) :].lstrip()
    return found


def test_german_abbreviations_and_dates_do_not_cut_sentences(client, users, headers):
    summary = _publish(client, headers, "Einigung im Tarifstreit der Länder", GERMAN_WIRE, "de")

    shown = _decompose(summary["tldr"], GERMAN_SENTENCES)
    for point in summary["key_points"]:
        assert point["text"] in GERMAN_SENTENCES
    assert 1 <= len(shown) <= 3 and 3 <= len(summary["key_points"]) <= 5


def test_bylines_credits_and_contact_lines_are_not_summary_material(client, users, headers):
    body = [
        _para("By Hannah Greaves, Labour Correspondent"),
        _para(
            "Workers at delivery company Parcelo's biggest warehouse have voted to be "
            "represented by a trade union, the first time its staff in the country have done so."
        ),
        _para(
            "Of the 1,840 employees at the site in Denby, 61 percent voted in favour, the "
            "independent body that oversaw the ballot said on Friday. Turnout was 74 percent."
        ),
        _para(
            "The union said it would seek talks on pay, which starts at 11.90 pounds an hour, "
            "and on break times, which workers say are too short."
        ),
        _para(
            "Parcelo said it respected its employees' decision but might appeal over the "
            "conduct of the ballot."
        ),
        _para("(Reporting by Hannah Greaves; Editing by Tom Hale)"),
        _para("Do you work at Parcelo? Share your experience with us at tips@example-news.org."),
        _para("Photo: Ana Writer"),
    ]
    summary = _publish(client, headers, "Parcelo warehouse workers vote for a union", body)

    assert summary["tldr"].startswith("Workers at delivery company Parcelo")
    for text in _everything(summary):
        for boilerplate in ("By Hannah", "Reporting by", "@example-news.org", "Photo:"):
            assert boilerplate not in text
    assert 3 <= len(summary["key_points"]) <= 5
    _assert_traceable(client, summary, body)


def test_live_blog_time_stamps_do_not_open_sentences(client, users, headers):
    body = [
        _para(
            "18:45 — The power company says about 85,000 homes are now without electricity, "
            "most of them in the Bayside and Kirkholm areas."
        ),
        _para(
            "17:30 — Police have closed the coastal road between Kirkholm and Port Essa after "
            "waves threw stones and debris onto the carriageway."
        ),
        _para(
            "13:20 — The weather service has upgraded its warning for the west coast to red "
            "until 6 a.m. Saturday, meaning a danger to life."
        ),
        _para(
            "12:00 — Storm Elin, the first named storm of the winter, is bringing gusts of up "
            "to 140 km/h to the west coast."
        ),
    ]
    summary = _publish(client, headers, "Live: Storm Elin brings gales to the west coast", body)

    for text in _everything(summary):
        assert not re.match(r"\d{1,2}:\d{2}", text), text
        assert not text.startswith("Saturday"), text
    joined = " ".join(_everything(summary))
    if "upgraded its warning" in joined:
        assert "until 6 a.m. Saturday, meaning a danger to life." in joined
    _assert_traceable(client, summary, body)


def test_a_body_of_only_notes_still_gets_a_summary(client, users, headers):
    """Nothing but a byline and a credit: the summary falls back to what there is."""
    body = [_para("By Hannah Greaves, Labour Correspondent"), _para("Photo: Ana Writer")]
    summary = _publish(client, headers, "Notes only", body)
    assert summary["tldr"] == "By Hannah Greaves, Labour Correspondent"
