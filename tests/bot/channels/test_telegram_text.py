"""Splitting long replies within Telegram's limit, at natural breaks."""

from __future__ import annotations

from bot.channels.telegram_text import split_text


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_short_text_is_one_piece() -> None:
    assert split_text("Your order is on its way.", limit=4096) == ["Your order is on its way."]


def test_a_long_text_is_cut_at_paragraphs_and_loses_nothing() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)

    pieces = split_text(text, limit=4096)

    assert len(pieces) > 1
    assert all(_units(piece) <= 4096 for piece in pieces)
    assert all(piece.startswith("Paragraph") for piece in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    text = "🚚" * 3000  # 6,000 UTF-16 units, no spaces to break at

    pieces = split_text(text, limit=4096)

    assert [_units(piece) for piece in pieces] == [4096, 6000 - 4096]
    assert "".join(pieces) == text


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    pieces = split_text("x" * 10_000, limit=4096)

    assert [len(piece) for piece in pieces] == [4096, 4096, 1808]
