"""The nonsense the fine-tuner keeps away from every intent."""

from __future__ import annotations

import random

from bot.nlu import nonsense as nlu_nonsense


def test_nonsense_is_made_up_words_only() -> None:
    messages = nlu_nonsense.nonsense(500, random.Random(7))

    assert len(messages) == 500
    assert len(set(messages)) > 450  # fresh nonsense, not a handful repeated
    for message in messages:
        words = message.split(" ")
        assert 1 <= len(words) <= 4
        assert all(word.isalpha() and word.islower() and len(word) >= 3 for word in words)


def test_words_the_training_data_uses_are_never_nonsense() -> None:
    known = nlu_nonsense.known_words(["OK, where's my order?", "asdf was my password"])
    messages = nlu_nonsense.nonsense(2000, random.Random(3), known=known)

    assert known >= {"ok", "where", "s", "my", "order", "asdf", "password"}
    assert not {word for message in messages for word in message.split()} & known


def test_the_same_seed_gives_the_same_nonsense() -> None:
    assert nlu_nonsense.nonsense(20, random.Random(5)) == nlu_nonsense.nonsense(
        20, random.Random(5)
    )
