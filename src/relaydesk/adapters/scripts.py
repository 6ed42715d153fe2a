"""Reading operator test scripts (YAML, `domain.scripts`), every problem reported as
`file:line: what is wrong` before any script runs."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from relaydesk.domain.decision import Action
from relaydesk.domain.scripts import EXPECT_KEYS, Expect, Kind, Script, ScriptError, ScriptTurn

SCRIPT_KEYS = ("name", "turns", "attributes")
TURN_KINDS: tuple[Kind, ...] = ("say", "tap", "send")
TURN_KEYS = (*TURN_KINDS, "title", "expect")
ACTIONS = tuple(a.value for a in Action)


def read_scripts(paths: Sequence[Path]) -> list[Script]:
    """The scripts of every file, in order; raises `ScriptError` listing all problems."""
    if not paths:
        raise ScriptError(["no script files given; give one or more .yaml files"])
    problems: list[str] = []
    scripts: list[Script] = []
    for path in paths:
        try:
            tree = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(f"{path}: no such file")
            continue
        except IsADirectoryError:
            problems.append(f"{path}: is a directory; give the script files (dir/*.yaml)")
            continue
        except UnicodeDecodeError:
            problems.append(f"{path}: not UTF-8 text; save the file as UTF-8")
            continue
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problems.append(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}")
            continue
        if not isinstance(tree, CommentedSeq) or not tree:
            problems.append(f"{path}:1: a script file is a list of scripts (- name: ...)")
            continue
        for index, item in enumerate(tree):
            where = f"{path}:{tree.lc.item(index)[0] + 1}"
            script = _script(item, where, path, problems)
            if script is not None:
                scripts.append(script)
    if problems:
        raise ScriptError(problems)
    return scripts


def _script(item: Any, where: str, path: Path, problems: list[str]) -> Script | None:
    if not isinstance(item, CommentedMap):
        problems.append(f"{where}: a script is a mapping with name and turns")
        return None
    before = len(problems)
    _unknown(item, SCRIPT_KEYS, where, problems)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: the script needs a name (name: what it checks)")
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        problems.append(f'{where}: attributes must map names to quoted text, e.g. {{vip: "true"}}')
        attributes = {}
    raw_turns = item.get("turns")
    if not isinstance(raw_turns, CommentedSeq) or not raw_turns:
        problems.append(f"{where}: the script needs turns (a list of say/tap/send with expect)")
        return None
    turns = []
    for index, raw in enumerate(raw_turns):
        turn_where = f"{path}:{raw_turns.lc.item(index)[0] + 1}"
        turn = _turn(raw, turn_where, problems)
        if turn is not None:
            turns.append(turn)
    if len(problems) > before:
        return None
    return Script(str(name), tuple(turns), where, dict(attributes))


def _turn(raw: Any, where: str, problems: list[str]) -> ScriptTurn | None:
    if not isinstance(raw, CommentedMap):
        problems.append(f"{where}: a turn is a mapping: say, tap or send, and expect")
        return None
    before = len(problems)
    _unknown(raw, TURN_KEYS, where, problems)
    kinds = [k for k in TURN_KINDS if k in raw]
    if len(kinds) != 1:
        problems.append(f"{where}: a turn has exactly one of say, tap or send (found {kinds})")
        return None
    kind = kinds[0]
    value = raw[kind]
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {kind} needs text (what the customer says, taps or sends)")
    title = raw.get("title")
    if title is not None and kind != "tap":
        problems.append(f"{where}: title is for tap turns (the button's title)")
    expect = raw.get("expect")
    expected = _expect(expect, f"{where}", problems) if expect is not None else None
    if expect is None:
        problems.append(f"{where}: the turn needs expect: {{action: ...}}")
    if len(problems) > before or expected is None:
        return None
    return ScriptTurn(kind, str(value), expected, where, str(title) if title else None)


def _expect(raw: Any, where: str, problems: list[str]) -> Expect | None:
    if not isinstance(raw, CommentedMap):
        problems.append(f"{where}: expect is a mapping, e.g. {{action: answer, intent: greeting}}")
        return None
    before = len(problems)
    _unknown(raw, EXPECT_KEYS, where, problems)
    action = raw.get("action")
    if action not in ACTIONS:
        problems.append(f"{where}: expect.action {action!r} is not one of {', '.join(ACTIONS)}")
    texts = {}
    for key in ("intent", "trigger", "queue", "priority", "reply", "language"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{where}: expect.{key} must be text, not {value!r}")
        texts[key] = value
    buttons = raw.get("buttons") or []
    if isinstance(buttons, str):
        buttons = [buttons]
    if not all(isinstance(b, str) for b in buttons):
        problems.append(f"{where}: expect.buttons is a list of button titles")
    if len(problems) > before:
        return None
    return Expect(action=str(action), buttons=tuple(buttons), **texts)


def _unknown(raw: CommentedMap, known: Sequence[str], where: str, problems: list[str]) -> None:
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"use {', '.join(known)}"
            problems.append(f"{where}: unknown key {key!r}; {hint}")
