"""Text rules shared by every part of the application: reading time, language keys, times,
stop words.

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
    # ``isoformat`` up to the seconds, without any offset: a third of ``strftime``'s CPU.
    return None if value is None else value.isoformat(timespec="seconds")[:19] + "Z"


# --- stop words -------------------------------------------------------------------------------
# One table per language: lower-case words, before stemming, that say nothing about what a text
# is about. Function words, and the newsroom's boiler-plate (reporting verbs, calendar words,
# titles, "per cent"). The summarizer uses its article's language's table; related-article
# scoring uses both (a German article quotes English and the other way round).


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        """
    a about above according across added adding after afterwards again against all almost
    alone along already also although always am among amongst an and another any anyhow
    anyone anything anyway anywhere april are aren around as asked at august back be became
    because become becomes been before beforehand behind being below beside besides between
    beyond both but by can cannot cent could couldn d day days december did didn do does
    doesn doing don done down dr during each either else elsewhere enough etc even ever
    every everyone everything everywhere except february few first for former formerly
    friday from further get gets got had hadn has hasn have haven having he hence her here
    hereafter hereby herein hers herself him himself his how however i if in indeed into is
    isn it it's its itself january july june just last latter least less like ll m made make
    many march may me meanwhile might mine monday month months more moreover most mostly mr
    mrs ms much must my myself namely neither never nevertheless new next no nobody none
    noone nor not nothing november now nowhere october of off often on once one only onto or
    other others otherwise our ours ourselves out over own per percent perhaps please put
    quite rather re really reporters s said same saturday say saying says september several
    she should shouldn since so some somehow someone something sometime sometimes somewhere
    spokesman spokesperson spokeswoman statement still such sunday t t's tell than that the
    their theirs them themselves then thence there thereafter thereby therefore therein
    thereupon these they this those though through throughout thursday thus time to today
    together told tomorrow too toward towards tuesday two under until up upon us ve very via
    was wasn we wednesday week weeks well were weren what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while whither
    who whoever whole whom whose why will with within without won would wouldn year years
    yesterday yet you your yours yourself yourselves
        """
    ),
    "de": _words(
        """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes anderm andern anders auch auf aus bei beim bereits bin bis bisher bist da dabei
    dadurch dafür dagegen daher damit danach dann dar darauf darum das dass dasselbe davon
    dazu daß dein deine deinem deinen deiner deines dem demselben den denen denn denselben
    der deren derer derselbe derselben des deshalb desselben dessen dezember dich die
    dienstag dies diese dieselbe dieselben diesem diesen dieser dieses dir doch donnerstag
    dort dr du durch ein eine einem einen einer eines einig einige einigem einigen einiger
    einiges einmal er erklärte erst erste ersten es etwa etwas euch euer eure eurem euren
    eurer eures februar frau freitag für gegen gewesen hab habe haben hat hatte hatten heißt
    herr hier hieß hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im immer in
    indem ins ist ja jahr jahre jahren januar jede jedem jeden jeder jedes jedoch jene jenem
    jenen jener jenes jetzt juli juni kann kein keine keinem keinen keiner keines können
    könnte laut machen man manche manchem manchen mancher manches mehr mein meine meinem
    meinen meiner meines mich mir mit mittwoch montag muss musste märz müssen nach neue
    neuen nicht nichts noch nun nur ob oder ohne oktober prozent rund sagt sagte sagten
    samstag schon sehr sei seien sein seine seinem seinen seiner seines seit selbst sich sie
    sind so solche solchem solchen solcher solches soll sollen sollte sondern sonntag sonst
    sowie teilte um und uns unser unsere unserem unseren unseres unter viel vom von vor wann
    war waren warst warum was weder weg weil weit weiter welche welchem welchen welcher
    welches wenn wer werde werden wie wieder will wir wird wirst wo woche wochen wollen
    wollte worden wurde wurden während würde würden zu zum zur zwar zwei zwischen über
        """
    ),
}

# Common words that still tell two stories apart ("new" plant, "first" strike, "two" deaths,
# "Frau"/"Herr" before a name): related-article scoring keeps them as terms, while the
# summarizer ignores them. Measured through the API (eval/related): dropping them lowered
# nDCG@5 on the wire sets (wire 0.617 -> 0.594, wire2 held-out 0.661 -> 0.650).
TOPIC_WORDS = _words(
    """
    bisher dabei dadurch dafür dagegen daher danach dar darauf darum davon denen deren deshalb
    erste ersten etwa first frau get gets got heißt herr hieß immer it's ja jedoch like made
    make mehr müssen neue neuen new put schon sei seien t's time two wann warum weder weit wer
    zwei
    """
)

# Words too common to search for on their own, whatever the query's language: a short list,
# on purpose a part of the tables above (a reader may well search for "Monday" or "statement"),
# and without German words that are also English words ("die", "war" and "will" stay
# searchable). Inside a quoted phrase they count.
QUERY_STOP_WORDS = _words(
    """
    a aber about above after again against all als am an and any are as at auch auf aus be
    because been before bei being below between bin bis bist both but by can could da dann
    das dass dem den der des dich did dir do doch does doing down du durch during each ein
    eine einem einen einer eines er es euch few for from further für had has hat hatte have
    having he her here hers herself him himself his how i ich if ihr im in into is ist it
    its itself just me mich mir mit more most my myself nach nicht no noch nor not now nur
    oder of off on once only or other our ours ourselves out over own same she should sich
    sie sind so some such than that the their theirs them themselves then there these they
    this those through to too um und under uns until up very vom von vor was we were what
    when where which while who whom why wie wir wird with would wurde you your yours
    yourself zu zum zur über
    """
)
