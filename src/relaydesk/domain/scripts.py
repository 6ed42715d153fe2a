"""Operator test scripts: a customer's turns and what the bot must do after each.

A script file is YAML, a list of scripts (see docs/scripts.md):

    - name: a refund request goes to billing
      attributes: {vip: "false"}        # optional: the customer's CRM attributes
      turns:
        - say: I want my money back for the broken lamp
          expect: {action: escalate, queue: billing, trigger: keywords}
        - tap: human                    # a reply button's id (title: optional)
          expect: {action: silent}
        - send: image                   # a media message without a caption

`expect` holds `action` and any of `intent`, `trigger` (one of the triggers that fired),
`queue`, `priority` (the conversation's after the turn), `reply` (text the reply must
contain, any case), `buttons` (titles that must be offered) and `language`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["say", "tap", "send"]
EXPECT_KEYS = ("action", "intent", "trigger", "queue", "priority", "reply", "buttons", "language")


@dataclass(frozen=True, slots=True)
class Expect:
    action: str
    intent: str | None = None
    trigger: str | None = None
    queue: str | None = None
    priority: str | None = None
    reply: str | None = None
    buttons: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ScriptTurn:
    kind: Kind
    value: str  #: the text said, the button id tapped, or the media type sent
    expect: Expect
    source: str  #: file:line of the turn
    title: str | None = None  #: a tapped button's title


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    turns: tuple[ScriptTurn, ...]
    source: str  #: file:line of the script
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Observed:
    """What the bot did after one turn."""

    action: str
    intent: str | None
    triggers: tuple[str, ...]
    queue: str | None
    priority: str | None
    replies: tuple[str, ...]
    buttons: tuple[str, ...]
    language: str | None


class ScriptError(ValueError):
    """Script files cannot be used; `problems` lists each as `file:line: what is wrong`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def mismatches(expect: Expect, got: Observed) -> list[str]:
    """What differs from the expectation, one line each; empty when the turn passes."""
    found = []
    if got.action != expect.action:
        found.append(f"action {got.action}, expected {expect.action}")
    for name in ("intent", "queue", "priority", "language"):
        wanted = getattr(expect, name)
        if wanted is not None and getattr(got, name) != wanted:
            found.append(f"{name} {getattr(got, name)}, expected {wanted}")
    if expect.trigger is not None and expect.trigger not in got.triggers:
        fired = ", ".join(got.triggers) or "none"
        found.append(f"trigger {expect.trigger} did not fire (fired: {fired})")
    if expect.reply is not None:
        text = "\n".join(got.replies)
        if expect.reply.casefold() not in text.casefold():
            shown = text.replace("\n", " ")[:160] or "(no reply)"
            found.append(f"reply does not contain {expect.reply!r}: {shown!r}")
    missing = [b for b in expect.buttons if b not in got.buttons]
    if missing:
        offered = ", ".join(got.buttons) or "none"
        found.append(f"buttons {', '.join(missing)} not offered (offered: {offered})")
    return found
