"""Per-message sentiment (-1..1) and frustration (0..1), and the trend over recent turns.

English words carry weights learned on GoEmotions (see `data/README.md`): three logistic
heads over sublinear TF-IDF unigrams - negative, positive and frustration (anger, annoyance,
disappointment, disapproval, disgust). On top, chat signals with hand-set weights move the
negative and frustration logits: ALL CAPS, "!!"/"??", angry emoji, profanity, repeat cues
("still", "again", "third time", "otra vez", "schon wieder"), waiting-time complaints, and
the strongest words of es/pt/fr/de/it/id. `sentiment = P(positive) - P(negative)`.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from relaydesk.nlu._text import fold

__all__ = ["Model", "Sentiment", "Trend", "load_model", "score", "trend"]

_TOKEN = re.compile(r"[a-z0-9']+")
_CAPS_WORD = re.compile(r"\b[A-Z]{2,}\b")
_LETTERS = re.compile(r"[^\W\d_]")
_SHOUT = re.compile(r"[!?]{2,}|\?!|!\?")
_ANGRY_EMOJI = re.compile(
    "[\U0001f621\U0001f92c\U0001f620\U0001f4a2\U0001f44e\U0001f624\U0001f612\U0001f644]"
)
_HAPPY_EMOJI = re.compile("[\U0001f600-\U0001f60d\U0001f642\U0001f917\U0001f44d\u2764\U0001f64f]")


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """Single words are looked up among the tokens; phrases go through one regex."""

    words: frozenset[str]
    phrases: re.Pattern[str] | None

    def search(self, folded: str, words: set[str]) -> bool:
        if not self.words.isdisjoint(words):
            return True
        return self.phrases is not None and self.phrases.search(folded) is not None


def _words(source: str) -> _Lexicon:
    entries = source.split("|")
    single = frozenset(e for e in entries if re.fullmatch(r"[a-z0-9']+", e))
    phrases = [e for e in entries if e not in single]
    pattern = re.compile(r"\b(?:" + "|".join(phrases) + r")(?!\w)") if phrases else None
    return _Lexicon(single, pattern)


_PROFANITY = _words(
    r"fuck|fucking|fucked|fucks|f\*+k|wtf|shit|shitty|bullshit|crap|damn|bloody hell|pissed"
    r"|mierda|joder|carajo"
    r"|puta|cono|porra|merda|caralho|droga|putain|merde|bordel|scheisse|mist|verdammt"
    r"|cazzo|merda|vaffanculo|anjing|bangsat|sialan|tai|brengsek|goblok|bego"
)
_NEGATIVE_WORDS = _words(
    r"ridiculous|useless|unacceptable|terrible|horrible|worst|scam|fraud|disgusting|pathetic"
    r"|incompetent|furious|fed up|sick of|joke|rubbish|garbage|awful|disappointed|angry"
    r"|pesimo|horrible|inaceptable|inutil|ridiculo|estafa|verguenza|harto|harta|fatal"
    r"|enfadado|molesto|decepcionado|pessimo|pessima|absurdo|palhacada|vergonha|lixo"
    r"|ridicula|cansado|decepcionada|irritado|nul|nulle|inadmissible|honteux|honte|arnaque"
    r"|inacceptable|ridicule|marre|scandaleux|decu|decue|furieux|unverschamt|frechheit"
    r"|katastrophe|lacherlich|betrug|inakzeptabel|schlecht|enttauscht|sauer|wutend|schlimm"
    r"|vergogna|pessima|ridicolo|schifo|truffa|inaccettabile|inutile|vergognoso|deluso"
    r"|arrabbiato|kecewa|parah|payah|penipu|penipuan|bohong|marah|kesal|jelek|lambat|lelet"
    r"|mengecewakan|keterlaluan|gimana sih|tidak becus"
)
_POSITIVE_WORDS = _words(
    r"thank|thanks|thank you|thx|ty|great|perfect|awesome|excellent|love|amazing|gracias|genial"
    r"|perfecto|excelente|obrigado|obrigada|valeu|otimo|otima|perfeito|maravilha|merci|parfait"
    r"|super|genial|danke|toll|prima|perfekt|wunderbar|grazie|perfetto|ottimo|fantastico"
    r"|terima kasih|makasih|mantap|bagus|keren|sip"
)
_REPEAT_CUES = _words(
    r"still|again|(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) time|how many times"
    r"|every time|yet again|once again|todavia|aun|otra vez|de nuevo|tercera vez|ainda|de novo"
    r"|outra vez|terceira vez|encore|toujours pas|a nouveau|troisieme fois|immer noch"
    r"|schon wieder|wieder|zum dritten mal|ancora|di nuovo|terza volta|masih|lagi|belum juga"
    r"|berkali.kali"
)
_WAITING = _words(
    r"(?:wait(?:ed|ing)?|since|for|over|already) (?:\d+|two|three|several|many|a few) "
    r"(?:minutes|hours|days|weeks|months)|no (?:one|body) (?:answers|replies|responds|is answering)"
    r"|no (?:response|reply|answer)|still waiting|never arrived|hasn'?t arrived|not arrived"
    r"|hace \d+ (?:dias|semanas|horas)|nadie responde|faz \d+ (?:dias|semanas|horas)"
    r"|ninguem responde|depuis \d+ (?:jours|semaines|heures)|personne ne repond"
    r"|seit \d+ (?:tagen|wochen|stunden)|niemand antwortet|da \d+ (?:giorni|settimane|ore)"
    r"|nessuno risponde|sudah \d+ (?:hari|minggu|jam)|tidak ada (?:yang )?(?:balas|respon)"
)

# Hand-set logit shifts for the chat signals: (negative, frustration, positive).
_SHIFTS: dict[str, tuple[float, float, float]] = {
    "caps": (0.6, 1.0, -0.3),
    "shout": (0.3, 0.5, 0.0),
    "angry_emoji": (1.2, 1.5, -1.0),
    "happy_emoji": (-0.6, -0.6, 0.8),
    "profanity": (1.0, 1.2, -0.5),
    "negative_word": (1.2, 1.2, -0.8),
    "positive_word": (-0.8, -0.6, 1.0),
    "repeat": (0.4, 0.7, -0.2),
    "waiting": (0.8, 1.0, -0.3),
}


@dataclass(frozen=True, slots=True)
class Sentiment:
    """`sentiment` in -1..1 (negative..positive), `frustration` in 0..1, and the chat
    signals that moved them (for the decision explanation)."""

    sentiment: float
    frustration: float
    negative: float
    signals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trend:
    """Over the last turns: least-squares `slope` per turn, `mean`, and `drop` = the highest
    score in the window minus the latest (0 when the latest is the highest)."""

    slope: float
    mean: float
    drop: float


@dataclass(frozen=True, slots=True)
class Model:
    """Learned weights: word -> (idf, negative, positive, frustration), intercepts and the
    dev-chosen frustration threshold."""

    weights: dict[str, tuple[float, float, float, float]]
    intercepts: tuple[float, float, float]
    threshold: float


def _parse(lines: Sequence[str]) -> Model:
    weights: dict[str, tuple[float, float, float, float]] = {}
    intercepts = (0.0, 0.0, 0.0)
    threshold = 0.5
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if fields[0] == "#intercepts":
            intercepts = (float(fields[1]), float(fields[2]), float(fields[3]))
        elif fields[0] == "#threshold":
            threshold = float(fields[1])
        elif len(fields) == 5 and not fields[0].startswith("#"):
            idf, neg, pos, fru = (float(value) for value in fields[1:])
            weights[fields[0]] = (idf, neg, pos, fru)
    return Model(weights, intercepts, threshold)


@lru_cache(maxsize=1)
def load_model() -> Model:
    """The bundled model (read once, on first use)."""
    path = resources.files("relaydesk.nlu") / "data" / "sentiment_goemotions.tsv.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return _parse(text.readlines())


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, value))))


def _signals(text: str, folded: str, words: set[str]) -> list[str]:
    found = []
    letters = len(_LETTERS.findall(text))
    caps = sum(len(word) for word in _CAPS_WORD.findall(text))
    if letters >= 6 and caps >= 0.6 * letters:
        found.append("caps")
    marks = (("shout", _SHOUT), ("angry_emoji", _ANGRY_EMOJI), ("happy_emoji", _HAPPY_EMOJI))
    found.extend(name for name, pattern in marks if pattern.search(text))
    lexicons = (
        ("profanity", _PROFANITY),
        ("negative_word", _NEGATIVE_WORDS),
        ("positive_word", _POSITIVE_WORDS),
        ("repeat", _REPEAT_CUES),
        ("waiting", _WAITING),
    )
    found.extend(name for name, lexicon in lexicons if lexicon.search(folded, words))
    return found


def linear_logits(tokens: Sequence[str], model: Model) -> tuple[float, float, float]:
    """The learned heads' logits (negative, positive, frustration) for `tokens`."""
    counts = Counter(token for token in tokens if token in model.weights)
    features = [
        (model.weights[t], (1.0 + math.log(n)) * model.weights[t][0]) for t, n in counts.items()
    ]
    norm = math.sqrt(sum(value * value for _, value in features)) or 1.0
    neg, pos, fru = model.intercepts
    for (_, w_neg, w_pos, w_fru), value in features:
        neg += w_neg * value / norm
        pos += w_pos * value / norm
        fru += w_fru * value / norm
    return neg, pos, fru


