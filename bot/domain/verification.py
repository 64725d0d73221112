"""Proof of ownership: an order's details are shown only to whoever proves it is theirs.

The customer proves it with the last four digits of the phone number or the
e-mail address on the order. A wrong order number and a wrong proof must look
the same to the customer, and attempts are limited per conversation.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.orders import Customer

MAX_FAILED_VERIFICATIONS = 5

# [0-9], not \d: \d also matches other scripts' digits, which no order number has.
ORDER_NUMBER_PATTERN = r"(?<![0-9])1[0-9]{5}(?![0-9])"
# Four digits standing alone: not inside an e-mail address ("li1999@…") or a longer word.
PHONE_LAST4_PATTERN = r"(?<![0-9A-Za-z@._%+-])[0-9]{4}(?![0-9A-Za-z@])"
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"

_ORDER_NUMBER = re.compile(ORDER_NUMBER_PATTERN)
_PHONE_LAST4 = re.compile(PHONE_LAST4_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
# A whole phone number as people type it: "+86 138 1234 5678", "138-1234-5678", "13812345678".
_FULL_PHONE = re.compile(r"(?<![0-9])\+?[0-9][0-9 ()-]{8,}[0-9](?![0-9])")


@dataclass(frozen=True)
class ContactProof:
    kind: Literal["phone_last4", "email"]
    value: str

    def __str__(self) -> str:
        return self.value


def find_order_number(text: str) -> str | None:
    """The first six-digit order number in free text, if any ("order #100245" works)."""
    match = _ORDER_NUMBER.search(text)
    return match.group(0) if match else None


def find_contact_proof(text: str) -> ContactProof | None:
    """The proof a customer most likely meant.

    An e-mail address wins over digits ("a1234@x.com" is an e-mail); a whole
    phone number gives its last four digits; otherwise the last group of four
    digits, because people write "order from 2024, last four 5678".
    """
    email = _EMAIL.search(text)
    if email:
        return ContactProof("email", email.group(0).lower())
    without_order_numbers = _ORDER_NUMBER.sub(" ", text)
    phones = [
        digits
        for match in _FULL_PHONE.finditer(without_order_numbers)
        if len(digits := re.sub(r"[^0-9]", "", match.group(0))) >= 7
    ]
    if phones:
        return ContactProof("phone_last4", phones[-1][-4:])
    groups = _PHONE_LAST4.findall(without_order_numbers)
    if groups:
        return ContactProof("phone_last4", groups[-1])
    return None


def parse_contact_proof(value: str) -> ContactProof | None:
    """Normalise a slot value that should be exactly one proof."""
    return find_contact_proof(value.strip())


def proves_ownership(customer: Customer, proof: ContactProof) -> bool:
    """Constant-time comparison, so timing does not reveal how close a guess was."""
    if proof.kind == "email":
        expected = customer.email.strip().lower()
    else:
        expected = re.sub(r"[^0-9]", "", customer.phone)[-4:]
    return hmac.compare_digest(expected.encode(), proof.value.encode())


def attempts_left(failed_attempts: int) -> int:
    return max(0, MAX_FAILED_VERIFICATIONS - failed_attempts)


def is_locked(failed_attempts: int) -> bool:
    return attempts_left(failed_attempts) == 0
