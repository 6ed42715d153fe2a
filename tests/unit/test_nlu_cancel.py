"""Cancelling a pending handoff ("never mind"), in seven languages, and mixed messages."""

from __future__ import annotations

import pytest

from relaydesk.nlu.cancel import CancelDetector

POSITIVES = [
    ("never mind", "en"),  # canonical
    ("nevermind, thanks!", "en"),  # one word + thanks
    ("no need anymore", "en"),  # no need
    ("I don't need an agent anymore", "en"),  # explicit
    ("all good now, sorted it out", "en"),  # two cancel phrases
    ("olvídalo", "es"),  # accent folded
    ("ya no, gracias", "es"),  # ya no + thanks
    ("deixa pra lá", "pt"),  # canonical
    ("não precisa mais, obrigado", "pt"),  # negated need
    ("laisse tomber", "fr"),  # canonical
    ("c'est bon merci", "fr"),  # c'est bon
    ("egal, schon gut", "de"),  # two phrases
    ("hat sich erledigt, danke", "de"),  # erledigt
    ("lascia stare", "it"),  # canonical
    ("non serve più, grazie", "it"),  # non serve
    ("tidak jadi kak", "id"),  # with honorific
    ("gak jadi deh", "id"),  # colloquial
]
# Taken back anywhere in a longer message, with thanks and a reason in the same sentence.
IN_CONTEXT = [
    ("oh wait, I found it, thanks, no need for a person anymore", "en"),
    ("sorry, my husband picked it up, never mind!", "en"),
    ("actually it just arrived, all good now thanks", "en"),
    ("no need for an agent anymore, I sorted it out myself", "en"),
    ("ignore that, my wife sorted it out, thanks!", "en"),
    ("oh never mind, it turned up this morning, thanks", "en"),
    ("ah no, ya está, lo encontré, gracias", "es"),
    ("ya no hace falta, ya me llegó el paquete, gracias", "es"),
    ("no hace falta que me llaméis, ya lo tengo, gracias", "es"),
    ("deixa pra lá, já achei, obrigado", "pt"),
    ("ah esquece, já chegou aqui, obrigada", "pt"),
    ("ah non c'est bon j'ai trouvé, merci", "fr"),
    ("laissez tomber, je l'ai trouvé, merci quand même", "fr"),
    ("ach, hat sich erledigt, hab es gefunden, danke", "de"),
    ("schon gut, das Paket ist gerade angekommen, danke", "de"),
    ("ah lascia stare, l'ho trovato, grazie", "it"),
    ("non serve più, è arrivato adesso, grazie", "it"),
    ("gak jadi kak, udah ketemu, makasih", "id"),
    ("tidak jadi kak, paketnya sudah sampai, terima kasih", "id"),
]
# Look-alikes: the phrase is about something else, or a new request follows it.
LOOK_ALIKES = [
    "never mind the delay, I still want a refund",
    "no need to apologise, just get me a person",
    "never mind, where is my refund?",
    "forget about the discount, i need my order cancelled",
    "olvídate del retraso, quiero mi reembolso",
    "da igual el motivo, quiero hablar con alguien ya",
    "deixa pra lá o atraso, quero meu dinheiro de volta",
    "pas besoin de vous excuser, je veux parler à quelqu'un",
    "schon gut, aber ich will trotzdem mein Geld zurück",
    "non importa il ritardo, voglio il rimborso",
    "gak usah minta maaf, saya mau refund",
]
# A problem described with "found" / "arrived" / "got" / "all good": negated, something wrong
# found, or arrived but broken, damaged, missing or wrong. The person stays in the queue.
DESCRIBES_A_PROBLEM = [
    "Il pacco non è arrivato",  # it: negated
    "Non è arrivato niente",  # it: negated, nothing
    "Ho trovato un addebito doppio",  # it: found a problem
    "Ich habe einen Fehler in der Rechnung gefunden",  # de: found an error, verb last
    "Não achei nada",  # pt: negated, nothing
    "Das Paket ist angekommen, aber es fehlt ein Teil",  # de: arrived, but missing
    "El paquete ya llegó pero vacío",  # es: arrived, but empty
    "Sudah dapat email konfirmasi tapi uangnya belum masuk",  # id: got it, but not yet
    "Still not all good",  # en: negated
    "I still haven't found it",  # en: negated
    "I found it was charged twice",  # en: found a problem
    "found it, but the screen is cracked",  # en: contrast and damage
    "never mind, it arrived broken",  # en: a call-off, then a problem
    "no need, it came but the box was empty",  # en: a call-off, then contrast and content
    "no lo encontré",  # es: negated
    "todavía no lo encontré",  # es: negated, "still"
    "ya llegó, pero falta una pieza",  # es: arrived, missing a part
    "ya me llegó el paquete roto",  # es: arrived broken
    "ya llegó pero no es mi talla",  # es: contrast with content, no problem word
    "ainda não achei",  # pt: negated
    "achei um erro na fatura",  # pt: found an error
    "já chegou, mas veio quebrado",  # pt: arrived broken
    "já chegou mas está faltando um item",  # pt: arrived, missing
    "j'ai trouvé une erreur sur ma facture",  # fr: found an error
    "j'ai trouvé un double prélèvement",  # fr: found a double charge
    "c'est arrivé mais le colis est abîmé",  # fr: arrived damaged
    "ich habe es nicht gefunden",  # de: negated
    "ich habe nichts gefunden",  # de: nothing
    "das Paket ist da, aber leer",  # de: arrived, but empty
    "hab es gefunden, aber die Rechnung ist falsch",  # de: found, but wrong
    "nicht alles gut",  # de: negated
    "non l'ho ancora trovato",  # it: negated, "yet" in between
    "non ho trovato niente",  # it: nothing
    "l'ho trovato ma è rotto",  # it: found, but broken
    "è arrivato ma manca un pezzo",  # it: arrived, missing
    "è arrivato il pacco sbagliato",  # it: the wrong parcel
    "non è tutto ok",  # it: negated
    "sudah sampai tapi barangnya rusak",  # id: arrived, broken
    "udah dapat barangnya tapi ada yang hilang",  # id: got it, something lost
    "paketnya sudah sampai tapi salah warna",  # id: arrived, wrong colour
    "Das Paket ist angekommen",  # de: bare news with no thanks, when unsure it stays
]
# The same words as genuine news: with "it" or "already", with thanks, or on their own; and a
# contrast followed by thanks only.
GENUINE_NEWS = [
    ("all good!", "en"),  # on its own
    ("all good, thanks", "en"),  # with thanks
    ("found it!", "en"),  # "it"
    ("no I found it", "en"),  # "no" is an interjection in English
    ("no need, but thanks anyway", "en"),  # contrast followed by thanks only
    ("never mind, but thank you so much for your help", "en"),
    ("it's fine now, sorry I was wrong", "en"),  # "I was wrong" is no problem described
    ("ya llegó!", "es"),  # "already"
    ("ah no ya llegó, gracias", "es"),  # "no" before "ya" is an interjection
    ("achei, obrigado", "pt"),  # bare, with thanks
    ("já achei!", "pt"),  # "already"
    ("je l'ai trouvé, merci", "fr"),  # "it"
    ("c'est bon, mais merci quand même", "fr"),  # contrast followed by thanks only
    ("gefunden, danke", "de"),  # bare, with thanks
    ("ist angekommen, danke!", "de"),  # bare, with thanks
    ("hab's gefunden, danke", "de"),  # "it"
    ("schon gut, aber danke trotzdem", "de"),  # contrast followed by thanks only
    ("è arrivato, grazie", "it"),  # bare, with thanks
    ("trovato, grazie!", "it"),  # bare, with thanks
    ("ho risolto, grazie", "it"),  # solved
    ("sudah sampai kak, makasih", "id"),  # "already"
    ("udah dapat, makasih ya", "id"),  # "already"
]
NEGATIVES = [
    "I don't mind",  # "mind" without "never"
    "never mind the color, where is my order?",  # new request after the phrase
    "olvídalo, ¿cuánto cuesta el envío?",  # es: new question after
    "no me importa el color, ¿dónde está mi pedido?",  # es: new question after
    "cancel my order please",  # a cancellation intent, not "never mind"
    "egal wie, ich will mein Geld zurück",  # de: "egal wie" then a demand
    "deixa pra lá o presente, quero o reembolso",  # pt: new request after
    "where is my order?",  # ordinary
    "ok",  # short
]


