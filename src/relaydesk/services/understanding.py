"""Understanding: from a customer's message to intent, confidence and signals.

Pure apart from model inference, and independent of the conversation, so it runs before
the database transaction and in batches (one vectorised classifier call per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from relaydesk.brief.schema import Brief
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.decision import Understanding
from relaydesk.domain.knowledge import Hit, parse_reply_id
from relaydesk.domain.language import DETECTED, settle
from relaydesk.domain.policy import READABLE
from relaydesk.nlu import ask, sentiment
from relaydesk.nlu import entities as entity_extraction
from relaydesk.nlu.cancel import CancelDetector
from relaydesk.nlu.datasets import DatasetError, Labelled
from relaydesk.nlu.human_request import HumanRequestDetector
from relaydesk.nlu.intent import OOS, IntentClassifier, Prediction
from relaydesk.nlu.language import NLU_LANGUAGES, LanguageDetector, model_languages

if TYPE_CHECKING:  # numpy and scikit-learn are imported only where a model is built
    from relaydesk.nlu.calibration import Floats
    from relaydesk.nlu.knowledge import KnowledgeBase, KnowledgeIndex

log = structlog.get_logger(__name__)
NOTHING = Understanding(None, 0.0)
#: `customers.language_source` when a human-request or cancel phrase showed the language.
PHRASE = "phrase"


@dataclass(frozen=True, slots=True)
class CustomerLanguage:
    """The customer's language after a message, and whether (and how) it changed."""

    language: str | None
    changed: bool
    source: str | None


def customer_language(
    understanding: Understanding, previous: str | None
) -> tuple[Understanding, CustomerLanguage]:
    """`understanding` with `language` set to the customer's language after this message
    (kept unless the message is confidently in another, `domain.language.settle`; a
    human-request phrase's language when nothing else is known)."""
    settled = settle(previous, understanding.language_guess)
    source = DETECTED
    if settled is None and understanding.language is not None:
        settled, source = understanding.language, PHRASE
    changed = settled is not None and settled != previous
    return (
        replace(understanding, language=settled),
        CustomerLanguage(settled, changed, source if changed else None),
    )


def detection_languages(brief: Brief) -> list[str]:
    """The NLU's seven languages and every language the brief names (business, queues)
    that the language model knows."""
    named = [*brief.business.languages, *(c for q in brief.queues.values() for c in q.languages)]
    known = model_languages()
    return sorted(
        {*NLU_LANGUAGES, *(c.replace("-", "_").split("_")[0].lower() for c in named)} & known
    )


def check_history(brief: Brief, history: Labelled) -> None:
    """Every history label must be one of the brief's intents or `oos`."""
    unknown = sorted(set(history.labels) - set(brief.intents) - {OOS})
    if unknown:
        raise DatasetError(
            f"labelled history uses {len(unknown)} label(s) the brief does not define: "
            f"{', '.join(unknown[:10])}; use the brief's intent names "
            f"({', '.join(sorted(brief.intents))}) or `{OOS}`"
        )


