"""Knowledge-base articles: Markdown files with YAML front matter, validated strictly.

The bot quotes the one section of an article that answers the question (the
intro counts as a section), so a broken article must stop the index build with
a message an editor can act on (which file, what is wrong) rather than surface
later as a garbled or missing answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ARTICLE_SUFFIX = ".md"
_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FENCE = "---"
_HEADING = re.compile(r"^##+\s+(.+?)\s*$", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")


class ArticleError(ValueError):
    """An article that cannot be served; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Section:
    """One quotable part of an article: the intro (heading "") or a `## ` section."""

    heading: str
    text: str  # chat-ready: paragraphs on one line each, list items on their own lines


@dataclass(frozen=True)
class Article:
    """One policy article; `answer` is its first paragraph, the reply to "what does it say?"."""

    id: str
    title: str
    tags: tuple[str, ...]
    body: str
    answer: str
    sections: tuple[Section, ...] = ()


def load_articles(directory: Path) -> list[Article]:
    """Every article under `directory` (sub-folders too), sorted by id.

    Ids must be unique across the whole tree because actions, NLU data and
    issues refer to articles by id alone.
    """
    if not directory.is_dir():
        raise ArticleError(directory, "knowledge-base directory does not exist")
    articles: dict[str, Article] = {}
    origins: dict[str, Path] = {}
    for path in sorted(directory.rglob(f"*{ARTICLE_SUFFIX}")):
        article = parse_article(path)
        if article.id in articles:
            raise ArticleError(path, f"duplicate id {article.id!r} (also in {origins[article.id]})")
        articles[article.id] = article
        origins[article.id] = path
    if not articles:
        raise ArticleError(directory, f"no {ARTICLE_SUFFIX} articles found")
    return [articles[key] for key in sorted(articles)]


def parse_article(path: Path) -> Article:
    """Read and validate one article file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ArticleError(path, "not valid UTF-8 text") from None
    except OSError as error:
        raise ArticleError(path, f"cannot be read ({error.strerror})") from None
    meta, body = _split_front_matter(path, text.replace("\r\n", "\n").replace("\r", "\n"))

    article_id = _required_text(path, meta, "id")
    if not _ID_PATTERN.fullmatch(article_id):
        raise ArticleError(path, f"id {article_id!r} must be lower-case words joined by hyphens")
    if article_id != path.stem:
        raise ArticleError(path, f"id {article_id!r} does not match the file name {path.name!r}")
    title = _required_text(path, meta, "title")
    tags = _required_tags(path, meta)

    body = body.strip()
    if not body:
        raise ArticleError(path, "body is empty")
    answer = first_paragraph(body)
    if answer.startswith("#"):
        raise ArticleError(path, "body must open with the direct answer, not a heading")
    return Article(
        id=article_id,
        title=title,
        tags=tags,
        body=body,
        answer=answer,
        sections=split_sections(path, body),
    )


def split_sections(path: Path, body: str) -> tuple[Section, ...]:
    """The intro, then each `## ` section, each with text a chat can show as it is.

    A heading with nothing under it is an editing slip that would be quoted as an
    empty answer, so it is refused here.
    """
    pieces = _HEADING.split(body)  # [intro, heading, text, heading, text, ...]
    sections = [Section("", chat_text(pieces[0]))]
    for heading, text in zip(pieces[1::2], pieces[2::2], strict=True):
        if not text.strip():
            raise ArticleError(path, f"section {heading!r} is empty")
        sections.append(Section(heading, chat_text(text)))
    return tuple(sections)


def chat_text(markdown: str) -> str:
    """Paragraphs joined into single lines, list items kept one per line, blank lines dropped.

    Telegram and the web chat show line breaks but no Markdown lists; a list
    squeezed into one line would read as a run-on sentence.
    """
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", markdown.strip()):
        current: list[str] = []
        for line in (raw.strip() for raw in paragraph.splitlines()):
            if not line:
                continue
            if _LIST_ITEM.match(line) and current:
                lines.append(" ".join(current))
                current = []
            current.append(line)
        if current:
            lines.append(" ".join(current))
    return "\n".join(lines)


def first_paragraph(body: str) -> str:
    """The text up to the first blank line, joined into one line for chat channels."""
    paragraph = re.split(r"\n\s*\n", body.strip(), maxsplit=1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines() if line.strip())


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != _FENCE:
        raise ArticleError(path, "missing front matter (the file must start with '---')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == _FENCE)
    except StopIteration:
        raise ArticleError(path, "front matter is not closed with '---'") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        reason = str(error).replace("\n", " ")
        raise ArticleError(path, f"invalid YAML in front matter: {reason}") from None
    if not isinstance(meta, dict):
        raise ArticleError(path, "front matter must be a mapping of keys to values")
    return meta, "\n".join(lines[end + 1 :])


def _required_text(path: Path, meta: dict[str, Any], key: str) -> str:
    if key not in meta or meta[key] is None:
        raise ArticleError(path, f"front matter is missing {key!r}")
    value = meta[key]
    if not isinstance(value, str) or not value.strip():
        raise ArticleError(path, f"{key!r} must be a non-empty string")
    return value.strip()


def _required_tags(path: Path, meta: dict[str, Any]) -> tuple[str, ...]:
    if "tags" not in meta or meta["tags"] is None:
        raise ArticleError(path, "front matter is missing 'tags'")
    tags = meta["tags"]
    if not isinstance(tags, list) or not tags:
        raise ArticleError(path, "'tags' must be a non-empty list")
    if not all(isinstance(tag, str) and tag.strip() for tag in tags):
        raise ArticleError(path, "every tag must be a non-empty string")
    return tuple(tag.strip() for tag in tags)
