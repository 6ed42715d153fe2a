"""Asking about something, or asking us to act: "can I return a sale item?" against "I want
my money back" (en, es, pt, fr, de, it, id).

Rules over folded text (see `_text.fold`). A message is a **request** when it shows any
request cue, else a **question** when it shows a question cue, else a request:

- request cues: a first-person want or need ("I want", "quiero", "je voudrais", "ich
  möchte", "voglio", "mau"), unless it is a want to know or to ask ("I'd like to know",
  "quero saber", "mau tanya"); "can you ..." asking us to do something (but not "can you
  tell me"); something that happened to the customer ("I was charged twice", "it arrived
  broken", "doesn't work", "still waiting", "where is my ...", "why was I ..."); an order
  number (a specific order);
- question cues: a question mark; an interrogative or a modal question at the start of a
  clause ("how long", "do you", "can I", "is it possible", "puedo", "est-ce que", "kann
  ich", "posso", "apakah"); asking for information ("just wondering", "return policy").

A bare topic ("refund", "payment failed") is a request: when unsure, a person looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from relaydesk.nlu._text import fold

__all__ = ["QUESTION", "REQUEST", "Mode", "detect"]

QUESTION: Literal["question"] = "question"
REQUEST: Literal["request"] = "request"

_KNOW = (
    r"know|ask|check whether|find out|saber|preguntar|perguntar|savoir|demander|wissen|fragen"
    r"|sapere|chiedere|tanya|nanya|tahu|tau"
)

_REQUEST_CUES = {
    "en": r"(?<!do )(?<!did )(?<!would )(?<!should )(?<!will )(?<!can )(?<!if )"
    r"\bi(?: really| just| still)? (?:want|wanna|need|would like|'?d like|would love)"
    rf"(?! to (?:{_KNOW})\b)\b"
    r"|\b(?:can|could|would|will) (?:you|u|someone|somebody) (?:please |pls |just )?"
    r"(?!tell|explain|let me know|confirm|say|recommend|accept|take|ship|deliver|do\b)\w+"
    r"|\bi (?:was|got|have been|'?ve been|am being) (?:charged|billed|debited|overcharged)"
    r"|\b(?:you|they) (?:charged|billed|took|debited) (?:me|my)|\bcharged (?:me )?(?:twice|two)"
    r"|\b(?:it|this|they|these|the \w+|my \w+) (?:arrived|came|is|was|are|were) (?:broken|damaged"
    r"|defective|faulty|wrong|missing|torn|cracked|scratched)|\bwrong (?:size|item|colou?r"
    r"|product|one|order)\b|\b(?:doesn'?t|does not|don'?t|didn'?t|isn'?t|won'?t|not) (?:fit"
    r"|work|working|load|open|go through|let me)\b|\bcan'?t (?:log|sign|pay|access|get|login"
    r"|open|reset)|\bcannot\b|\b(?:failed|declined|rejected|locked)\b|\bstill (?:waiting"
    r"|no|not|haven'?t|nothing)\b|\bwhere(?:'s| is| are) (?:my|the money)\b"
    r"|\bwhen (?:will|do|can) i (?:get|see|receive) (?:my|the) (?:money|refund)"
    r"|\bwhy (?:was|were|did|have|has|am|is) (?:i|my|you|it|there)\b"
    r"|\b(?:hasn'?t|haven'?t|has not|have not|didn'?t|did not|never) (?:arrived|come|came"
    r"|received|got|gotten|been (?:refunded|credited))\b"
    r"|^(?:please |pls |plz )?(?:cancel|refund|return|delete|remove|stop|process|reset|unlock"
    r"|fix|send me|give me)(?: (?:my|it|this|that|the|them|me|order|everything|all)\b|\W*$)"
    r"|\b(?:problem|issue|trouble) with\b",
    "es": rf"\b(?:quiero|quisiera|necesito|me gustaria|deseo)\b(?! (?:{_KNOW})\b)"
    r"|(?<!se )\b(?:pueden|podeis|puede|podrian|podrias|puedes) (?!decirme|explicarme|indicarme)\w+"
    r"|\bme (?:cobraron|han cobrado|cobrasteis|cobraste|habeis cobrado|cargaron)"
    r"|\b(?:llego|vino|esta|estan|llegaron) (?:roto|rota|rotos|danad[oa]s?|mal|equivocad[oa])"
    r"|\bno (?:funciona|puedo|me deja|me llega|me ha llegado|me sirve|me queda|pasa)\b"
    r"|\bdonde (?:esta|estan) (?:mi|mis)\b|\bsigo (?:esperando|sin)\b|\btodavia no\b"
    r"|\bpor que (?:me|se me|no)\b|\bdos veces\b"
    r"|^(?:por favor )?(?:cancela|cancelen|reembolsen|devuelvan|borra|borren|eliminen)\b"
    r"|\bproblema con\b",
    "pt": rf"\b(?:quero|queria|preciso|gostaria)\b(?! (?:de )?(?:{_KNOW})\b)"
    r"|\b(?:podem|pode|poderiam|voces podem) (?!me dizer|me explicar|explicar)\w+"
    r"|\b(?:fui|foi) (?:cobrad[oa]|debitad[oa])|\bcobraram|\bduas vezes\b"
    r"|\bchegou (?:quebrad|danificad|errad|rasgad)|\bveio (?:quebrad|danificad|errad)"
    r"|\bnao (?:funciona|consigo|passou|chegou|serve|deixa)\b|\bcade (?:o )?meu\b"
    r"|\bonde (?:esta|estao) (?:o |a )?(?:meu|minha)\b|\bainda (?:estou esperando|nao|sem)\b"
    r"|\bpor que (?:fui|me|nao)\b"
    r"|^(?:por favor )?(?:cancelem|cancela|reembolsem|apaguem)\b|\bproblema com\b",
    "fr": rf"\bje (?:veux|voudrais|souhaite|souhaiterais)\b(?! (?:{_KNOW})\b)"
    rf"|\bj'?(?:aimerais|ai besoin)\b(?! (?:de )?(?:{_KNOW})\b)"
    r"|\b(?:pouvez-vous|pourriez-vous|vous pouvez|pouvez vous|pourriez vous) (?!me dire"
    r"|m'?expliquer|m'?indiquer)\w+|\bj'?ai ete (?:debite|preleve|facture)\b|\bdeux fois\b"
    r"|\b(?:arrive|arrivee|recu|recue) (?:casse|cassee|abime|abimee|endommage|endommagee"
    r"|defectueu)|\bne (?:marche|fonctionne|passe) pas|\bje n'?arrive pas\b|\bimpossible de\b"
    r"|\bou (?:est|sont) (?:mon|ma|mes)\b|\btoujours pas\b|\bj'?attends (?:toujours|encore)"
    r"|\bpourquoi (?:j'?ai|ai-je|on m'?a|vous m'?avez)"
    r"|^(?:svp |merci de )?(?:annulez|remboursez|supprimez)\b|\bprobleme (?:avec|de)\b",
    "de": rf"\bich (?:mochte|will|brauche|hatte gern|hatte gerne|wurde gern|wurde gerne)\b"
    rf"(?!(?: \w+)? (?:{_KNOW})\b)|\bmochte ich\b(?! (?:\w+ )?(?:{_KNOW})\b)"
    r"|\b(?:konnen sie|konnt ihr|konntet ihr|konnten sie) (?:bitte )?(?!mir sagen"
    r"|erklaren|sagen)\w+|\b(?:mir wurde|wurde mir|ihr habt mir|sie haben mir)\b"
    r"|\bdoppelt (?:abgebucht|belastet|berechnet)\b|\b(?:kaputt|beschadigt|defekt|falsch)"
    r" (?:angekommen|geliefert)\b|\b(?:ist|sind|war|kam) (?:\w+ )?(?:kaputt|beschadigt|defekt)"
    r"|\b(?:funktioniert|klappt|geht|passt) (?:\w+ )?nicht\b|\bkann mich nicht\b"
    r"|\bwo (?:ist|bleibt) (?:mein|meine)\b|\b(?:warte|warten) (?:\w+ )?noch\b|\bimmer noch\b"
    r"|\bwarum (?:wurde|habe|ist|wird)\b"
    r"|^(?:bitte )?(?:stornieren|erstatten|loschen) sie\b|\bproblem mit\b",
    "it": rf"\b(?:voglio|vorrei|ho bisogno)\b(?! (?:di )?(?:{_KNOW})\b)"
    r"|(?<!si )\b(?:potete|puo|potreste|puoi) (?:per favore )?(?!dirmi|spiegarmi|indicarmi)\w+"
    r"|\bmi (?:avete|hanno|ha) (?:addebitato|preso|scalato)|\bdue volte\b"
    r"|\b(?:arrivato|arrivata|arrivati|e) (?:rott|danneggiat|sbagliat|difettos)"
    r"|\bnon (?:funziona|riesco|va|mi fa|e arrivat)\b|\bdov'?e (?:il |la )?(?:mio|mia)\b"
    r"|\bsto ancora aspettando\b|\bancora (?:niente|nulla|non)\b"
    r"|\bperche (?:mi|non|ho)\b"
    r"|^(?:per favore )?(?:annullate|rimborsate|cancellate)\b|\bproblema con\b",
    "id": rf"\b(?:mau|ingin|pengen|pingin|minta|tolong|mohon)\b(?! (?:{_KNOW})\b)"
    r"|\b(?:terpotong|kepotong|ditagih|dobel|double)\b|\b(?:rusak|pecah|cacat|salah kirim)\b"
    r"|\b(?:gak|ga|tidak|nggak|enggak|gk|tdk) (?:bisa|masuk|jalan|berhasil)\b|\bgagal\b"
    r"|\b(?:uang|refund|dana) (?:saya|aku|sy)\b|\bmasih (?:belum|nunggu|menunggu)\b"
    r"|\bkenapa\b|\b(?:batalin|batalkan|kembalikan|refundkan|hapus) (?:pesanan|uang|akun|data)"
    r"|\bmasalah (?:dengan|sama|di)\b",
}

#: The start of a clause, after any greeting or filler ("hi, how long ...", "ok and can I").
_START = (
    r"(?:^|[,.;:!\u00a1]\s*)(?:(?:hi|hello|hey|ok|okay|so|also|and|btw|um|hmm|quick question"
    r"|hola|buenas|ola|oi|bonjour|salut|hallo|ciao|halo|kak|min|y|e|et|und|dan)\W+)*"
)

_QUESTION_CUES = {
    "en": r"[?\u00bf]"
    rf"|{_START}(?:how|what|which|when|where|who|whats|do|does|is|are|can|could|may|will"
    r"|would|should|have|has|any|anything)\b|\bis it possible\b|\bis there\b|\bdo you\b"
    r"|\b(?:can|could|may) (?:i|we|one)\b|\bhow (?:long|much|many|do|does|can|soon)\b"
    r"|\bwondering\b|\bjust asking\b|\bcurious\b|\b(?:want|like|need) to (?:know|ask)\b"
    r"|\btell me\b|\b(?:policy|window|methods|options|conditions|terms|info|information)\b",
    "es": rf"{_START}(?:que|como|cual|cuales|cuando|donde|cuanto|cuanta|cuantos|hay|tienen"
    r"|teneis|aceptan)\b|\b(?:puedo|podemos|se puede|se pueden|aceptan|aceptais|admiten"
    r"|cuanto tiempo|cuantos dias|es posible)\b"
    r"|\b(?:politica|plazo|metodos|formas de pago|condiciones|informacion)\b"
    r"|\b(?:quiero|quisiera|queria) (?:saber|preguntar)\b|\buna pregunta\b|\bduda\b",
    "pt": rf"{_START}(?:como|qual|quais|quando|onde|quanto|tem|existe|aceitam)\b"
    r"|\b(?:posso|podemos|da para|tem como|voces aceitam|quanto tempo|quantos dias"
    r"|e possivel)\b|\b(?:politica|prazo|metodos|formas de pagamento|condicoes)\b"
    r"|\b(?:quero|queria|gostaria de) (?:saber|perguntar)\b|\bduvida\b",
    "fr": rf"{_START}(?:comment|quel|quelle|quels|quelles|quand|ou|combien|acceptez|prenez)\b"
    r"|\b(?:est-ce que|est-ce qu|est ce que|puis-je|peut-on|on peut|y a-t-il"
    r"|combien de temps|combien de jours|c'?est possible|possible de|faut-il)\b"
    r"|\b(?:politique|delai|moyens de paiement|conditions)\b"
    r"|\b(?:voudrais|aimerais|veux) (?:savoir|demander)\b|\bune question\b",
    "de": rf"{_START}(?:wie|was|welche|welcher|welches|wann|wo|gibt|habt|haben sie|kann"
    r"|konnen|darf|akzeptiert|nehmt)\b|\b(?:kann ich|konnen wir|kann man|darf ich"
    r"|akzeptieren sie|nehmen sie|gibt es|wie lange|wie viele|ist es moglich)\b"
    r"|\b(?:ruckgabefrist|zahlungsarten|zahlungsmethoden|bedingungen)\b"
    r"|\b(?:wissen|fragen)\b|\beine frage\b",
    "it": rf"{_START}(?:come|quale|quali|quando|dove|quanto|c'?e|ci sono|avete|accettate"
    r"|prendete)\b|\b(?:posso|possiamo|si puo|quanto tempo|quanti giorni|e possibile)\b"
    r"|\b(?:politica|termini|metodi|condizioni)\b"
    r"|\b(?:vorrei|voglio) (?:sapere|chiedere)\b|\buna domanda\b",
    "id": rf"{_START}(?:apa|ada|bisa|boleh|kapan|gimana|bagaimana)\b"
    r"|\b(?:apakah|adakah|berapa lama|berapa hari|caranya|bisa gak|bisa nggak|bisa ga"
    r"|ada gak|ada nggak|nerima|terima(?! kasih))\b|\b(?:kebijakan|metode|syarat)\b"
    r"|\b(?:mau|ingin) (?:tanya|nanya)\b",
}


def _compile(cues: dict[str, str]) -> re.Pattern[str]:
    """One pattern for every language (one pass over the text), languages as named groups."""
    return re.compile("|".join(f"(?P<{language}>{source})" for language, source in cues.items()))


_REQUESTS = _compile(_REQUEST_CUES)
_QUESTIONS = _compile(_QUESTION_CUES)
#: Something broken, charged twice, failed or blocked: a problem to sort out, in any language.
_PROBLEM = re.compile(
    r"\b(?:broken|damaged|cracked|smashed|chipped|defective|faulty|scratched|dented|torn"
    r"|twice|two times|roto|rota|rotos|rotas|danado|danada|rayado|rayada|defectuos[oa]"
    r"|quebrad[oa]|danificad[oa]|riscad[oa]|defeituos[oa]|casse|cassee|abime|abimee"
    r"|endommage|endommagee|raye|rayee|defectueu(?:x|se)|kaputt|beschadigt|defekt|zerkratzt"
    r"|zerbrochen|zweimal|rott[oa]|danneggiat[oa]|graffiat[oa]|difettos[oa]|rusak|pecah"
    r"|cacat|lecet|penyok|dua kali"
    r"|fallo|ha fallado|rechazad[oa]|bloquead[oa]|falhou|recusad[oa]|echoue|refuse|bloque"
    r"|fehlgeschlagen|abgelehnt|gesperrt|fallit[oa]|rifiutat[oa]|bloccat[oa]|ditolak"
    r"|terblokir|diblokir)\b"
)
#: A condition before a request cue makes it hypothetical ("if it doesn't fit, can I ...").
_HYPOTHETICAL = re.compile(
    r"\b(?:if|in case|what if|si|se|wenn|falls|kalau|jika|caso|qualora|au cas ou)\b"
)


@dataclass(frozen=True, slots=True)
class Mode:
    """Whether a message asks about something (`question`) or asks us to act (`request`);
    `cue` is the matched span of the folded text ("" when nothing matched)."""

    kind: Literal["question", "request"]
    cue: str
    language: str | None = None


def detect(text: str, *, specific: bool = False) -> Mode:
    """The mode of `text`; `specific` (the message names an order) makes it a request."""
    folded = fold(text)
    if specific:
        return Mode(REQUEST, "an order number")
    asked = "?" in folded
    for pattern in (_REQUESTS, _PROBLEM):
        for found in pattern.finditer(folded):
            if asked and _HYPOTHETICAL.search(folded, 0, found.start()):
                continue
            return Mode(REQUEST, found.group(0).strip(), found.lastgroup)
    if match := _QUESTIONS.search(folded):
        return Mode(QUESTION, match.group(0).strip(), match.lastgroup)
    return Mode(REQUEST, "")