@pytest.fixture(scope="module")
def detector() -> CancelDetector:
    return CancelDetector()


@pytest.mark.parametrize(("text", "language"), POSITIVES)
def test_detects_cancel(detector: CancelDetector, text: str, language: str) -> None:
    """Each cancellation is detected in its language."""
    found = detector.detect(text)
    assert found is not None and found.language == language, (text, found)


@pytest.mark.parametrize("text", NEGATIVES)
def test_ignores_mixed_or_unrelated(detector: CancelDetector, text: str) -> None:
    """A cancel phrase followed by a new request is not a cancellation."""
    assert detector.detect(text) is None, (text, detector.detect(text))


@pytest.mark.parametrize(("text", "language"), IN_CONTEXT)
def test_detects_cancel_in_a_longer_message(
    detector: CancelDetector, text: str, language: str
) -> None:
    """Thanks and a reason around the cancel phrase do not hide it."""
    found = detector.detect(text)
    assert found is not None and found.language == language, (text, found)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_ignores_look_alikes(detector: CancelDetector, text: str) -> None:
    """ "Never mind the delay" or a renewed request keeps the handoff."""
    assert detector.detect(text) is None, (text, detector.detect(text))


def test_brief_phrases_are_merged() -> None:
    """Phrases from the brief are matched in their language; a new question after one
    keeps the handoff, an explanation or thanks does not."""
    detector = CancelDetector({"nl": ["laat maar"]})
    found = detector.detect("Laat maar, bedankt")
    assert found is not None and found.language == "nl"
    assert detector.detect("laat maar, waar is mijn bestelling?") is None
    found = detector.detect("laat maar!")
    assert found is not None and found.language == "nl"


@pytest.mark.parametrize("text", DESCRIBES_A_PROBLEM)
def test_a_described_problem_keeps_the_handoff(detector: CancelDetector, text: str) -> None:
    """ "Not arrived", "found an error", "arrived but broken" are no cancellation."""
    assert detector.detect(text) is None, (text, detector.detect(text))


@pytest.mark.parametrize(("text", "language"), GENUINE_NEWS)
def test_detects_news_that_the_problem_went_away(
    detector: CancelDetector, text: str, language: str
) -> None:
    """Found or arrived with "it", "already", thanks, or nothing else still cancels."""
    found = detector.detect(text)
    assert found is not None and found.language == language, (text, found)
