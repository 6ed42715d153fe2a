"""Replay past conversations through the decision code, turn by turn, with nothing sent.

Each customer turn of the history is decided exactly as the webhook path's decision stage
decides a stored message (`domain.turn.arrived`, the backlog rule, the decider's policy
step, `domain.turn.settled`), with the clock frozen at the message's time. The business's
own turns in the history (bot or agent) are not decided: they are what the replay is scored
against. Understanding is batched across the whole history, as the decision stage batches
a round (it reads each message alone, so the batch does not change it), and each distinct
message is understood once.

What differs from live, on purpose: nothing is stored or sent, and an escalation's reply
is worded without live queue figures (the replay has no live queue; `--against` predicts
waits with the queue simulation instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from relaydesk.domain import turn as one_turn
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Understanding
from relaydesk.domain.history import History, HistoryConversation, Turn
from relaydesk.domain.launch import ReplayedTurn
from relaydesk.domain.outbound import Buttons, ListMessage, OutboundContent, Template, Text
from relaydesk.domain.policy import Outcome, with_wait
from relaydesk.services.decisions import DecisionMaker

T = TypeVar("T")

#: How many distinct customer messages one model call understands.
UNDERSTAND_BATCH = 256
#: The replay's stand-in for the phone number the history was received on.
PHONE_NUMBER_ID = "replay"


def replay(
    history: History,
    decider: DecisionMaker,
    *,
    backlog_max_age: timedelta | None = None,
    progress: Callable[[int], None] = lambda done: None,
) -> list[ReplayedTurn]:
    """Every customer turn of `history` decided by `decider`, conversation by conversation
    in time order. `progress` is called with the number of customer turns decided so far.
    Without `backlog_max_age` no message counts as a backlog (each is decided at its own
    time, so none is late)."""
    customer = [t for c in history.conversations for t in c.turns if t.author == "customer"]
    messages = {id(t): _message(t, n) for n, t in enumerate(customer)}
    # An understanding depends on the message's type, text and button alone: each distinct
    # message is understood once ("hi" and "thanks" come back thousands of times)
    distinct: dict[tuple[str, str | None], InboundMessage] = {}
    for message in messages.values():
        distinct.setdefault((message.type, message.text), message)
    keys = list(distinct)
    known: dict[tuple[str, str | None], Understanding] = {}
    for chunk in _chunks(keys, UNDERSTAND_BATCH):
        found = decider.understand_many([distinct[key] for key in chunk])
        known.update(zip(chunk, found, strict=True))
    understood = {key: known[(message.type, message.text)] for key, message in messages.items()}
    result: list[ReplayedTurn] = []
    for number, conversation in enumerate(history.conversations):
        for replayed in _conversation(
            conversation, number, decider, messages, understood, backlog_max_age
        ):
            result.append(replayed)
            if len(result) % 100 == 0:
                progress(len(result))
    progress(len(result))
    return result


def _conversation(
    conversation: HistoryConversation,
    number: int,
    decider: DecisionMaker,
    messages: dict[int, InboundMessage],
    understood: dict[int, Understanding],
    backlog_max_age: timedelta | None,
) -> Iterator[ReplayedTurn]:
    state = ConversationState(id=number, status=ConversationStatus.BOT, last_inbound_at=None)
    turns = conversation.turns
    has_bot = any(t.author == "bot" for t in turns)
    customer_turns = 0
    for index, item in enumerate(turns):
        if item.author != "customer":
            continue
        customer_turns += 1
        message, now = messages[id(item)], item.at
        outcome, state = decide_turn(
            decider, state, message, understood[id(item)], {}, now, backlog_max_age
        )
        decision = outcome.decision
        answer = _history_answer(turns, index)
        route = decision.route
        texts, buttons = readable(decision.replies)
        yield ReplayedTurn(
            conversation_id=conversation.id,
            turn=customer_turns,
            source=item.source,
            text=item.text,
            action=decision.action.value,
            intent=decision.intent,
            confidence=decision.confidence,
            triggers=tuple(t.type for t in decision.triggers),
            replies=texts,
            buttons=buttons,
            queue=route.queue if route else None,
            priority=route.priority if route else None,
            status_after=state.status.value,
            language=understood[id(item)].language,
            answer_length=decision.detail.get("length"),
            labels=item.labels,
            answered_by=answer.author if answer else None,
            history_has_bot=has_bot,
        )


def decide_turn(
    decider: DecisionMaker,
    state: ConversationState,
    message: InboundMessage,
    understanding: Understanding,
    attributes: Mapping[str, str],
    now: datetime,
    backlog_max_age: timedelta | None = None,
) -> tuple[Outcome, ConversationState]:
    """One customer message decided as the decision stage decides it, with nothing stored:
    the outcome and the conversation's state after it. A resolved conversation starts the
    customer's next one; an escalation is worded without live queue figures."""
    if state.status is ConversationStatus.RESOLVED:
        state = ConversationState(id=state.id, status=ConversationStatus.BOT, last_inbound_at=None)
    state = one_turn.arrived(state, message)
    outcome = (
        one_turn.backlogged(state, message, now, backlog_max_age)
        if backlog_max_age is not None
        else None
    )
    if outcome is None:
        outcome = decider.decide(state, message, understanding, attributes, now)
    if outcome.handoff is not None:
        outcome = with_wait(outcome, decider.brief, None, now)
    return outcome, one_turn.settled(state, outcome)


def _history_answer(turns: Sequence[Turn], index: int) -> Turn | None:
    """The business's first turn after the customer's turn at `index`, before the customer
    writes again."""
    for later in turns[index + 1 :]:
        if later.author == "customer":
            return None
        return later
    return None


def _message(item: Turn, number: int) -> InboundMessage:
    """A history turn as the webhook path would have parsed it: a text message (media
    with no caption is an image with no text)."""
    media = item.media and not item.text
    return InboundMessage(
        wamid=f"replay.{number}",
        phone_number_id=PHONE_NUMBER_ID,
        sender=Sender(wa_id=f"replay-{item.conversation_id}"),
        sent_at=item.at,
        type="image" if media else "text",
        text=item.text or None,
    )


def readable(replies: Sequence[OutboundContent]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The replies' texts, one per message, and the titles of any buttons or list rows."""
    texts: list[str] = []
    buttons: list[str] = []
    for reply in replies:
        match reply:
            case Text(body=body):
                texts.append(body)
            case Buttons(body=body, buttons=options):
                texts.append(body)
                buttons.extend(b.title for b in options)
            case ListMessage(body=body, sections=sections):
                texts.append(body)
                buttons.extend(row.title for s in sections for row in s.rows)
            case Template(name=name):
                texts.append(f"[template {name}]")
            case _:
                texts.append(str(reply))
    return tuple(texts), tuple(buttons)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
