"""Whether a customer's reply is a yes clear enough to change an order for good.

Cancelling an order, moving its delivery, opening a return and issuing a refund cannot
be undone from the chat. Short, empty replies ("well", "it", "you know") read as a
yes to the intent classifier with a confidence between 0.55 and 0.8, because a yes is
short too; acting on them would cancel an order on a shrug. So a change goes ahead only
on a yes the classifier is sure of, with no hedge or "no" in it ("yes, keep it" is no
go-ahead); anything else gets the question again, with its Yes and No buttons.

Asking again for the very change on offer ("yes please cancel" after "Shall I cancel
it?") is a yes too: the classifier reads it as the request, not as ``affirm``, and
answering it with the same offer again would loop. A request that brings a number
("yes, send it to 5 Elm Street", "cancel order 100777") may be asking for
something other than the offer, so it gets the offer again instead.
"""

from __future__ import annotations

import re

# On the shop's model, the held-out set's yeses ("yes, correct", "ok do it", "yea") score
# 0.92 to 0.99 ("sure why not", 0.68, says "not"); the shrugs that read as a yes score
# 0.64 to 0.76, and so does "ok 👍" (0.77: the encoder does not know the emoji), which
# therefore gets the question again.
CLEAR_YES_CONFIDENCE = 0.85

_HEDGES = re.compile(
    r"\?|\b(maybe|perhaps|probably|possibly|guess|think|unsure|not sure|dunno|idk|"
    r"hmm+|wait|unless|but|if)\b",
    re.IGNORECASE,
)


# A reply that carries these is not the customer's go-ahead, whatever the classifier
# read in it: "no, don't cancel", "keep the old address" (read as change_address
# 0.95), "yes, keep it".
_NEGATIONS = re.compile(
    r"\b(no|nah|nope|not|never|stop|(do|does|did|is|are|was|ca|wo|should)n'?t)\b"
    r"|\b(keep|leave|stay|rather|instead|mistake|changed? my mind)\b",
    re.IGNORECASE,
)
# ... nor is one asked as a question without its question mark ("can I cancel it").
_QUESTION_START = re.compile(
    r"^\s*(can|could|should|would|will|how|what|when|why|is|are|do|does)\b", re.IGNORECASE
)

# ... nor one left unfinished: "ok so" (read as affirm 0.95), "yes…". "do so" is done.
_UNFINISHED = re.compile(r"((?<!\bdo )\bso|\.\.\.|…)\W*$", re.IGNORECASE)

# ... nor one that names something new: an order number, a house number, an amount.
_NEW_DETAILS = re.compile(r"\d")

# Phones type "don’t" with a typographic apostrophe; the rules above read "don't".
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u00b4`", "'"))


def _doubtful(text: str) -> bool:
    plain = text.translate(_APOSTROPHES)
    return bool(_HEDGES.search(plain) or _NEGATIONS.search(plain) or _UNFINISHED.search(plain))


def is_clear_yes(text: str, *, intent: str | None, confidence: float) -> bool:
    """True for a confident ``affirm`` without a hedge, doubt, "no" or question in it."""
    if intent != "affirm" or confidence < CLEAR_YES_CONFIDENCE:
        return False
    return not _doubtful(text)


def is_clear_repeat(text: str, *, intent: str | None, requests: frozenset[str]) -> bool:
    """True when the customer asks, plainly, for the change that is on offer.

    ``requests`` are the intents that ask for that change (for a cancellation:
    ``cancel_order``). The request's own confidence already passed the fallback.
    """
    if intent not in requests:
        return False
    if _doubtful(text) or _QUESTION_START.search(text):
        return False
    return _NEW_DETAILS.search(text) is None