class Understander:
    def __init__(
        self, brief: Brief, classifier: IntentClassifier, knowledge: KnowledgeBase | None = None
    ) -> None:
        self._brief = brief
        self._classifier = classifier
        self.knowledge = knowledge
        self._human = HumanRequestDetector(brief.triggers.human_request.phrases)
        self._cancel = CancelDetector(brief.triggers.cancel.phrases)
        self._sentiment = sentiment.load_model()
        self._language = LanguageDetector(detection_languages(brief))
        self._order_patterns = (
            tuple(brief.nlu.order_patterns) or entity_extraction.DEFAULT_ORDER_PATTERNS
        )
        self._buttons = {
            button.reply_id: button.intent
            for intent in brief.intents.values()
            if intent.next_action is not None
            for button in intent.next_action.buttons
            if button.intent is not None
        }
        pricing = brief.playbooks.pricing
        if pricing is not None:  # a tap on a qualification option is a pricing answer
            self._buttons.update({option.reply_id: pricing.intent for option in pricing.options})

    @classmethod
    def trained(
        cls, brief: Brief, classifier: IntentClassifier, history: Labelled | None = None
    ) -> Understander:
        """Train `classifier` on the brief's examples plus labelled history, if any (past
        messages labelled with the brief's intents, or `oos` for out of scope)."""
        texts = [text for intent in brief.intents.values() for text in intent.examples]
        labels = [name for name, intent in brief.intents.items() for _ in intent.examples]
        if history is not None:
            check_history(brief, history)
            texts += history.texts
            labels += history.labels
        classifier.fit(texts, labels)
        folder = brief.knowledge_base_folder
        knowledge = None
        if folder is not None:
            from relaydesk.nlu.knowledge import KnowledgeBase

            knowledge = KnowledgeBase.with_default_encoder(folder)
        return cls(brief, classifier, knowledge)

    def understand_many(self, messages: Sequence[InboundMessage]) -> list[Understanding]:
        """One understanding per message, in order. Never raises: a failing model degrades
        to "not understood", which the policy turns into a clarification or a handoff."""
        try:
            return self._understand_many(messages)
        except Exception:
            log.exception("understanding_failed", messages=len(messages))
            return [NOTHING] * len(messages)

    def _understand_many(self, messages: Sequence[InboundMessage]) -> list[Understanding]:
        results: list[Understanding] = [NOTHING] * len(messages)
        to_classify: list[int] = []
        for index, message in enumerate(messages):
            if message.type not in READABLE:
                continue
            pressed = self._pressed(message.reply_id)
            chosen = parse_reply_id(message.reply_id)
            if chosen is not None and self.knowledge is not None:
                kb = self.knowledge.current()
                hit = kb.hit(*chosen)
                if hit is not None:
                    results[index] = Understanding(
                        None, 0.0, knowledge=(hit,), knowledge_version=kb.version
                    )
            elif pressed is not None:
                results[index] = Understanding(pressed, 1.0, "button", ranking=((pressed, 1.0),))
            elif message.text:
                to_classify.append(index)
        if not to_classify:
            return results
        texts = [messages[i].text or "" for i in to_classify]
        if self.knowledge is None:
            predictions = self._classifier.predict(texts)
            index_now, vectors = None, {}
        else:
            from relaydesk.nlu.minilm import held  # imported with the knowledge base

            with held():  # a text the classifier encoded is not encoded again for its search
                predictions = self._classifier.predict(texts)
                index_now = self.knowledge.current()
                vectors = index_now.query_vectors(  # the batch's queries, encoded together
                    [t for t, p in zip(texts, predictions, strict=True) if self._searches(p)]
                )
        for index, text, prediction in zip(to_classify, texts, predictions, strict=True):
            human = self._human.detect(text)
            cancel = self._cancel.detect(text)
            mood = sentiment.score(text, self._sentiment)
            found = entity_extraction.extract(text, self._order_patterns)
            mode = ask.detect(text, specific=bool(found.order_numbers))
            hits, version = self._knowledge(index_now, text, prediction, vectors.get(text))
            results[index] = Understanding(
                prediction.intent,
                prediction.confidence,
                ranking=prediction.ranking,
                out_of_scope=prediction.out_of_scope,
                human_request=human.score if human else 0.0,
                human_request_phrase=human.phrase if human else None,
                cancel=cancel.score if cancel else 0.0,
                sentiment=mood.sentiment,
                frustration=mood.frustration,
                language=(human.language if human else None)
                or (cancel.language if cancel else None),
                language_guess=self._language.detect(text),
                mode=mode.kind,
                mode_cue=mode.cue,
                knowledge=hits,
                knowledge_version=version,
                entities={
                    name: values
                    for name, values in (
                        ("order_numbers", found.order_numbers),
                        ("emails", found.emails),
                        ("phones", found.phones),
                        ("money", tuple(m.text for m in found.money)),
                    )
                    if values
                },
            )
        return results

    def _confident(self, prediction: Prediction) -> bool:
        intent = prediction.intent
        threshold = (
            self._brief.confidence_threshold(intent)
            if intent in self._brief.intents
            else self._brief.policy.confidence_threshold
        )
        return not prediction.out_of_scope and prediction.confidence >= threshold

    def _article(self, prediction: Prediction) -> str | None:
        intent = prediction.intent
        return self._brief.intents[intent].article if intent in self._brief.intents else None

    def _searches(self, prediction: Prediction) -> bool:
        """Whether `_knowledge` reads the knowledge base for this prediction."""
        return not self._confident(prediction) or self._article(prediction) is not None

    def _knowledge(
        self,
        index: KnowledgeIndex | None,
        text: str,
        prediction: Prediction,
        vector: Floats | None = None,
    ) -> tuple[tuple[Hit, ...], str]:
        """Knowledge-base passages for a message no intent answers confidently, or the
        passage of the article a confident intent is answered from."""
        if index is None:
            return (), ""
        if self._confident(prediction):
            article = self._article(prediction)
            if article is None:
                return (), ""
            found = index.best_in(article, text, prediction.confidence, vector)
            return ((found,) if found else ()), index.version
        return tuple(ranked.hit for ranked in index.search(text, vector=vector)), index.version

    def _pressed(self, reply_id: str | None) -> str | None:
        """A button or list row that names an intent."""
        if reply_id is None:
            return None
        if reply_id in self._buttons:
            return self._buttons[reply_id]
        return reply_id if reply_id in self._brief.intents else None
