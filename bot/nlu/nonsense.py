"""Made-up messages that mean nothing, for the fine-tuner to keep away from every intent.

Fine-tuning pulls each sentence towards one intent's direction, and it pulls what it
has never seen along with it: "zxqv blorf wibble" came out as a confident
``damaged_item``, where the frozen encoder had left it under the fallback threshold.
Outlier exposure (Hendrycks et al., 2019) is the remedy: while training, the encoder
also sees nonsense, and is taught to put it at the same distance from every intent.
This module makes that nonsense: random letters, pronounceable made-up words, runs of
keyboard keys and held letters. Any word the training data uses is left out, so a real
answer ("ok", "no", "asap") is never taught to mean nothing.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Collection, Iterable

# Sounds of made-up English-like words ("blorf", "snoob", "flibber").
ONSETS: tuple[str, ...] = (
    "b",
    "bl",
    "br",
    "d",
    "dr",
    "f",
    "fl",
    "fr",
    "g",
    "gl",
    "gr",
    "j",
    "k",
    "m",
)
ONSETS += ("n", "p", "pl", "pr", "sn", "sk", "st", "t", "tr", "v", "w", "z", "zh")
VOWELS = ("a", "e", "i", "o", "u", "oo", "ee", "ai", "ou", "y")
CODAS = ("", "b", "f", "g", "k", "l", "m", "n", "p", "r", "rf", "rk", "sh", "t", "x", "zz")
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
WORD = re.compile(r"[a-z]+")


def _random_letters(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))


def _made_up_word(rng: random.Random) -> str:
    syllables = range(rng.randint(1, 3))
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in syllables)


def _keyboard_run(rng: random.Random) -> str:
    row = rng.choice(KEYBOARD_ROWS)
    length = rng.randint(3, min(7, len(row)))
    start = rng.randint(0, len(row) - length)
    run = row[start : start + length]
    return run[::-1] if rng.random() < 0.3 else run


def _held_letter(rng: random.Random) -> str:
    return rng.choice(string.ascii_lowercase) * rng.randint(3, 8)


WORD_MAKERS: tuple[Callable[[random.Random], str], ...] = (
    _random_letters,
    _made_up_word,
    _made_up_word,
    _keyboard_run,
    _held_letter,
)


def known_words(texts: Iterable[str]) -> frozenset[str]:
    """Every lower-case word the training sentences use."""
    return frozenset(word for text in texts for word in WORD.findall(text.lower()))


def nonsense(count: int, rng: random.Random, *, known: Collection[str] = ()) -> list[str]:
    """``count`` messages of one to four made-up words, none of them in ``known``."""
    messages: list[str] = []
    while len(messages) < count:
        words = [rng.choice(WORD_MAKERS)(rng) for _ in range(rng.randint(1, 4))]
        # Two letters are too often a real word ("no", "ok", "go").
        if any(len(word) < 3 or word in known for word in words):
            continue
        messages.append(" ".join(words))
    return messages
