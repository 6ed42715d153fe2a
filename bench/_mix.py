"""The everyday traffic mix of `bench.webhooks --mix everyday`: what a shop's WhatsApp line
gets on a normal day, from a fixed crowd of returning customers.

Each message is one signed webhook with a unique wamid, sent by one of `CUSTOMERS`
customers picked at random (seeded), so most messages land in a conversation that is
already open, and some in one the bot has escalated or queued: those get no bot reply by
design. The weights are per 100 messages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CUSTOMERS = 2000
SEED = 8  #: issue 8; the same mix every run


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    texts: tuple[str, ...] = ()
    buttons: tuple[tuple[str, str], ...] = ()  #: (reply id, title) of a tapped button


#: weights sum to 100
MIX: tuple[Kind, ...] = (
    Kind("greeting", 14, ("hi", "hello", "hey there", "good morning", "hola", "Hi!")),
    Kind(
        "order status",
        14,
        (
            "where is my order?",
            "has my order shipped yet?",
            "when will my package arrive",
            "I ordered last week and nothing has come",
            "any update on my order?",
        ),
    ),
    Kind(
        "order status with number",
        8,
        (
            "where is order #{n}?",
            "order {n} hasn't arrived yet",
            "can you check order NW{n} please",
            "tracking for #{n}?",
        ),
    ),
    Kind(
        "thanks, bye",
        12,
        ("thanks, bye", "thank you!", "ok thanks", "great, thanks a lot", "perfect, thanks 🙂"),
    ),
    Kind(
        "vague",
        10,
        ("hello? anyone?", "I have a problem", "can you help me", "??", "it doesn't work"),
    ),
    Kind(
        "app or login",
        8,
        (
            "my app keeps logging me out",
            "I can't log in to my account",
            "the password reset email never arrives",
            "the app crashes when I open my orders",
        ),
    ),
    Kind(
        "refund",
        8,
        (
            "I want a refund for my order",
            "I'd like to return these shoes and get my money back",
            "how do I get a refund?",
            "the item arrived broken, I want my money back",
        ),
    ),
    Kind(
        "shipping",
        12,
        (
            "how long does shipping take?",
            "do you ship to Portugal?",
            "how much is delivery?",
            "can I get express shipping?",
        ),
    ),
    Kind("person", 3, ("can I talk to a person?", "I want to speak to a human", "agent please")),
    Kind("emoji", 5, ("👍", "🙏", "😊", "👌")),
    Kind(
        "button tap",
        6,
        buttons=(
            ("order_status", "Order status"),
            ("shipping", "Shipping"),
            ("returns_refund", "Returns and refunds"),
        ),
    ),
)
assert sum(k.weight for k in MIX) == 100


def customer(index: int) -> str:
    """The wa_id of returning customer `index` (12 digits, `77` then the index)."""
    return f"77{index:010d}"


@dataclass(frozen=True)
class Planned:
    wa_id: str
    wamid: str
    kind: str
    message: dict[str, Any]  #: the `messages[0]` object of the webhook


def plan(count: int, step: int, salt: str, ts: int) -> list[Planned]:
    """`count` messages of the mix for step `step`: the customers and texts are the same
    for the same (count, step); `salt` keeps wamids unique across runs."""
    rng = random.Random(SEED * 1000 + step)
    kinds = rng.choices(MIX, weights=[k.weight for k in MIX], k=count)
    out = []
    for index, kind in enumerate(kinds):
        wa_id = customer(rng.randrange(CUSTOMERS))
        wamid = f"wamid.BENCH{salt}S{step:02d}N{index:07d}"
        message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(ts)}
        if kind.buttons:
            reply_id, title = rng.choice(kind.buttons)
            message["type"] = "interactive"
            message["interactive"] = {
                "type": "button_reply",
                "button_reply": {"id": reply_id, "title": title},
            }
        else:
            text = rng.choice(kind.texts).format(n=rng.randrange(10000, 99999))
            message["type"] = "text"
            message["text"] = {"body": text}
        out.append(Planned(wa_id, wamid, kind.name, message))
    return out


def envelope(message: dict[str, Any], phone_number_id: str) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001234",
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Bench"}, "wa_id": message["from"]}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


def signed_requests(
    planned: Sequence[Planned], *, port: int, path: str, app_secret: str, phone_number_id: str
) -> list[bytes]:
    """Pre-built, pre-signed HTTP/1.1 requests, one per planned message."""
    key = app_secret.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    ).encode()
    requests = []
    for p in planned:
        body = envelope(p.message, phone_number_id)
        signature = hmac.new(key, body, hashlib.sha256).hexdigest()
        requests.append(
            head
            + f"X-Hub-Signature-256: sha256={signature}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return requests
