"""Telegram's texts and limits, apart from the PTB plumbing so they are easy to test."""

from __future__ import annotations

from bot.storage.tables import Button

HELP_TEXT = (
    "Hi, I'm Shopdesk, the shop's assistant. I can tell you where your order is and why "
    "it's late, and help with returns, refunds, cancellations and address changes.\n\n"
    "To look at an order, send its number (six digits, like 100245); I'll ask for the last "
    "four digits of your phone number or your e-mail to make sure it's yours.\n\n"
    "Ask me anything about how the shop works, too. Send /help to see this again."
)
HELP_BUTTONS: tuple[Button, ...] = (
    {"title": "Where is my order?", "payload": "Where is my order?"},
    {"title": "My order is late", "payload": "My order is late"},
    {"title": "Return an item", "payload": "I want to return an item"},
    {"title": "Where is my refund?", "payload": "Where is my refund?"},
)


def _utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji can be two)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """Index of the longest prefix that fits, preferring a paragraph, line or word break."""
    end = 0
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            break
        end = index + 1
    if end == len(text):
        return end
    for separator in ("\n\n", "\n", " "):
        found = text.rfind(separator, 0, end)
        if found > end // 2:
            return found + len(separator)
    return end


def split_text(text: str, *, limit: int) -> list[str]:
    """Pieces of at most `limit` UTF-16 units, cut at natural breaks where possible."""
    pieces: list[str] = []
    rest = text
    while _utf16_length(rest) > limit:
        cut = _cut(rest, limit)
        piece = rest[:cut].rstrip()
        pieces.append(piece or rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return pieces
