"""Explicit requests for a human ("talk to a person", "quiero hablar con un agente", "agent!!!").

Rules over folded text (lowercase, accents removed, see `_text.fold`), per language:

- a contact verb + a human noun ("speak to a real person", "falar com um atendente",
  "mit einem Mitarbeiter sprechen");
- a desire + a human noun ("I want a human", "quiero un asesor", "je voudrais un conseiller");
- a message that is only a human noun plus filler ("agent!!!", "real human pls", "CS dong");
- "is there a human ...", "can someone help me", and "no more bot" forms (lower scores);
- the brief's own phrases (`HumanRequestTrigger.phrases`), matched as whole folded words.

Guards reject a match when a negated desire comes before it in the same clause ("I don't
want to talk to an agent", "no hace falta hablar con un agente"), when the noun is a kind of
agent or person that is not the business's staff ("talk to the delivery person", "agente
de viajes", "human resources", "the agent's name"), or when someone else does the talking
("did you talk to the agent", "he wants to talk to a manager"). Past and progressive forms
("I talked to an agent", "hablé con", "ho parlato") are never listed as request verbs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from relaydesk.nlu._text import fold, phrase_pattern

__all__ = ["HumanRequest", "HumanRequestDetector"]

REQUEST = 0.95  #: contact verb + human noun
DESIRE = 0.9  #: desire + human noun
STANDALONE = 0.9  #: the whole message is a human noun ("agent!!!")
BRIEF = 0.9  #: a phrase from the brief
INDIRECT = 0.8  #: "is there a human?", "can someone help me", "stop the bot"


@dataclass(frozen=True, slots=True)
class HumanRequest:
    """A detected request for a human. `phrase` is the matched span of the folded text."""

    score: float
    language: str
    phrase: str


def _alt(alternatives: str) -> str:
    """A non-capturing group of `|`-separated regex alternatives."""
    return "(?:" + alternatives + ")"


# language -> (contact verbs, fillers between verb and noun, human nouns, desires)
_LEXICON: dict[str, tuple[str, str, str, str]] = {
    "en": (
        _alt(
            r"talk (?:to|with)|speak (?:to|with)|chat (?:to|with)|connect me|connect"
            r"|transfer me|transfer|put me (?:through|in touch)|pass me|redirect me"
            r"|reach|contact|escalate(?: this| me| it)?|forward me|hand me(?: over)?"
            r"|switch me|route me|get hold of"
        ),
        _alt(
            r"a|an|the|some|one|of|your|ur|real|live|actual|proper|human|from|directly"
            r"|just|please|pls|plz|now|me|w|us|with|to|through|in|touch|over|another"
            r"|different|competent|right|away|someone|somebody"
        ),
        _alt(
            r"human(?: being)?s?|humna|persons?|people|someone|somebody|anyone|anybody"
            r"|agents?|operators?|representatives?|reps?|customer (?:service|support"
            r"|care)|support(?: team| staff)?|staff|employees?|managers?|supervisors?"
            r"|advis[eo]rs?|consultants?|live chat|cs|team member"
        ),
        _alt(
            r"i (?:want|need|demand|request|would like|'d like|d like|wanna"
            r"|would prefer)|i'?m asking for|asking for|give me|get me|let me have"
            r"|(?:can|could|may) i (?:have|get)|send me|bring me|want|need|where (?:is"
            r"|are)|where's"
        ),
    ),
    "es": (
        _alt(
            r"hablar|hablarle|comunicarme|comunicar|contactar(?:me)?|conversar|charlar"
            r"|chatear|pasame|paseme|pasarme|pasenme|comunicame|comuniqueme"
            r"|transfiereme|transfierame|transferirme|conectame|conecteme|conectarme"
            r"|derivame|derivarme|ponme|pongame|atienda|atender|atiendan"
        ),
        _alt(
            r"con|a|al|un|una|el|la|los|las|de|del|por|favor|real|verdadero|verdadera"
            r"|humano|humana|directamente|ya|ahora|me|mi|su|sus|tu|tus|uno|alguno"
            r"|alguna|algun"
        ),
        _alt(
            r"personas?|humanos?|humana|agentes?|asesor(?:es|a|as)?|operador(?:es|a"
            r"|as)?|representantes?|alguien|ejecutiv[oa]s?|encargad[oa]"
            r"|supervisor(?:a)?|gerente|atencion al cliente|servicio al cliente"
            r"|soporte"
        ),
        _alt(
            r"quiero|necesito|quisiera|me gustaria|deseo|pido|exijo|dame|deme"
            r"|donde (?:esta|hay)"
        ),
    ),
    "pt": (
        _alt(
            r"falar|conversar|me passa|me passe|passa pra|passe para|me transfere"
            r"|me transfira|transferir|me coloca|me coloque|chamar|chama|chame"
            r"|contatar|contactar|me conecta|me conecte|me encaminha|encaminhar"
            r"|atender|atenda|ser atendid[oa]"
        ),
        _alt(
            r"com|a|o|um|uma|pra|para|por|favor|de|do|da|verdade|real|humano|humana"
            r"|seu|sua|algum|alguma|me|ja|agora|logo|direto|diretamente|vcs|voces|c|cm"
        ),
        _alt(
            r"atendentes?|pessoas?|humanos?|humana|agentes?|operador(?:es|a|as)?"
            r"|alguem|representantes?|consultor(?:es|a|as)?|gerentes?|supervisor(?:a)?"
            r"|atendimento(?: humano)?|suporte|sac"
        ),
        _alt(
            r"quero|queria|preciso(?: de)?|gostaria(?: de)?|exijo|peco|me d[ae]|cade"
            r"|onde (?:esta|tem)"
        ),
    ),
    "fr": (
        _alt(
            r"parler|discuter|joindre|contacter|echanger|passe[zr]?[- ]moi"
            r"|mette[zr]?[- ]moi en relation|mettre en relation|transfere[zr]?[- ]moi"
            r"|transferer|etre mis en relation|etre rappele|rappeler"
        ),
        _alt(
            r"a|au|aux|avec|un|une|le|la|l'|les|des|de|du|en|relation|vrai|vraie"
            r"|veritable|humain|humaine|reel|reelle|directement|svp|stp|maintenant|moi"
            r"|votre|vos|par"
        ),
        _alt(
            r"conseill(?:er|ere|ers|eres)|humains?|humaine|personnes?|agents?"
            r"|operat(?:eur|rice)s?|quelqu' ?un|service clients?|service client(?:e"
            r"|ele)|responsable|interlocuteur|etre humain|support|sav|standardiste"
            r"|collaborat(?:eur|rice)|employe"
        ),
        _alt(
            r"je (?:veux|voudrais|souhaite|souhaiterais|demande|desire)|j' ?aimerais"
            r"|j' ?exige|(?:puis|pourrais)-je avoir|donnez-moi|il me faut|besoin d' ?"
            r"|ou est"
        ),
    ),
    "de": (
        _alt(
            r"sprechen(?: mit)?|reden(?: mit)?|chatten(?: mit)?"
            r"|verbinden sie mich(?: bitte)?(?: mit)?"
            r"|verbinde(?:t)? mich(?: bitte)?(?: mit)?|kontaktieren|erreichen"
            r"|weiterleiten an|leiten sie mich(?: bitte)? an"
        ),
        _alt(
            r"einem|einer|einen|ein|eine|dem|der|den|die|echten|echter|echte|echtem"
            r"|richtigen|richtige|menschlichen|bitte|jetzt|sofort|ihrem|ihrer|ihren"
            r"|eurem|eurer|vom|von|mit|gern|gerne"
        ),
        _alt(
            r"mitarbeiter(?:in|innen)?|servicemitarbeiter(?:in)?|menschen?"
            r"|person(?:en)?|berater(?:in)?|kundenservice|kundendienst"
            r"|kundenbetreuer(?:in)?|jemand(?:em|en)?|agent(?:en|in)?|support"
            r"|ansprechpartner(?:in)?|sachbearbeiter(?:in)?|operator|vorgesetzten|chef"
            r"|verantwortlichen"
        ),
        _alt(
            r"ich (?:will|mochte|brauche|hatte gerne?|verlange|wunsche)"
            r"|kann ich(?: bitte)?|konnen sie mir|geben sie mir|gib mir|wo ist"
        ),
    ),
    "it": (
        _alt(
            r"parlare|chattare|comunicare|contattare|sentire|mi passi|mi passa|passami"
            r"|passatemi|mettermi in contatto|mettetemi in contatto"
            r"|mi mettete in contatto|trasferitemi|trasferirmi|collegarmi|collegatemi"
            r"|essere contattat[oa]|essere richiamat[oa]"
        ),
        _alt(
            r"con|a|ad|un|una|uno|il|lo|la|l'|gli|le|i|un'|vero|vera|umano|umana|reale"
            r"|per|favore|subito|ora|adesso|direttamente|vostro|vostra|vostri|del"
            r"|della|dell'|di|mi|me|da"
        ),
        _alt(
            r"operator[ei]|operatric[ei]|person[ae]|uman[oi]|agent[ei]|consulent[ei]"
            r"|qualcuno|assistenza(?: clienti)?|servizio clienti|responsabile"
            r"|addett[oa]|essere umano|customer care|supporto"
        ),
        _alt(
            r"voglio|vorrei|ho bisogno di|desidero|chiedo|esigo|mi serve|mi servirebbe"
            r"|(?:potrei|posso) avere|datemi|mi date|dov'? ?e"
        ),
    ),
    "id": (
        _alt(
            r"bicara|berbicara|ngomong|ngobrol|chat|hubungi|menghubungi|hubungkan"
            r"|sambungkan|disambungkan|dihubungkan|tersambung|terhubung|kontak|telpon"
            r"|telepon|nelpon|minta|panggil|panggilkan|pindahkan|alihkan|oper|dilayani"
            r"|layani"
        ),
        _alt(
            r"dengan|dg|dgn|sama|sm|ke|kepada|pada|saya|aku|gue|gw|aja|saja|dong|deh"
            r"|yang|yg|asli|beneran|sungguhan|langsung|tolong|segera|sekarang|seorang"
            r"|bagian|tim|pihak|ya|kak|min|oleh"
        ),
        _alt(
            r"cs|customer (?:service|care)|manusia|orang|admin|agen|operator|petugas"
            r"|staf|staff|karyawan|pegawai|live agent|live chat|perwakilan|manajer"
            r"|atasan|human"
        ),
        _alt(r"mau|ingin|pengen|pingin|pengin|butuh|perlu|mohon|mana"),
    ),
}

_NOUN_END = r"(?!\w|'s\b)"

# German puts the verb last: "(ich möchte) mit einem Mitarbeiter sprechen".
_DE_VERB_FINAL = (
    r"(?:mit|zu|an|einen|einem|einer)\s+(?:"
    + _LEXICON["de"][1]
    + r"\s+){0,2}(?:"
    + _LEXICON["de"][2]
    + r")(?:\s+\w+){0,2}?\s+"
    + _alt(
        "sprechen|reden|chatten|schreiben|verbunden werden|telefonieren|weitergeleitet werden|haben"
    )
    + r"(?!\w)"
)

_INDIRECT: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "en",
        ("there", "any"),
        r"\bany (?:real |live )?(?:humans?|agents?|people|persons?|operators?) "
        r"(?:here|there|around|available|online)\b|\b(?:is|are) there (?:anyone|someone|anybody|"
        r"somebody) (?:i|we) (?:can|could) (?:talk|speak|chat)"
        r"|\b(?:is|are) there (?:anyone|someone|anybody|somebody)(?: (?:there|here|around|"
        r"real|at all))? (?:who|that) (?:can|could|will|would)(?: actually| really| please)? "
        r"(?:help|assist|talk|speak|answer|respond)"
        r"|\b(?:is|are) there (?:a |an |any |some )?(?:real |live |actual )?"
        r"(?:human|person|agent|operator|representative|rep)s?\b"
        r"(?=\s*(?:[?.!,]|$|i\b|we\b|available|here|there|online|who|that|to\b))",
    ),
    (
        "en",
        (
            "one",
            "body",
            "human",
            "person",
            "agent",
            "operator",
            "rep",
            "staff",
            "employee",
            "manager",
        ),
        r"\b(?:someone|somebody|anyone|anybody|(?:a|an|some|any|one) (?:real |live |actual )?"
        r"(?:human|person|agent|operator|rep|representative|staff member|employee|manager)"
        r"|a human|real person) (?:please |pls |plz )?(?:(?:is )?(?:going to|gonna) |will |"
        r"can |could |should |must |to |please |pls )?(?:help|talk to|speak (?:to|with)|"
        r"chat with|call|contact|answer|respond to|reply to|get back to|assist|look at|"
        r"check|deal with|handle) (?:me|us|this|my)\b",
    ),
    (
        "en",
        ("bot", "machine", "automat"),
        r"\b(?:stop|no more|enough|i hate|(?:don'?t|do not) want|sick of|tired of|"
        r"not talking to)(?: (?:the|this|your|a|an|stupid|dumb))? (?:bots?|robots?|chatbot|"
        r"machine|automated|automatic repl(?:y|ies))\b"
        r"|\b(?:stop|quit) (?:sending|giving) (?:me )?(?:these |the |your )?(?:automated|automatic|"
        r"canned|bot|robot) (?:answers?|repl(?:y|ies)|messages?|responses?)\b",
    ),
    (
        "es",
        ("hay", "alguien", "bot", "maquina"),
        r"\b(?:hay (?:alguna |algun |un |una )?(?:persona|humano|agente|asesor|operador)"
        r"(?=\s*(?:[?.!,]|$|que|disponible|ahi|real))|alguien (?:que )?me (?:ayude|atienda|"
        r"responda)|no (?:quiero |mas )(?:hablar con )?(?:un |el |una )?(?:bot|robot|maquina)"
        r"|basta de (?:bot|robot))",
    ),
    (
        "pt",
        ("tem", "alguem", "robo", "bot", "maquina"),
        r"\b(?:tem (?:algum |alguma |um |uma )?(?:atendente|pessoa|humano|alguem)"
        r"(?=\s*(?:[?.!,]|$|ai|ae|que|disponivel|real|de verdade))|alguem (?:me )?(?:ajuda|"
        r"atende|responde)|nao (?:quero )?(?:falar com )?(?:um |o )?(?:robo|bot|maquina)\b"
        r"|chega de (?:robo|bot))",
    ),
    (
        "fr",
        ("y a", "quelqu", "bot"),
        r"\b(?:(?:y a-t-il|il y a|y a) (?:un |une |quelqu' ?un)(?:vrai |vraie )?(?:humain|"
        r"personne|conseiller|agent)?(?=\s*(?:[?.!,]|$|de disponible))|quelqu' ?un (?:peut "
        r"|pourrait )?(?:m' ?aider|me repondre)|(?:pas de|arretez? (?:le |ce )?|stop (?:le |ce )?)"
        r"(?:robot|bot)s?)\b",
    ),
    (
        "de",
        ("gibt es", "jemand", "mensch", "bot", "roboter"),
        r"\b(?:gibt es (?:einen |eine |echte |einen echten )?(?:menschen?|mitarbeiter|person)"
        r"(?=\s*(?:[?.!,]|$|der|die))|kann mir (?:bitte )?(?:jemand|ein mensch) helfen|"
        r"kein(?:en)? (?:bot|roboter|chatbot)|nicht mit (?:einem |dem )?(?:bot|roboter))\b",
    ),
    (
        "it",
        ("c' e", "ce ", "qualcuno", "bot"),
        r"\b(?:c'? ?e (?:un |una |qualcuno)(?:operatore|persona|umano)?(?=\s*(?:[?.!,]|$|che|"
        r"disponibile))|qualcuno (?:mi )?(?:aiuti|risponda|puo aiutarmi|mi aiuta)|non "
        r"(?:voglio )?(?:parlare con )?(?:un |il )?(?:bot|robot)|basta (?:con il )?"
        r"(?:bot|robot))\b",
    ),
    (
        "id",
        ("ada", "bot", "mesin"),
        r"\b(?:ada (?:cs|admin|orang|manusia|petugas|operator)(?=\s*(?:[?.!,]|$|yang|gak|"
        r"nggak|ga|tidak|disini|di sini))|bukan (?:bot|robot|mesin)|(?:gak|ga|tidak|nggak) "
        r"mau (?:sama |dengan )?(?:bot|robot))\b",
    ),
)

_STANDALONE_NOUNS: dict[str, str] = {
    noun: language
    for language, nouns in {
        "en": "human|humans|human being|person|real person|agent|live agent|operator"
        "|representative|rep|customer service|customer support|customer care|support"
        "|supervisor|manager|staff|live chat",
        "es": "humano|humana|agente|asesor|operador|operadora|persona|atencion al cliente",
        "pt": "atendente|pessoa|atendimento humano|atendimento|suporte humano",
        "fr": "conseiller|conseillere|humain|operateur|service client|etre humain",
        "de": "mitarbeiter|mensch|menschen|kundenservice|kundendienst|berater",
        "it": "operatore|operatrice|umano|assistenza clienti|servizio clienti",
        "id": "cs|admin|manusia|petugas|orang",
    }.items()
    for noun in nouns.split("|")
}
_STANDALONE_FILL = _alt(
    r"please|pls|plz|plez|pleas|now|hi|hello|hey|a|an|real|live|actual|human|por favor"
    r"|porfa|porfavor|pf|pfv|ya|agora|ahora|svp|stp|s'? ?il vous plait|bitte|jetzt"
    r"|sofort|per favore|perfavore|subito|tolong|dong|donk|sekarang|aja|saja|kak|min"
    r"|yg|yang|asli|beneran|hola|oi|ola|bonjour|salut|hallo|ciao|halo|un|una|um|uma"
    r"|une|ein|einen|eine|echten|echter|vrai|vraie|veritable|vero|de verdad|de verdade"
    r"|humano|umano|urgent|urgente|asap|immediately|the|o|el|la|il|ok|okay"
)
_STANDALONE = re.compile(
    r"^(?:"
    + _STANDALONE_FILL
    + r" )*(?P<noun>"
    + "|".join(sorted((re.escape(n) for n in _STANDALONE_NOUNS), key=len, reverse=True))
    + r")(?: "
    + _STANDALONE_FILL
    + r")*$"
)

# Negated desire in the same clause before the match suppresses it, unless an "able" word
# sits between ("I can't reach an agent", "non riesco a parlare con un operatore").
_NEGATION = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not|didn'?t|did not|no need|needn'?t|never|won'?t|"
    r"rather not|no longer|not necessary|ya no|no (?:quiero|necesito|hace falta|es necesario|"
    r"me pases)|nao (?:quero|preciso|precisa|e preciso)|sem necessidade|ne (?:veux|voudrais|"
    r"souhaite) pas|pas besoin|plus besoin|nicht|kein\w*|non|tidak|tdk|gak|ga|nggak|ngga|"
    r"enggak|gk|jangan|gausah|ga usah|gak usah|ndak|nevermind|never mind)\b"
)
_ABLE = re.compile(
    r"\b(?:can|could|able|riesco|posso|puedo|consigo|peux|arrive|kann|bisa|bisa2|get through)\b"
)
_CLAUSE_BREAK = re.compile(r"[.!?;,]|\b(?:but|pero|mas|mais|aber|ma|tapi|tp)\b")
# Words next to the noun that make it a different kind of agent or person.
_MODIFIER_BEFORE = re.compile(
    r"\b(?:shipping|delivery|courier|travel|estate|insurance|customs|booking|sales|postal|"
    r"freight|secret|free|transport|cleaning|reise|versand|liefer|immobilien|kurir|"
    r"ekspedisi|other|that|this|same)\s*$"
)
_MODIFIER_AFTER = re.compile(
    r"^\s*(?:'s\b|de (?:envio|viajes?|viagem|voyage|entrega|seguros|aduana|livraison|"
    r"transporte|bienes raices|immobilier|imobiliario)|di (?:viaggio|viaggi|spedizione|"
    r"commercio)|immobiliare|imobiliari[oa]|immobilier|travel|properti|asuransi|ekspedisi|"
    r"kurir|resources|error|rights|nature|body|race|number|id\b|code|name|email|phone|"
    r"fee|salary|job|license|licence)"
)
_OTHER_SUBJECT = re.compile(
    r"\b(?:you|u|he|she|they|it|did i|my (?:husband|wife|friend|mom|mother|dad|father|son|"
    r"daughter|boss)|el|ella|ellos|ele|ela|eles|il|elle|ils|er|lui|lei|dia|mereka)"
    r"(?: (?:wants?|wanted|tried|asked|needs?|will|would|could|can|has|had|did|to))*\s*$"
)
_FOR_ME = re.compile(r"\b(?:me|mich|moi|mi|saya|aku)\b")
_ELISION = re.compile(r"\b([ldjmtsnc]|qu)'")


def _anchors(alternation: str) -> tuple[str, ...]:
    """Literal prefixes of the alternatives of a `(?:a|b)` group built by `_alt`: a text that
    contains none of them cannot match, so the rule is skipped without running the regex."""
    anchors = []
    for alternative in alternation[3:-1].split("|"):
        literal = re.match(r"[^()\[\]?*+{\\]*", alternative)
        prefix = literal.group(0) if literal else ""
        following = alternative[len(prefix) : len(prefix) + 1]
        anchors.append(prefix[:-1] if following in ("?", "*") else prefix)
    if not all(anchors):
        raise ValueError(f"Alternation {alternation!r} has an alternative with no literal prefix.")
    return tuple(sorted(set(anchors)))


_Rule = tuple[str, float, re.Pattern[str], tuple[str, ...]]


def _compile_builtins() -> tuple[_Rule, ...]:
    rules: list[_Rule] = []
    for language, (verbs, fillers, nouns, desires) in _LEXICON.items():
        request = rf"\b(?:{verbs})(?:\s+(?:{fillers})){{0,4}}\s+(?:{nouns}){_NOUN_END}"
        desire = rf"\b(?:{desires})(?:\s+(?:{fillers})){{0,3}}\s+(?:{nouns}){_NOUN_END}"
        rules.append((language, REQUEST, re.compile(request), _anchors(nouns)))
        rules.append((language, DESIRE, re.compile(desire), _anchors(nouns)))
    rules.append(("de", REQUEST, re.compile(_DE_VERB_FINAL), _anchors(_LEXICON["de"][2])))
    rules.extend(
        (language, INDIRECT, re.compile(source), anchors) for language, anchors, source in _INDIRECT
    )
    return tuple(rules)


_BUILTINS = _compile_builtins()
_NO_EXTRA: Mapping[str, Sequence[str]] = MappingProxyType({})


def _prepare(text: str) -> str:
    return _ELISION.sub(r"\1' ", fold(text))


def _bare(folded: str) -> str:
    return " ".join(re.findall(r"[\w']+", folded))


def _guarded(folded: str, start: int, end: int) -> bool:
    """True when the match at [start, end) is not a request (see the module docstring)."""
    before = folded[max(0, start - 60) : start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    for negation in _NEGATION.finditer(clause):
        if not _ABLE.search(clause[negation.end() :]):
            return True
    if _OTHER_SUBJECT.search(clause) and not _FOR_ME.search(folded[start:end]):
        return True
    tail = folded[start:end]
    last_word = tail.rsplit(" ", 1)
    head = folded[:start] + (last_word[0] if len(last_word) == 2 else "")
    return bool(_MODIFIER_BEFORE.search(head) or _MODIFIER_AFTER.match(folded[end : end + 24]))


class HumanRequestDetector:
    """Detects an explicit request for a human. `extra_phrases` (language -> phrases, as in
    the brief's `triggers.human_request.phrases`) are matched on top of the built-in rules."""

    def __init__(self, extra_phrases: Mapping[str, Sequence[str]] = _NO_EXTRA) -> None:
        extras: list[_Rule] = [
            (language, BRIEF, re.compile(phrase_pattern(phrase)), (fold(phrase).split()[0],))
            for language, phrases in extra_phrases.items()
            for phrase in phrases
        ]
        self._rules = (*_BUILTINS, *extras)

    def detect(self, text: str) -> HumanRequest | None:
        """The strongest request in `text`, or None when there is none."""
        folded = _prepare(text)
        if not folded:
            return None
        best: HumanRequest | None = None
        standalone = _STANDALONE.match(_bare(folded))
        if standalone:
            noun = standalone.group("noun")
            best = HumanRequest(STANDALONE, _STANDALONE_NOUNS[noun], standalone.group(0))
        for language, score, pattern, anchors in self._rules:
            if best is not None and best.score >= score:
                continue
            if not any(anchor in folded for anchor in anchors):
                continue
            for match in pattern.finditer(folded):
                if not _guarded(folded, match.start(), match.end()):
                    best = HumanRequest(score, language, match.group(0))
                    break
        return best
