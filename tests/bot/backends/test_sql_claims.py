"""Quality claims through the SQL adapter: one claim in progress per item, and the refund
cap that stops a claim's refund from paying back more than was paid."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.backends.protocols import OrderConflict
from bot.backends.sql import SqlShopBackend
from bot.demo.rows import DemoShop
from bot.domain.aftersales import RefundStatus, Resolution
from bot.domain.refunds import plan_claim_refund, refundable
from bot.storage.shop_tables import ShopQualityClaim
from tests.bot.backends.picks import TODAY, clocked_backend, pick


@pytest.fixture
def backend(seeded_url: str) -> Iterator[SqlShopBackend]:
    shop = clocked_backend(seeded_url)
    yield shop
    shop.close()


def _lines_with_two_skus(expected: DemoShop) -> tuple[str, str, str]:
    """A delivered order (no case yet) with at least two lines: its number and two SKUs."""
    for skip in range(50):
        order, lines = pick(expected, "delivered", skip=skip)
        if len(lines) >= 2:
            return order["number"], lines[0][0], lines[1][0]
    raise AssertionError("the seed has no delivered order with two lines")


async def _claim(backend: SqlShopBackend, number: str, *skus: str) -> str:
    claim = await backend.create_quality_claim(
        number, description="Arrived crushed.", resolution=Resolution.REFUND, skus=skus
    )
    return claim.id


async def test_an_item_with_a_claim_in_progress_cannot_be_claimed_for_again(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    number, first_sku, second_sku = _lines_with_two_skus(expected)
    first = await _claim(backend, number, first_sku)

    with pytest.raises(OrderConflict, match=f"quality claim {first} is already open for"):
        await _claim(backend, number, first_sku)
    with pytest.raises(OrderConflict, match=first_sku):
        await _claim(backend, number, second_sku, first_sku)
    other = await _claim(backend, number, second_sku)  # another item is another claim

    claims = await backend.list_quality_claims(number)
    assert [(c.id, c.skus) for c in claims] == [(first, (first_sku,)), (other, (second_sku,))]


@pytest.mark.parametrize(("status", "again"), [("approved", False), ("resolved", True)])
async def test_only_a_settled_claim_lets_the_item_be_claimed_for_again(
    backend: SqlShopBackend, expected: DemoShop, seeded_url: str, status: str, again: bool
) -> None:
    number, sku, _ = _lines_with_two_skus(expected)
    first = await _claim(backend, number, sku)
    engine = sa.create_engine(seeded_url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(ShopQualityClaim).where(ShopQualityClaim.id == first).values(status=status)
        )
    engine.dispose()

    if again:
        assert await _claim(backend, number, sku) != first
    else:
        with pytest.raises(OrderConflict, match="already open"):
            await _claim(backend, number, sku)


async def test_a_claim_refund_is_capped_at_what_is_left_and_the_backend_agrees(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    number, sku, _ = _lines_with_two_skus(expected)
    order = await backend.get_order(number)
    assert order is not None
    paid = order.total + order.shipping_fee
    earlier = await backend.create_refund(
        number,
        amount=paid - Decimal("1.00"),
        method="wallet",
        status=RefundStatus.PROCESSING,
        expected_by=TODAY,
        reason="goodwill",
    )
    claim_id = await _claim(backend, number, sku)

    plan = plan_claim_refund(order, [earlier], value=order.total, claim_id=claim_id, today=TODAY)
    assert plan is not None and plan.amount == Decimal("1.00")
    refund = await backend.create_refund(
        number,
        amount=plan.amount,
        method=plan.method,
        status=plan.status,
        expected_by=plan.expected_by,
        reason=plan.reason,
    )

    refunds = await backend.list_refunds(number)
    assert refund in refunds and refundable(order, refunds) == 0
    # The uncapped refund is exactly what the backend refuses.
    with pytest.raises(OrderConflict, match="would exceed what was paid"):
        await backend.create_refund(
            number,
            amount=Decimal("0.01"),
            method="wallet",
            status=RefundStatus.PENDING,
            expected_by=TODAY,
            reason="one cent too many",
        )
