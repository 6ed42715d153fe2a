"""In-memory state of the sandbox phone: customers and their chat timelines.

One process, one store. Every method takes a lock and does no I/O, so the store is safe to
call from async handlers and from threads alike. Each change to a bubble gives it a new
`seq` from one monotonic counter, so the page can poll `since=N` and upsert what changed
(new bubbles and status moves alike); `order` keeps the creation order for display.
Each customer keeps at most `max_bubbles` bubbles; the oldest are dropped first.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["in", "out"]

#: The order statuses may move in; "failed" is terminal. Inbound bubbles use
#: sending -> delivered (webhook answered 200) -> read (the bot marked it read).
_RANK = {"sending": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 9}

DEFAULT_MAX_BUBBLES = 500


class UnknownCustomerError(KeyError):
    """No customer with that wa_id."""


class DuplicateCustomerError(ValueError):
    """A customer with that wa_id already exists."""


@dataclass(slots=True)
class SandboxCustomer:
    wa_id: str
    name: str
    user_id: str | None = None  #: BSUID
    typing_until: float = 0.0  #: the bot's typing indicator, as a unix time

    def to_json(self) -> dict[str, Any]:
        return {"wa_id": self.wa_id, "name": self.name, "user_id": self.user_id}


@dataclass(slots=True)
class Bubble:
    """One message on the phone: `in` is what the customer sent, `out` what the fake Graph
    received. `content` is the rendered message (text, buttons, list sections, template)."""

    order: int
    seq: int
    wa_id: str
    direction: Direction
    wamid: str
    kind: str
    at: int
    status: str
    content: dict[str, Any] = field(default_factory=dict)
    context_wamid: str | None = None
    callback_data: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "seq": self.seq,
            "direction": self.direction,
            "wamid": self.wamid,
            "kind": self.kind,
            "at": self.at,
            "status": self.status,
            "content": self.content,
            "context_wamid": self.context_wamid,
            "error": self.error,
        }


def status_advances(current: str, new: str) -> bool:
    """True when `new` may replace `current`: statuses only move forward; failed is final."""
    if current == "failed":
        return False
    return new == "failed" or _RANK.get(new, -1) > _RANK.get(current, -1)


class SandboxStore:
    def __init__(self, *, max_bubbles: int = DEFAULT_MAX_BUBBLES) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._max = max_bubbles
        self._customers: dict[str, SandboxCustomer] = {}
        self._timelines: dict[str, deque[Bubble]] = {}
        self._by_wamid: dict[str, Bubble] = {}

    # --- customers ----------------------------------------------------------------------

    def add_customer(self, wa_id: str, name: str, user_id: str | None = None) -> SandboxCustomer:
        with self._lock:
            if wa_id in self._customers:
                raise DuplicateCustomerError(wa_id)
            customer = SandboxCustomer(wa_id=wa_id, name=name, user_id=user_id)
            self._customers[wa_id] = customer
            self._timelines[wa_id] = deque()
            return customer

    def customers(self) -> list[SandboxCustomer]:
        with self._lock:
            return list(self._customers.values())

    def customer(self, wa_id: str) -> SandboxCustomer:
        with self._lock:
            return self._customer(wa_id)

    def find_customer(
        self, *, wa_id: str | None = None, user_id: str | None = None
    ) -> SandboxCustomer | None:
        with self._lock:
            if wa_id is not None:
                return self._customers.get(wa_id)
            if user_id is not None:
                return next((c for c in self._customers.values() if c.user_id == user_id), None)
            return None

    def set_typing(self, wa_id: str, until: float) -> None:
        with self._lock:
            self._customer(wa_id).typing_until = until

    def _customer(self, wa_id: str) -> SandboxCustomer:
        try:
            return self._customers[wa_id]
        except KeyError:
            raise UnknownCustomerError(wa_id) from None

    # --- bubbles ------------------------------------------------------------------------

    def add_bubble(
        self,
        *,
        wa_id: str,
        direction: Direction,
        wamid: str,
        kind: str,
        at: int,
        status: str,
        content: dict[str, Any],
        context_wamid: str | None = None,
        callback_data: str | None = None,
    ) -> Bubble:
        with self._lock:
            self._customer(wa_id)
            self._seq += 1
            bubble = Bubble(
                order=self._seq,
                seq=self._seq,
                wa_id=wa_id,
                direction=direction,
                wamid=wamid,
                kind=kind,
                at=at,
                status=status,
                content=content,
                context_wamid=context_wamid,
                callback_data=callback_data,
            )
            timeline = self._timelines[wa_id]
            timeline.append(bubble)
            self._by_wamid[wamid] = bubble
            while len(timeline) > self._max:
                self._by_wamid.pop(timeline.popleft().wamid, None)
            return bubble

    def bubble(self, wamid: str) -> Bubble | None:
        with self._lock:
            return self._by_wamid.get(wamid)

    def set_status(self, wamid: str, status: str, *, error: str | None = None) -> bool:
        """Move a bubble's status forward; returns False when it does not advance."""
        with self._lock:
            bubble = self._by_wamid.get(wamid)
            if bubble is None or not status_advances(bubble.status, status):
                return False
            self._seq += 1
            bubble.status = status
            bubble.seq = self._seq
            if error is not None:
                bubble.error = error
            return True

    def mark_inbound_read(self, wamid: str) -> bool:
        """The bot marked `wamid` read; like WhatsApp, earlier inbound messages become read
        too. Returns False for an unknown or outbound wamid."""
        with self._lock:
            target = self._by_wamid.get(wamid)
            if target is None or target.direction != "in":
                return False
            for bubble in self._timelines[target.wa_id]:
                if bubble.order > target.order:
                    break
                if bubble.direction == "in" and status_advances(bubble.status, "read"):
                    self._seq += 1
                    bubble.status = "read"
                    bubble.seq = self._seq
            return True

    def timeline(self, wa_id: str, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Bubbles of `wa_id` changed after `since` (as JSON, in display order) and the
        latest seq."""
        with self._lock:
            self._customer(wa_id)
            changed = [b.to_json() for b in self._timelines[wa_id] if b.seq > since]
            return changed, self._seq

    def poll(self, wa_id: str, since: int = 0) -> tuple[list[dict[str, Any]], int, list[Bubble]]:
        """What the page sees: like `timeline`, but outbound bubbles handed to the page are
        marked read at the same time (atomically, so no change slips between the two).
        Also returns the bubbles that became read, for the `read` status webhooks."""
        with self._lock:
            self._customer(wa_id)
            newly_read: list[Bubble] = []
            for bubble in self._timelines[wa_id]:
                if (
                    bubble.seq > since
                    and bubble.direction == "out"
                    and bubble.status in ("accepted", "sent", "delivered")
                ):
                    self._seq += 1
                    bubble.status = "read"
                    bubble.seq = self._seq
                    newly_read.append(bubble)
            changed = [b.to_json() for b in self._timelines[wa_id] if b.seq > since]
            return changed, self._seq, newly_read

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq
