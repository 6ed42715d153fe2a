"""Explicit requests for a human: a labelled table in seven languages plus tricky negatives."""

from __future__ import annotations

import pytest

from relaydesk.nlu.human_request import HumanRequestDetector

# (text, language of the request) - every row must be detected.
POSITIVES: list[tuple[str, str]] = [
    # English: verb + noun
    ("talk to a person", "en"),  # canonical
    ("I want to talk to a human", "en"),  # desire + verb
    ("can I speak to a real person please", "en"),  # polite question to the bot
    ("Let me speak with an agent", "en"),  # "with"
    ("connect me to customer service", "en"),  # connect + compound noun
    ("please transfer me to a live agent", "en"),  # transfer
    ("put me through to someone", "en"),  # phrasal verb + "someone"
    ("how do I reach a human??", "en"),  # reach, question marks
    ("I need to speak to your manager", "en"),  # manager
    ("can i chat with a representative", "en"),  # chat with
    ("let me talk to one of your agents", "en"),  # "one of your"
    ("How can I contact customer support", "en"),  # contact
    ("escalate this to a supervisor", "en"),  # escalate
    ("why can't I talk to a human", "en"),  # "can't" is frustration, not negation
    ("I've been trying to talk to someone for an hour", "en"),  # complaint that is a request
    ("pls get me a human", "en"),  # desire "get me"
    ("I want a real person", "en"),  # desire
    ("I need an operator", "en"),  # desire + operator
    ("i demand a manager", "en"),  # demand
    ("is there a human I can talk to?", "en"),  # indirect
    ("can someone help me", "en"),  # indirect, common on WhatsApp
    ("is there anyone there who can actually help me", "en"),  # indirect
    ("please stop sending me automated answers", "en"),  # "no more bot"
    ("stop the bot", "en"),  # bot rejection
    ("I don't want a bot, I want a human", "en"),  # negation in the other clause
    ("no more bots", "en"),  # bot rejection
    ("where's the agent", "en"),  # where is
    # English: standalone
    ("agent!!!", "en"),  # bare noun with shouting
    ("real human pls", "en"),  # adjective + filler
    ("HUMAN", "en"),  # caps
    ("operator please", "en"),  # operator
    ("Representative", "en"),  # IVR habit
    ("human please", "en"),  # from shop.yaml
    ("customer service!", "en"),  # compound noun
    ("live agent now", "en"),  # urgency filler
    ("Hi, agent please", "en"),  # greeting + noun
    ("humaaan", "en"),  # stretched letters are squeezed
    # Spanish
    ("quiero hablar con un agente", "es"),  # canonical
    ("Quiero hablar con una persona real", "es"),  # real
    ("necesito hablar con un asesor", "es"),  # asesor
    ("pásame con un humano por favor", "es"),  # imperative + accents
    ("¿Puedo hablar con alguien?", "es"),  # alguien, inverted question mark
    ("comuníqueme con atención al cliente", "es"),  # formal imperative
    ("quiero un agente", "es"),  # desire
    ("que me atienda una persona", "es"),  # atender
    ("operador por favor", "es"),  # standalone with filler
    ("hay alguna persona ahí?", "es"),  # indirect
    ("no quiero hablar con un bot", "es"),  # bot rejection
    ("necesito un humano ya", "es"),  # urgency
    # Portuguese
    ("falar com um atendente", "pt"),  # canonical
    ("quero falar com uma pessoa", "pt"),  # pessoa
    ("preciso falar com um humano", "pt"),  # preciso
    ("me passa pra um atendente por favor", "pt"),  # colloquial
    ("atendente!!", "pt"),  # standalone
    ("quero atendimento humano", "pt"),  # desire + compound
    ("cadê o atendente?", "pt"),  # where is
    ("alguém me ajuda", "pt"),  # indirect
    ("tem alguém aí?", "pt"),  # indirect
    ("Gostaria de falar com o suporte", "pt"),  # formal
    ("não quero falar com robô", "pt"),  # bot rejection
    ("quero ser atendido por uma pessoa", "pt"),  # passive
    # French
    ("parler à un conseiller", "fr"),  # canonical
    ("je veux parler à un humain", "fr"),  # humain
    ("Je voudrais parler avec quelqu'un", "fr"),  # elided quelqu'un
    ("passez-moi un conseiller svp", "fr"),  # imperative
    ("je souhaite parler au service client", "fr"),  # au + compound
    ("mettez-moi en relation avec un agent", "fr"),  # mettre en relation
    ("conseiller svp", "fr"),  # standalone
    ("j'aimerais un vrai humain", "fr"),  # desire with elision
    ("y a-t-il un humain?", "fr"),  # indirect
    ("je veux parler à l'opérateur", "fr"),  # elided article, accent
    # German
    ("mit einem Mitarbeiter sprechen", "de"),  # canonical, verb last
    ("Ich möchte mit einem Menschen sprechen", "de"),  # umlaut
    ("Kann ich bitte mit jemandem reden?", "de"),  # jemandem
    ("verbinden Sie mich mit einem Berater", "de"),  # verb first
    ("ich will einen Menschen", "de"),  # desire
    ("Mitarbeiter bitte", "de"),  # standalone
    ("Kundenservice!", "de"),  # standalone compound
    ("ich möchte einen echten Mitarbeiter sprechen", "de"),  # no "mit"
    ("gibt es einen Menschen?", "de"),  # indirect
    ("keinen Bot bitte", "de"),  # bot rejection
    # Italian
    ("parlare con un operatore", "it"),  # canonical
    ("voglio parlare con una persona", "it"),  # persona
    ("vorrei parlare con un operatore umano", "it"),  # vorrei + umano
    ("mi passi un operatore per favore", "it"),  # imperative
    ("operatore!", "it"),  # standalone
    ("ho bisogno di un operatore", "it"),  # desire
    ("posso parlare con l'assistenza clienti?", "it"),  # elided article
    ("non riesco a parlare con un operatore", "it"),  # "can't manage to" is a request
    ("c'è qualcuno?", "it"),  # indirect
    # Indonesian
    ("bicara dengan CS", "id"),  # canonical
    ("saya mau bicara dengan manusia", "id"),  # manusia
    ("mau ngomong sama admin", "id"),  # colloquial
    ("tolong sambungkan ke customer service", "id"),  # sambungkan
    ("minta cs dong", "id"),  # minta
    ("hubungi admin", "id"),  # hubungi
    ("cs dong", "id"),  # standalone with particle
    ("mana adminnya? mau bicara sama orang", "id"),  # orang
    ("bisa chat dengan petugas?", "id"),  # petugas
    ("ada admin?", "id"),  # indirect
    ("bukan bot kan? mau orang asli", "id"),  # bot rejection
]