def tokens(folded: str) -> list[str]:
    """The model's tokens of already folded text."""
    return _TOKEN.findall(folded)


#: Apologies as politeness ("sorry, where is my order"): neutral in support chat, though
#: GoEmotions labels them remorse.
_POLITE = frozenset(
    {"sorry", "perdon", "perdona", "desculpa", "desculpe", "pardon", "entschuldigung",
     "entschuldigen", "scusa", "scusi", "maaf"}
)  # fmt: skip
#: Hedges soften what follows ("a bit disappointed"): negative evidence counts for less.
_HEDGES = re.compile(
    r"\b(a bit|a little|slightly|kinda|kind of|somewhat|un poco|um pouco|un peu|"
    r"ein bisschen|etwas|un po|sedikit|agak)\b"
)
HEDGE_DAMPING = 0.6


def score(text: str, model: Model | None = None) -> Sentiment:
    """Sentiment and frustration of one message."""
    model = model or load_model()
    folded = fold(text)
    words = tokens(folded)
    neg, pos, fru = linear_logits([w for w in words if w not in _POLITE], model)
    hedged = _HEDGES.search(folded) is not None
    if hedged:
        base_neg, _, base_fru = model.intercepts
        neg = base_neg + (neg - base_neg) * HEDGE_DAMPING
        fru = base_fru + (fru - base_fru) * HEDGE_DAMPING
    signals = _signals(text, folded, set(words))
    for name in signals:
        d_neg, d_fru, d_pos = _SHIFTS[name]
        if hedged and name == "negative_word":
            d_neg, d_fru = d_neg * HEDGE_DAMPING, d_fru * HEDGE_DAMPING
        neg, fru, pos = neg + d_neg, fru + d_fru, pos + d_pos
    p_neg, p_pos = _sigmoid(neg), _sigmoid(pos)
    return Sentiment(
        round(p_pos - p_neg, 4), round(_sigmoid(fru), 4), round(p_neg, 4), tuple(signals)
    )


def trend(scores: Sequence[float], turns: int) -> Trend:
    """The trend of the last `turns` scores (oldest first). Fewer scores use what there is."""
    if turns < 1:
        raise ValueError(f"turns={turns} must be at least 1; the brief's trend_turns is 2..20.")
    window = list(scores[-turns:])
    if not window:
        return Trend(0.0, 0.0, 0.0)
    count = len(window)
    mean = sum(window) / count
    if count == 1:
        return Trend(0.0, mean, 0.0)
    middle = (count - 1) / 2
    spread = sum((i - middle) ** 2 for i in range(count))
    slope = sum((i - middle) * (value - mean) for i, value in enumerate(window)) / spread
    return Trend(slope, mean, max(window) - window[-1])
