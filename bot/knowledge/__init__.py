"""The shop's knowledge base: articles, their search index, and hybrid retrieval.

Importing this package loads no model and reads no file; the encoder and the
index are loaded on first use (the action server imports every module eagerly).
"""

from __future__ import annotations

from bot.knowledge.articles import Article, ArticleError, load_articles
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
    "build_index",
    "encoder",
    "get_retriever",
    "is_confident",
    "load_articles",
]
