"""Returns, refunds and quality claims written and read back through the SQL adapter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.backends.protocols import OrderConflict
from bot.backends.sql import SqlShopBackend
from bot.demo.aftersales import refund_method
from bot.demo.rows import DemoShop
from bot.domain.aftersales import RefundStatus, Resolution, ReturnKind
from bot.domain.orders import OrderStatus
from tests.bot.backends.picks import NOW, TODAY, clocked_backend, next_id, pick


@pytest.fixture
def backend(seeded_url: str) -> Iterator[SqlShopBackend]:
    shop = clocked_backend(seeded_url)
    yield shop
    shop.close()


async def test_return_with_its_refund(backend: SqlShopBackend, expected: DemoShop) -> None:
    order, lines = pick(expected, "delivered", fresh=False)
    number, (sku, value) = order["number"], lines[0]
    opened = await backend.create_return(
        number, kind=ReturnKind.NO_REASON, skus=(sku,), reason=" Ordered the wrong size "
    )
    assert opened.id == next_id(expected.returns, "R")
    assert (opened.order_number, opened.kind, opened.skus) == (number, ReturnKind.NO_REASON, (sku,))
    assert (opened.reason, opened.status, opened.created_at) == (
        "Ordered the wrong size",
        "requested",
        NOW,
    )
    assert await backend.list_returns(number) == [opened]
    stored = await backend.get_order(number)
    assert stored is not None and stored.status is OrderStatus.RETURN_REQUESTED
    with pytest.raises(OrderConflict, match=f"already open for {sku}"):
        await backend.create_return(number, kind=ReturnKind.QUALITY, skus=(sku,), reason="Broken")
    with pytest.raises(OrderConflict, match="has no EL-9999"):
        await backend.create_return(number, kind=ReturnKind.QUALITY, skus=("EL-9999",), reason="x")
    in_transit, in_transit_lines = pick(expected, "in_transit")
    with pytest.raises(OrderConflict, match="cannot be returned"):
        await backend.create_return(
            in_transit["number"],
            kind=ReturnKind.NO_REASON,
            skus=(in_transit_lines[0][0],),
            reason="x",
        )

    method = refund_method(order["payment_method"])
    refund = await backend.create_refund(
        number,
        amount=value,
        method=method,
        status=RefundStatus.PENDING,
        expected_by=date(2025, 1, 20),
        reason="Refund on receipt of the return",
        return_id=opened.id,
    )
    assert refund.id == next_id(expected.refunds, "RF")
    assert (refund.amount, refund.method, refund.status) == (value, method, RefundStatus.PENDING)
    assert (refund.return_id, refund.expected_by, refund.created_at) == (
        opened.id,
        date(2025, 1, 20),
        NOW,
    )
    assert await backend.list_refunds(number) == [refund]
    assert isinstance((await backend.list_refunds(number))[0].amount, Decimal)
    stored = await backend.get_order(number)
    assert stored is not None and stored.status is OrderStatus.RETURN_REQUESTED  # pending
    too_much = stored.total + stored.shipping_fee - value + Decimal("0.01")
    with pytest.raises(OrderConflict, match="exceed what was paid"):
        await backend.create_refund(
            number,
            amount=too_much,
            method=method,
            status=RefundStatus.PAID,
            expected_by=TODAY,
            reason="Everything",
        )
    with pytest.raises(OrderConflict, match="has no return R-2025-999999"):
        await backend.create_refund(
            number,
            amount=Decimal("1.00"),
            method=method,
            status=RefundStatus.PAID,
            expected_by=TODAY,
            reason="x",
            return_id="R-2025-999999",
        )


async def test_paid_refunds_settle_orders_but_cancelled_stay_cancelled(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    async def refund(number: str, amount: Decimal, reason: str) -> None:
        await backend.create_refund(
            number,
            amount=amount,
            method="wallet",
            status=RefundStatus.PAID,
            expected_by=TODAY + timedelta(days=1),
            reason=reason,
        )

    delivered, lines = pick(expected, "delivered", skip=1)
    goods = sum((value for _, value in lines), Decimal("0"))
    await refund(delivered["number"], goods - Decimal("1.00"), "Lost in transit, part")
    partly = await backend.get_order(delivered["number"])
    assert partly is not None and partly.status is OrderStatus.DELIVERED
    await refund(delivered["number"], Decimal("1.00"), "Lost in transit, rest")
    settled = await backend.get_order(delivered["number"])
    assert settled is not None and settled.status is OrderStatus.REFUNDED
    assert [r.amount for r in await backend.list_refunds(delivered["number"])] == [
        goods - Decimal("1.00"),
        Decimal("1.00"),
    ]

    paid, lines = pick(expected, "paid", skip=1)
    cancelled = await backend.cancel_order(paid["number"])
    await refund(paid["number"], cancelled.total + cancelled.shipping_fee, "Order cancelled")
    stored = await backend.get_order(paid["number"])
    assert stored is not None and stored.status is OrderStatus.CANCELLED

    unpaid, _ = pick(expected, "pending_payment")
    with pytest.raises(OrderConflict, match="has not been paid for"):
        await refund(unpaid["number"], Decimal("1.00"), "x")
    bad: list[tuple[Any, str]] = [
        (Decimal("0"), "wallet"),
        (Decimal("1.005"), "wallet"),
        (Decimal("5.00"), "cash_on_delivery"),
        (1.5, "wallet"),  # a float: not money
    ]
    for amount, method in bad:
        with pytest.raises(ValueError, match=r"amount|refunds go to"):
            await backend.create_refund(
                paid["number"],
                amount=amount,
                method=method,
                status=RefundStatus.PAID,
                expected_by=TODAY,
                reason="x",
            )


async def test_quality_claim(backend: SqlShopBackend, expected: DemoShop) -> None:
    order, lines = pick(expected, "delivered", fresh=True)
    sku = next(sku for sku, _ in lines if sku[:2] in {"FR", "CH"})
    claim = await backend.create_quality_claim(
        order["number"],
        description="Mangoes bruised. Photos attached.",
        resolution=Resolution.REPLACEMENT,
        skus=(sku,),
    )
    assert claim.id == next_id(expected.claims, "QC")
    assert (claim.order_number, claim.skus, claim.resolution) == (
        order["number"],
        (sku,),
        Resolution.REPLACEMENT,
    )
    assert (claim.status, claim.notes, claim.created_at) == ("open", (), NOW)
    assert await backend.list_quality_claims(order["number"]) == [claim]
    stored = await backend.get_order(order["number"])
    assert stored is not None and stored.status is OrderStatus.DELIVERED
    paid, paid_lines = pick(expected, "paid")
    with pytest.raises(OrderConflict, match="cannot be claimed for"):
        await backend.create_quality_claim(
            paid["number"],
            description="x",
            resolution=Resolution.REFUND,
            skus=(paid_lines[0][0],),
        )
