"""The shop's knowledge base: articles and their sections, the search index, hybrid retrieval.

Importing this package loads no model and reads no file; the encoder and the
index are loaded on first use (the action server imports every module eagerly).
"""

from __future__ import annotations

from bot.knowledge.articles import Article, ArticleError, Section, load_articles
from bot.knowledge.index import KnowledgeIndexError, build_index, encoder
from bot.knowledge.retriever import (
    CONFIDENCE_MARGIN,
    CONFIDENCE_THRESHOLD,
    KnowledgeRetriever,
    SearchHit,
    get_retriever,
    is_confident,
)

__all__ = [
    "CONFIDENCE_MARGIN",
    "CONFIDENCE_THRESHOLD",
    "Article",
    "ArticleError",
    "KnowledgeIndexError",
    "KnowledgeRetriever",
    "SearchHit",
    "Section",
    "build_index",
    "encoder",
    "get_retriever",
    "is_confident",
    "load_articles",
]
