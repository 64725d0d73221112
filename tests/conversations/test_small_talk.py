"""What customers say between questions ("nevermind", "ok", "lol", "are you still
there?", "that's all"), taken in stride by the real engine: acknowledged, the pending
step kept or dropped as meant, and never counted as a misunderstanding."""

from __future__ import annotations

from tests.conversations.conftest import Chat, OrderPicker, verify

NOT_UNDERSTOOD = "didn't quite understand"


def test_nevermind_after_a_refused_return_is_not_a_misunderstanding(
    chat: Chat, orders: OrderPicker
) -> None:
    fresh_only = orders.take(
        lambda o: o["status"] == "delivered" and set(o["goods"]) <= {"fresh", "chilled"}
    )
    assert "can't be returned" in verify(chat, "i want to return order", fresh_only)

    shrug = chat.say("actually nevermind")
    assert shrug.startswith("No problem, I've left it there.")
    assert NOT_UNDERSTOOD not in shrug

    # Had the "nevermind" counted, this would be the second misunderstanding in a row,
    # and the customer would be passed to a person.
    gibberish = chat.say("zxqv blorf wibble")
    assert "find you a person" not in gibberish


def test_ok_lol_and_are_you_still_there_get_a_short_answer(
    chat: Chat, shipped_order: dict[str, object]
) -> None:
    assert str(shipped_order["tracking_number"]) in verify(chat, "where is order", shipped_order)

    replies = {text: chat.say(text) for text in ("ok", "lol", "are you still there?")}

    assert replies["ok"].startswith("Alright. Is there anything else")
    assert replies["lol"].startswith("🙂 I'm here whenever you need me.")
    assert replies["are you still there?"] == "Yes, I'm here. What can I do for you?"
    assert not [text for text, reply in replies.items() if NOT_UNDERSTOOD in reply]
    assert "Goodbye" in chat.say("that's all")


def test_asking_whether_the_bot_is_there_mid_lookup_keeps_the_lookup(
    chat: Chat, shipped_order: dict[str, object]
) -> None:
    assert "order number" in chat.say("where is my parcel")

    still = chat.say("are you still there?")
    assert still.startswith("Yes, I'm here.")
    assert "What's your order number?" in still

    laugh = chat.say("lol")
    assert "What's your order number?" in laugh and NOT_UNDERSTOOD not in laugh
    chat.say(str(shipped_order["order_number"]))
    answer = chat.say(str(shipped_order["email"]))
    assert str(shipped_order["tracking_number"]) in answer
