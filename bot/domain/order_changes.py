"""Cancelling an order or changing its address: only while it is still in our warehouse."""

from __future__ import annotations

from bot.domain.orders import ON_THE_WAY, Order, OrderStatus, Shipment

CHANGEABLE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.PACKED})
MIN_ADDRESS_CHARS = 12
MAX_ADDRESS_CHARS = 300


def can_change(order: Order) -> bool:
    return order.status in CHANGEABLE


def address_problem(text: str) -> str | None:
    """A reason the text is not a usable delivery address, or None if it looks like one."""
    cleaned = " ".join(text.split())
    if len(cleaned) < MIN_ADDRESS_CHARS or len(cleaned.split()) < 3:
        return (
            "That looks too short for an address. Please send the full address: "
            "building and room, street and number, district and city."
        )
    if len(cleaned) > MAX_ADDRESS_CHARS:
        return f"That's longer than an address can be ({MAX_ADDRESS_CHARS} characters at most)."
    if not any(character.isdigit() for character in cleaned):
        return "Please include the street or building number in the address."
    return None


def explain_no_change(order: Order, shipment: Shipment | None, *, change: str) -> str:
    """What is possible instead once the order has left the warehouse."""
    if order.status is OrderStatus.CANCELLED:
        return f"Order {order.number} is already cancelled."
    if order.status in ON_THE_WAY and shipment:
        if change == "cancel":
            return (
                f"Order {order.number} has already shipped with {shipment.carrier}, so I can't "
                "cancel it. You can refuse the parcel at the door, or return it within 7 days "
                "of delivery, and you'll get a refund."
            )
        return (
            f"Order {order.number} has already shipped with {shipment.carrier}, so I can't "
            f"change the address. You can ask {shipment.carrier} to redirect it: give them "
            f"tracking number {shipment.tracking_number} and the new address."
        )
    if change == "cancel":
        return (
            f"Order {order.number} has already been delivered, so it can't be cancelled; "
            "you can return it instead (regular goods, within 7 days of delivery)."
        )
    return f"Order {order.number} has already been delivered, so its address can't change."
