"""What we send: channel-neutral outbound content, validated against WhatsApp's limits
by the WhatsApp adapter before it goes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Text:
    body: str
    preview_url: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Buttons:
    """Reply buttons: at most 3."""

    body: str
    buttons: tuple[Button, ...]
    header: str | None = None
    footer: str | None = None


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ListSection:
    title: str
    rows: tuple[ListRow, ...]


@dataclass(frozen=True, slots=True)
class ListMessage:
    body: str
    button: str
    sections: tuple[ListSection, ...]
    header: str | None = None
    footer: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    """An approved template: the only thing that may go out after the 24-hour window."""

    name: str
    language: str
    body_params: tuple[str, ...] = ()
    components: tuple[dict[str, Any], ...] = field(default=())  #: extra raw components


OutboundContent = Text | Buttons | ListMessage | Template


def content_kind(content: OutboundContent) -> str:
    return {Text: "text", Buttons: "buttons", ListMessage: "list", Template: "template"}[
        type(content)
    ]
