"""Agents' passwords: Argon2id, and the same work for an unknown name as for a wrong password."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS = 10

_hasher = PasswordHasher()


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password needs at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > 256:
        return "the password may have at most 256 characters"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash("not anyone's password")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """With no stored hash (unknown name) it still verifies against a decoy, so response
    times do not tell which agent names exist."""
    try:
        return _hasher.verify(stored_hash or _decoy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
