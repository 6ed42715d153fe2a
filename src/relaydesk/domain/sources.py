"""Where a conversation came from, for the cohorts by source: one documented rule over
its customer's messages (docs/insights.md, "Cohorts").

- `ad`: a customer message of the conversation carried a click-to-WhatsApp `referral`;
- `campaign`: otherwise, its first customer message answered something the business sent
  first: a tap on a template's quick-reply button (`type: button`; only templates carry
  those), a reply (`context`) to a template message we sent, or a text carrying a
  campaign reference `ref=<name>` or `utm_campaign=<name>` (the pre-filled text of a
  wa.me link in a newsletter, a QR code or a campaign page);
- `organic`: everything else."""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCES = ("organic", "ad", "campaign")
_REFERENCE = re.compile(r"(?:^|[\s?&#/])(?:ref|utm_campaign)=([\w.\-]{1,100})", re.IGNORECASE)
#: What a text must contain to be worth reading for a reference (the storage filter).
HINTS = ("ref=", "utm_campaign=")


def campaign_reference(text: str | None) -> str | None:
    """The campaign a text names with `ref=<name>` or `utm_campaign=<name>`; None
    without one."""
    found = _REFERENCE.search(text or "")
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """The conversation's first customer message, as far as the source rule reads it."""

    type: str  #: the WhatsApp message type (text, button, interactive, ...)
    text: str | None
    replies_to_template: bool  #: its `context` names a template message we sent


def source_of(ad: bool, first: FirstMessage | None) -> str:
    """`ad`, `campaign` or `organic` by the rule above."""
    if ad:
        return "ad"
    if first is not None and (
        first.type == "button" or first.replies_to_template or campaign_reference(first.text)
    ):
        return "campaign"
    return "organic"