# Texts that mention agents, people or humans but do not ask for one.
NEGATIVES: list[str] = [
    "Is your shipping agent DHL?",  # question about a third-party agent
    "the agent delivered it yesterday",  # descriptive, no request verb
    "I'm a travel agent",  # the customer's own job
    "human error, sorry, I typed the wrong address",  # idiom
    "the person who delivered was rude",  # descriptive relative clause
    "I talked to an agent yesterday and he said it ships Monday",  # past tense
    "I already spoke with a person about this",  # past tense
    "I don't want to talk to a human, just tell me the price",  # negated desire
    "no need to talk to an agent, the bot solved it",  # negated need
    "did you talk to the courier?",  # someone else talks
    "he wants to talk to a manager about his salary",  # third person
    "I want to talk to the delivery person",  # not the business's staff
    "who is the agent for Lisbon?",  # question about an agent
    "what's the agent's name?",  # possessive
    "can I speak to human resources about a job",  # human resources
    "is there an agent fee?",  # noun used as modifier
    "is there anyone who can tell me the price",  # a question for the bot, not a person
    "stop sending me messages about sales",  # marketing opt-out, not a request for a person
    "my agent number is 4432",  # agent number
    "are you human?",  # question about the bot, not a request
    "thanks, the agent was very helpful",  # praise
    "ok",  # short
    "where is my order?",  # ordinary question
    "hablé con un agente ayer",  # es past tense
    "el agente de envío no vino",  # es descriptive
    "soy agente de viajes",  # es own job
    "no hace falta hablar con un agente",  # es negated need
    "falei com o atendente ontem",  # pt past tense
    "o atendente foi muito educado",  # pt praise
    "não preciso falar com atendente, já resolvi",  # pt negated need
    "j'ai parlé à un conseiller hier",  # fr past tense
    "personne ne répond",  # fr "personne" = nobody, a complaint not a request
    "je suis agent immobilier",  # fr own job
    "pas besoin de parler à un conseiller",  # fr negated need
    "ich habe mit einem Mitarbeiter gesprochen",  # de past tense
    "Kann der Mitarbeiter Englisch sprechen?",  # de question about staff
    "ich will nicht mit einem Menschen sprechen",  # de negation
    "ho parlato con un operatore ieri",  # it past tense
    "sono un agente immobiliare",  # it own job
    "non voglio parlare con un operatore",  # it negation
    "kurirnya manusia baik",  # id descriptive
    "saya sudah bicara dengan kurir",  # id courier, not staff
    "gak usah hubungi cs, sudah beres",  # id negation
    "the agent said they'd call",  # descriptive
    "people say your shipping is fast",  # people as subject
    "my person of contact is Ana",  # noun in another sense
    "someone stole my package",  # someone as subject
]


