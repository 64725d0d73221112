"""A customer on Telegram, end to end: real python-telegram-bot in the gateway, the real
engine and actions, and a fake Bot API on loopback in place of Telegram's servers."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

from tests.conversations.conftest import OrderPicker
from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.stack import Stack

_chat_ids = itertools.count(880_001)
_group_ids = itertools.count(-1_880_001, -1)


# Longer than the 1-s Retry-After the tests make the fake answer with, plus a turn's work.
QUIET_SECONDS = 3.0


class TelegramCustomer:
    """One Telegram chat with the bot, as the customer's app sees it."""

    def __init__(self, telegram: FakeTelegram, chat_id: int | None = None) -> None:
        self.telegram = telegram
        self.chat_id = chat_id or next(_chat_ids)
        self.seen = len(telegram.sent_messages(self.chat_id))

    def _new_messages(self, update: dict[str, Any]) -> list[SentMessage]:
        """Pushes the update and returns what the bot sent until it went quiet: a turn may
        answer in several messages (an incident's heads-up first), and a refused send
        comes a Retry-After later."""
        self.telegram.push_update(update)
        sent = self.telegram.wait_for_messages(self.chat_id, self.seen + 1, timeout=60)
        while True:
            try:
                sent = self.telegram.wait_for_messages(
                    self.chat_id, len(sent) + 1, timeout=QUIET_SECONDS
                )
            except AssertionError:  # nothing more within the quiet time
                break
        new = sent[self.seen :]
        self.seen = len(sent)
        return new

    def say(self, text: str) -> list[SentMessage]:
        return self._new_messages(self.telegram.text_update(self.chat_id, text))

    def press(self, message: SentMessage, title: str) -> list[SentMessage]:
        markup = message.reply_markup or {}
        [data] = [
            button["callback_data"]
            for row in markup["inline_keyboard"]
            for button in row
            if button["text"] == title
        ]
        update = self.telegram.callback_update(self.chat_id, message.message_id, data)
        return self._new_messages(update)


def _text(messages: list[SentMessage]) -> str:
    return "\n".join(message.text for message in messages)


def _stored_inbound(stack: Stack) -> Counter[str]:
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        texts = db.execute(
            sa.text("SELECT text FROM messages WHERE channel = 'telegram' AND direction = 'in'")
        ).scalars()
        counted = Counter(str(text) for text in texts)
    engine.dispose()
    return counted


def _accounts(stack: Stack, external_ids: list[int]) -> set[str]:
    """Which of these Telegram ids have an account (and so conversations) in Shopdesk."""
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        found = db.execute(
            sa.text("SELECT external_id FROM channel_accounts WHERE channel = 'telegram'")
        ).scalars()
        wanted = {str(external_id) for external_id in external_ids}
        present = {str(external_id) for external_id in found} & wanted
    engine.dispose()
    return present


def test_an_order_status_conversation_with_a_button_a_resent_update_and_a_429(
    stack: Stack, telegram: FakeTelegram, orders: OrderPicker
) -> None:
    order = orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))
    customer = TelegramCustomer(telegram)

    [welcome] = customer.say("/start")
    asked = customer.press(welcome, "Where is my order?")
    number_message = telegram.text_update(customer.chat_id, order["order_number"])
    number_message["update_id"] = telegram.push_update(number_message)
    proof_request = telegram.wait_for_messages(customer.chat_id, customer.seen + 1, timeout=60)
    customer.seen = len(proof_request)
    telegram.push_update(number_message)  # Telegram sends the same update again
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    answer = customer.say(order["phone_last4"])

    assert "order number" in _text(asked).lower()
    assert "last four digits" in proof_request[-1].text
    assert order["tracking_number"] in _text(answer)
    assert order["carrier"] in _text(answer)
    # Every reply was sent once, the refused one included.
    texts = [m.text for m in telegram.sent_messages(customer.chat_id)]
    assert len(texts) == len(set(texts))
    assert _stored_inbound(stack)[order["order_number"]] == 1


def test_a_linked_account_is_not_asked_again_for_its_own_orders_only(
    stack: Stack, telegram: FakeTelegram, orders: OrderPicker
) -> None:
    first = orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))
    second = orders.take(
        lambda o: o["email"] == first["email"] and o["order_number"] != first["order_number"]
    )
    stranger = orders.take(lambda o: o["email"] != first["email"] and o["status"] == "in_transit")
    customer = TelegramCustomer(telegram)
    customer.say(f"where is my order {first['order_number']}")
    assert first["tracking_number"] in _text(customer.say(first["email"]))

    # A new conversation on the same account, as after the idle timeout.
    engine = sa.create_engine(stack.database_url)
    with engine.begin() as db:
        db.execute(
            sa.text(
                "UPDATE conversations SET closed_at = last_activity_at, close_reason = 'idle' "
                "WHERE channel = 'telegram' AND id IN (SELECT current_conversation_id "
                "FROM channel_accounts WHERE external_id = :chat)"
            ),
            {"chat": str(customer.chat_id)},
        )
    engine.dispose()
    own = customer.say(f"what's the status of order {second['order_number']}?")
    foreign = customer.say(f"and order {stranger['order_number']}?")

    assert f"Order {second['order_number']}" in _text(own)
    assert "last four digits" not in _text(own)
    assert "last four digits" in _text(foreign)
    assert stranger["customer_name"] not in _text(foreign)


def test_in_a_group_the_bot_serves_nobody_and_a_members_proof_links_no_one(
    stack: Stack, telegram: FakeTelegram, orders: OrderPicker
) -> None:
    order = orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))
    group = next(_group_ids)
    member, other = TelegramCustomer(telegram), TelegramCustomer(telegram)
    asking = f"where is my order {order['order_number']}"

    telegram.push_update(telegram.text_update(group, asking, user_id=member.chat_id))
    [notice] = telegram.wait_for_messages(group, 1, timeout=60)
    telegram.push_update(telegram.text_update(group, order["email"], user_id=member.chat_id))
    telegram.push_update(telegram.text_update(group, asking, user_id=other.chat_id))
    in_private = other.say(asking)
    time.sleep(1)  # the group's updates are handled alongside, and answer nothing

    assert "private chat" in notice.text
    assert [m.text for m in telegram.sent_messages(group)] == [notice.text]
    assert "last four digits" in _text(in_private)
    assert order["tracking_number"] not in _text(in_private)
    # Nothing was taken in from the group: no account for it or for the member there.
    assert _accounts(stack, [group, member.chat_id, other.chat_id]) == {str(other.chat_id)}
