"""Money as customers read it: CNY with two decimals."""

from __future__ import annotations

from decimal import Decimal


def cny(amount: Decimal) -> str:
    return f"CNY {amount.quantize(Decimal('0.01')):,}"