@pytest.fixture(scope="module")
def detector() -> HumanRequestDetector:
    return HumanRequestDetector()


@pytest.mark.parametrize(("text", "language"), POSITIVES)
def test_detects_request(detector: HumanRequestDetector, text: str, language: str) -> None:
    """Every positive row is detected, in the expected language."""
    found = detector.detect(text)
    assert found is not None, text
    assert found.language == language, (text, found)
    assert 0.0 < found.score <= 1.0


@pytest.mark.parametrize("text", NEGATIVES)
def test_ignores_non_request(detector: HumanRequestDetector, text: str) -> None:
    """No negative row is detected."""
    assert detector.detect(text) is None, (text, detector.detect(text))


def test_table_precision_and_recall(detector: HumanRequestDetector) -> None:
    """The table is large enough and fully separated (precision = recall = 1.0)."""
    assert len(POSITIVES) >= 80 and len(NEGATIVES) >= 40
    assert {language for _, language in POSITIVES} == {"en", "es", "pt", "fr", "de", "it", "id"}
    hits = sum(detector.detect(text) is not None for text, _ in POSITIVES)
    false_alarms = sum(detector.detect(text) is not None for text in NEGATIVES)
    assert (hits, false_alarms) == (len(POSITIVES), 0)


def test_brief_phrases_are_merged() -> None:
    """Phrases from the brief match as whole folded words, in their language."""
    detector = HumanRequestDetector({"nl": ["met een medewerker spreken"]})
    found = detector.detect("Ik wil met een Medewerker spreken!")
    assert found is not None and found.language == "nl"
    assert found.phrase == "met een medewerker spreken"
    assert HumanRequestDetector().detect("Ik wil met een medewerker spreken") is None


def test_brief_phrase_without_words_is_rejected() -> None:
    """A phrase with no letters fails at construction, naming the phrase."""
    with pytest.raises(ValueError, match="'!!'"):
        HumanRequestDetector({"en": ["!!"]})


def test_strongest_form_wins(detector: HumanRequestDetector) -> None:
    """A verb + noun request outranks a bare noun or an indirect form."""
    direct = detector.detect("talk to an agent")
    indirect = detector.detect("can someone help me")
    assert direct is not None and indirect is not None
    assert direct.score > indirect.score
