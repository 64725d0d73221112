"""Proof of ownership: what counts as an order number or a proof, and what proves it."""

from __future__ import annotations

import pytest

from bot.domain.orders import Customer
from bot.domain.verification import (
    MAX_FAILED_VERIFICATIONS,
    ContactProof,
    attempts_left,
    find_contact_proof,
    find_order_number,
    is_locked,
    parse_contact_proof,
    proves_ownership,
)

CUSTOMER = Customer(
    id=7,
    name="Wang Fang",
    phone="+86 138 1234 5678",
    email="Wang.Fang@Example.com",
    region="Hubei (Wuhan)",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is order #100245?", "100245"),
        ("100245", "100245"),
        ("order 100245, phone ends 5678", "100245"),
        ("my orders are 100245 and 100246", "100245"),
        ("1002456 is too long", None),
        ("200245 does not start with 1", None),
        ("tracking SF1234567890123", None),
        ("where is my parcel?", None),
        ("", None),
    ],
)
def test_find_order_number(text: str, expected: str | None) -> None:
    assert find_order_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5678", ContactProof("phone_last4", "5678")),
        ("the last four are 5678.", ContactProof("phone_last4", "5678")),
        ("order 100245, phone 5678", ContactProof("phone_last4", "5678")),
        ("my phone is +86 138 1234 5678", ContactProof("phone_last4", "5678")),
        ("13812345678", ContactProof("phone_last4", "5678")),
        ("138-1234-5678", ContactProof("phone_last4", "5678")),
        ("ordered in 2024, last four 5678", ContactProof("phone_last4", "5678")),
        ("١٢٣٤", None),  # Arabic-Indic digits are not phone digits here
        ("Wang.Fang@Example.COM", ContactProof("email", "wang.fang@example.com")),
        # An e-mail address wins over the digits inside it.
        ("a1234@example.org", ContactProof("email", "a1234@example.org")),
        ("100245", None),
        ("12345", None),
        ("567", None),
        ("no digits at all", None),
        ("", None),
    ],
)
def test_find_contact_proof(text: str, expected: ContactProof | None) -> None:
    assert find_contact_proof(text) == expected


def test_parse_contact_proof_normalises_a_slot_value() -> None:
    assert parse_contact_proof("  5678 \n") == ContactProof("phone_last4", "5678")
    assert parse_contact_proof(" Li.Na@Example.net ") == ContactProof("email", "li.na@example.net")
    assert parse_contact_proof("   ") is None
    assert str(ContactProof("phone_last4", "5678")) == "5678"


@pytest.mark.parametrize(
    ("proof", "expected"),
    [
        (ContactProof("phone_last4", "5678"), True),
        (ContactProof("phone_last4", "1234"), False),
        (ContactProof("phone_last4", "5679"), False),
        (ContactProof("email", "wang.fang@example.com"), True),
        (ContactProof("email", "wang.fang@example.org"), False),
        (ContactProof("email", "5678"), False),
    ],
)
def test_proves_ownership(proof: ContactProof, expected: bool) -> None:
    assert proves_ownership(CUSTOMER, proof) is expected


def test_a_proof_typed_by_the_customer_proves_a_stored_mixed_case_email() -> None:
    proof = find_contact_proof("it's WANG.FANG@EXAMPLE.COM")
    assert proof is not None
    assert proves_ownership(CUSTOMER, proof)


def test_attempts_are_limited() -> None:
    assert MAX_FAILED_VERIFICATIONS == 5
    assert [attempts_left(failed) for failed in range(7)] == [5, 4, 3, 2, 1, 0, 0]
    assert not is_locked(MAX_FAILED_VERIFICATIONS - 1)
    assert is_locked(MAX_FAILED_VERIFICATIONS)
    assert is_locked(MAX_FAILED_VERIFICATIONS + 3)
