"""Reading the knowledge base: a folder of Markdown articles with YAML front matter.

    ---
    title: Ways to pay            # required
    url: https://shop.example/help/payment   # optional: sent with every answer
    language: en                  # optional
    tags: [payment, paypal]       # optional
    ---
    Body. `## Heading` starts a passage; without headings each paragraph is one.

The version is 12 hex digits of sha256 over every article's name and bytes, like the
brief's; `fingerprint` is the cheap check (names, sizes, mtimes) for changes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from relaydesk.brief._types import LANGUAGE_PATTERN, URL_PATTERN
from relaydesk.domain.knowledge import Article, Passage

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_KEYS = {"title", "url", "language", "tags"}


@dataclass(frozen=True, slots=True)
class ArticleProblem:
    """Something wrong with one article file: `message` says what and how to fix it."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(frozen=True, slots=True)
class Loaded:
    articles: tuple[Article, ...]
    problems: tuple[ArticleProblem, ...]
    version: str


def fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the folder's articles (changes when one is
    added, removed or edited); empty when the folder is missing."""
    if not folder.is_dir():
        return ()
    return tuple(
        (str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns)
        for path in sorted(folder.rglob("*.md"))
        if (stat := path.stat())
    )


def load(folder: Path) -> Loaded:
    """Every article under `folder` (`*.md`, subfolders too); a file with a problem is
    left out and reported."""
    if not folder.is_dir():
        problem = ArticleProblem(
            str(folder),
            "no such folder; create it with one Markdown file per article, or fix "
            "knowledge_base.folder in the brief (relative to the brief's own folder)",
        )
        return Loaded((), (problem,), "")
    digest = hashlib.sha256()
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    for path in sorted(folder.rglob("*.md")):
        name = path.relative_to(folder).with_suffix("").as_posix()
        data = path.read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
        try:
            articles.append(parse(name, data.decode("utf-8"), str(path)))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(ArticleProblem(str(path), str(exc)))
    if not articles and not problems:
        problems.append(ArticleProblem(str(folder), "holds no articles; add Markdown files (*.md)"))
    return Loaded(tuple(articles), tuple(problems), digest.hexdigest()[:12])


def parse(name: str, source: str, path: str = "") -> Article:
    """One article from its Markdown source; ValueError says what is wrong and the fix."""
    match = _FRONT.match(source)
    if match is None:
        raise ValueError(
            "no front matter; start the file with a '---' line, 'title: ...' (and optionally "
            "url, language, tags), and another '---' line"
        )
    try:
        meta = YAML(typ="safe", pure=True).load(match.group(1))
    except YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise ValueError(
            f"front matter is not valid YAML ({problem}); fix the lines between '---'"
        ) from None
    if not isinstance(meta, dict):
        raise ValueError("front matter must be 'key: value' lines (title, url, language, tags)")
    unknown = sorted(set(map(str, meta)) - _KEYS)
    if unknown:
        raise ValueError(
            f"unknown front matter key(s) {', '.join(unknown)}; use title, url, language, tags"
        )
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("front matter has no title; add 'title: <what the article answers>'")
    url = meta.get("url")
    if url is not None and (not isinstance(url, str) or not re.fullmatch(URL_PATTERN, url)):
        raise ValueError(f"url {url!r} is not a full https:// address; write it as https://...")
    language = meta.get("language")
    if language is not None and (
        not isinstance(language, str) or not re.fullmatch(LANGUAGE_PATTERN, language)
    ):
        raise ValueError(f"language {language!r} is not a language code; write e.g. en or es")
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str | int) for t in tags):
        raise ValueError("tags must be a list of words, e.g. tags: [payment, paypal]")
    passages = split(name, title.strip(), source[match.end() :])
    if not passages:
        raise ValueError("the article has no text after the front matter; write its body")
    return Article(
        name,
        title.strip(),
        url,
        language,
        tuple(str(t) for t in tags),
        passages,
        path,
    )


def split(article: str, title: str, body: str) -> tuple[Passage, ...]:
    """The body's passages: each `#` heading's section, or each paragraph without one."""
    sections: list[tuple[str, list[str]]] = [(title, [])]
    for line in body.splitlines():
        found = _HEADING.match(line)
        if found:
            sections.append((found.group(1), []))
        else:
            sections[-1][1].append(line)
    chunks: list[tuple[str, str]] = []
    for heading, lines in sections:
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", "\n".join(lines))]
        paragraphs = [p for p in paragraphs if p]
        if len(sections) == 1:
            chunks += [(heading, p) for p in paragraphs]
        elif paragraphs:
            chunks.append((heading, "\n\n".join(paragraphs)))
    return tuple(Passage(article, i, h, text) for i, (h, text) in enumerate(chunks))
