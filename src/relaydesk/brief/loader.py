"""Read a brief from YAML, and turn every validation error into a problem that names the
file, the line, the field and the fix."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from relaydesk.brief._checks import advise, check_errors, ignored
from relaydesk.brief._types import Issue, Variant
from relaydesk.brief.schema import PATTERN_HINTS, Brief, did_you_mean

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class BriefProblem:
    """One thing wrong with a brief, located as precisely as the YAML allows."""

    file: str
    line: int | None
    field_path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field_path}: {self.message}"
            if self.field_path
            else (f"{where}: {self.message}")
        )


class BriefError(ValueError):
    """The brief cannot be used; `problems` lists everything found, in file order."""

    def __init__(self, problems: Sequence[BriefProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def load_brief(path: Path | str) -> Brief:
    """Read and validate the brief at `path`; raise `BriefError` listing every problem."""
    return load_brief_and_source(path)[0]


def load_brief_and_source(path: Path | str) -> tuple[Brief, bytes]:
    """`load_brief`, and the bytes it was read from (whose hash is `Brief.version`)."""
    path = Path(path)
    source, tree = _read(path)
    try:
        context = {"source": source, "directory": path.parent}
        return Brief.model_validate(_plain(tree), context=context), source
    except ValidationError as exc:
        problems = [p for error in exc.errors() for p in _problems(str(path), tree, error)]
        raise BriefError(sorted(problems, key=lambda p: p.line or 0)) from None


def check_brief(path: Path | str) -> list[BriefProblem]:
    """Every problem in the brief at `path`; an empty list means it is ready to use. The
    problems that stop it from loading; when there are none, those only this check reports
    (`_checks.check_errors`, the knowledge base's)."""
    try:
        brief = load_brief(path)
    except BriefError as exc:
        return list(exc.problems)
    return [*_located(path, check_errors(brief)), *knowledge_base_problems(brief, str(path))]


def knowledge_base_problems(brief: Brief, file: str = "") -> list[BriefProblem]:
    """The brief's knowledge-base folder and articles, checked: each problem names the
    file (or the folder) and the fix."""
    folder = brief.knowledge_base_folder
    wanted = {name: i.article for name, i in brief.intents.items() if i.article is not None}
    if folder is None:
        return [
            BriefProblem(
                file,
                None,
                f"intents.{name}.article",
                "the brief has no knowledge_base "
                "section; add one (knowledge_base: {folder: ...}) or remove article",
            )
            for name in wanted
        ]
    from relaydesk.adapters import knowledge_base
    from relaydesk.domain.knowledge import topic_of

    loaded = knowledge_base.load(folder)
    problems = [
        BriefProblem(problem.file, None, "knowledge_base", problem.message)
        for problem in loaded.problems
    ]
    topics = {topic_of(article.id) for article in loaded.articles}
    problems += [
        BriefProblem(
            str(folder),
            None,
            f"intents.{name}.article",
            f"no article {article!r} "
            f"(no {article}.md in {folder}); use one of: {', '.join(sorted(topics))}",
        )
        for name, article in wanted.items()
        if article not in topics
    ]
    return problems


def ignored_settings(brief: Brief) -> list[tuple[str, str]]:
    """(field path, what to do) of each setting `brief` sets that has no effect."""
    return [(_field_path(loc), message) for loc, message in ignored(brief)]


def start_errors(brief: Brief) -> list[tuple[str, str]]:
    """(field path, what to do) of each error `relaydesk brief check` reports that does
    not stop the brief from loading (`_checks.check_errors`): a start logs them."""
    return [(_field_path(loc), message) for loc, message in check_errors(brief)]


def brief_warnings(path: Path | str) -> list[BriefProblem]:
    """Things in the valid brief at `path` that work, but probably not as meant (see
    `_checks.advise`); raises `BriefError` when the brief is not valid."""
    return _located(path, advise(load_brief(path)))


def _located(path: Path | str, issues: list[Issue]) -> list[BriefProblem]:
    """The `issues` of the brief at `path`, each at its YAML line."""
    if not issues:
        return []
    _, tree = _read(Path(path))
    return [
        BriefProblem(str(path), _line(tree, loc), _field_path(loc), message)
        for loc, message in issues
    ]


# -- reading ----------------------------------------------------------------------------


def _read(path: Path) -> tuple[bytes, CommentedMap]:
    file = str(path)
    if path.is_dir():
        raise BriefError(
            [BriefProblem(file, None, "", "is a directory; pass the brief's YAML file.")]
        )
    try:
        source = path.read_bytes()
    except FileNotFoundError:
        raise BriefError(
            [
                BriefProblem(
                    file,
                    None,
                    "",
                    "no such file; check the path (relaydesk.brief.EXAMPLE_BRIEF is a "
                    "complete example to copy).",
                )
            ]
        ) from None
    except OSError as exc:
        raise BriefError(
            [BriefProblem(file, None, "", f"cannot be read: {exc.strerror}.")]
        ) from None
    try:
        tree = YAML(typ="rt").load(source.decode("utf-8"))
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8."
        raise BriefError([BriefProblem(file, None, "", message)]) from None
    except MarkedYAMLError as exc:
        raise BriefError([_syntax_problem(file, exc)]) from None
    except YAMLError as exc:
        raise BriefError([BriefProblem(file, None, "", f"is not valid YAML: {exc}")]) from None
    if not isinstance(tree, CommentedMap):
        found = "empty" if tree is None else _show(_plain(tree))
        message = f"is {found}; a brief is a YAML mapping with business, policy, intents, ..."
        raise BriefError([BriefProblem(file, 1, "", message)])
    return source, tree


def _syntax_problem(file: str, exc: MarkedYAMLError) -> BriefProblem:
    mark, start = exc.problem_mark, exc.context_mark
    line = mark.line + 1 if mark is not None else None
    what = exc.problem or "cannot be parsed"
    if exc.context:
        began = f" (it starts on line {start.line + 1})" if start and start.line + 1 != line else ""
        what = f"{exc.context}{began}: {what}"
    if "duplicate key" in what:
        fix = "each key may appear once in a mapping; merge or rename the repeated one."
    elif "\\t" in what:
        fix = "indent with spaces, not tabs."
    else:
        fix = "check the indentation, the colons after keys and that quotes are closed."
    return BriefProblem(file, line, "", f"YAML syntax error: {what}; {fix}")


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes -> plain dicts, lists, str, int, float, bool, date."""
    if isinstance(node, Mapping):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (str, int, float):
        if isinstance(node, kind):
            return kind(node)
    if isinstance(node, datetime):
        return datetime.combine(node.date(), node.time(), node.tzinfo)
    if isinstance(node, date):
        return date(node.year, node.month, node.day)
    return node


# -- locating ---------------------------------------------------------------------------


def _line(tree: CommentedMap, loc: Loc) -> int:
    """The YAML line of `loc`, or of its nearest ancestor that exists in the file."""
    node: Any = tree
    line = 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _field_path(loc: Loc) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int | Variant):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}" if path else str(part)
    return path


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at `loc`, if one does."""
    current: Any = Brief
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = field.annotation if field else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Annotated[X, ...] -> X; X | None -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


# -- explaining -------------------------------------------------------------------------


def _problems(file: str, tree: CommentedMap, error: ErrorDetails) -> Iterator[BriefProblem]:
    if error["type"] == "brief_consistency":
        for where, message in error.get("ctx", {}).get("issues", []):
            yield BriefProblem(file, _line(tree, where), _field_path(where), message)
        return
    loc: Loc = tuple(
        part for part in error["loc"] if not (isinstance(part, str) and part.startswith("<"))
    )
    yield BriefProblem(file, _line(tree, loc), _field_path(loc), _explain(error, loc))


def _explain(error: ErrorDetails, loc: Loc) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error["input"]
    if kind == "missing":
        return _missing(loc)
    if kind == "extra_forbidden":
        return _extra(loc)
    if kind in ("literal_error", "enum"):
        options = re.findall(r"'([^']*)'|(\d+)", str(ctx.get("expected", "")))
        names = [quoted or number for quoted, number in options]
        return f"is {_show(value)}; expected {ctx.get('expected')}." + did_you_mean(
            str(value), names
        )
    if kind == "string_too_long":
        return f"is {len(value)} characters; at most {ctx['max_length']} are allowed. Shorten it."
    if kind == "string_too_short":
        return "is empty; write the text here."
    if kind == "too_long":
        return (
            f"has {ctx['actual_length']} items; at most {ctx['max_length']} are allowed. "
            f"Remove {ctx['actual_length'] - ctx['max_length']}."
        )
    if kind == "too_short":
        return f"has {ctx['actual_length']} items; add at least {ctx['min_length']}."
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str(ctx.get("pattern")), f"match {ctx.get('pattern')}")
        return f"{_show(value)} is not allowed here; {hint}."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"is {_show(value)}; expected a whole number, like 3."
    if kind in ("float_parsing", "float_type"):
        return f"is {_show(value)}; expected a number, like 0.7."
    if kind in ("bool_parsing", "bool_type"):
        return f"is {_show(value)}; expected true or false."
    if kind in _BOUNDS:
        return f"is {_show(value)}; it must be {_BOUNDS[kind]} {next(iter(ctx.values()))}."
    if kind == "string_type":
        return (
            f"is {_show(value)}; expected text. Put it in quotes if YAML read it as something else."
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"is {_show(value)}; expected a mapping of indented `key: value` lines."
    if kind == "list_type":
        return f"is {_show(value)}; expected a list (lines starting with '- ')."
    if kind.startswith(("date_", "datetime_")):
        return f"is {_show(value)}; expected a date, like 2025-12-25."
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


_BOUNDS = {
    "greater_than": "more than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def _missing(loc: Loc) -> str:
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model else None
    hint = f": {field.description}" if field and field.description else ""
    return f"is required but missing; add `{loc[-1]}`{hint}."


def _extra(loc: Loc) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "is not a known key; remove it."
    known = list(model.model_fields)
    return (
        f"is not a known key.{did_you_mean(str(loc[-1]), known)} "
        f"Known keys here: {', '.join(known)}."
    )


def _show(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)
