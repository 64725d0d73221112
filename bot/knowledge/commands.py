"""What `shopdesk kb build` and `shopdesk kb search` do, as plain functions.

The CLI only parses arguments and prints; keeping the work here lets tests and
`make` targets call it without a subprocess, and keeps the CLI import cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from bot.knowledge.articles import load_articles
from bot.knowledge.index import build_index, index_is_current
from bot.knowledge.retriever import KnowledgeRetriever

SEARCH_BATCH = 64  # queries encoded together; bounds memory for long --file inputs


def kb_build(kb_dir: Path, index_dir: Path, *, force: bool = False) -> int:
    """Validate the articles and (re)build the index; the number indexed, 0 if up to date.

    Raises `ArticleError` for a malformed article, so a broken edit never
    replaces a working index.
    """
    articles = load_articles(kb_dir)
    if not force and index_is_current(articles, index_dir):
        return 0
    build_index(articles, index_dir)
    return len(articles)


def kb_search(
    text: str | None,
    file: Path | None,
    index_dir: Path,
    *,
    kb_dir: Path | None = None,
    top_k: int = 3,
) -> Iterator[dict[str, Any]]:
    """One `{"query", "results": [{"id", "score"}, ...]}` per query, best first.

    Exactly one of `text` and `file` is given; a file holds one query per line
    and blank lines are skipped. With `kb_dir`, a missing or stale index is
    rebuilt first, so a fresh checkout can search straight away. The model
    loads once, however many queries there are.
    """
    if (text is None) == (file is None):
        raise ValueError("give either a query text or a file of queries, not both or neither")
    if kb_dir is not None:
        kb_build(kb_dir, index_dir)
    retriever = KnowledgeRetriever.load(index_dir)
    queries: Iterable[str] = [text] if text is not None else _lines(file) if file else []
    for batch in _batches((query.strip() for query in queries), SEARCH_BATCH):
        for query, hits in zip(batch, retriever.search_many(batch, top_k=top_k), strict=True):
            yield {"query": query, "results": [{"id": h.id, "score": h.score} for h in hits]}


def _lines(path: Path) -> Iterator[str]:
    """Non-empty lines, read lazily so a long file streams results as it goes."""
    with path.open(encoding="utf-8", errors="strict") as handle:
        for line in handle:
            if line.strip():
                yield line


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
