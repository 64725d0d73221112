"""The fake Bot API server, driven by python-telegram-bot's real Bot and Application."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support.fake_telegram import FakeTelegram
from tests.support.waiting import until

TOKEN = "123:ABC"
CHAT = 4242


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        yield fake


def bot_for(telegram: FakeTelegram) -> Bot:
    return Bot(TOKEN, base_url=telegram.base_url, base_file_url=telegram.base_file_url)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d)] for d in data])


async def test_a_real_bot_gets_itself_and_sends_a_message_with_a_keyboard(
    telegram: FakeTelegram,
) -> None:
    async with bot_for(telegram) as bot:
        me = await bot.get_me()
        first = await bot.send_message(CHAT, "Pick one", reply_markup=keyboard("yes", "no"))
        second = await bot.send_message(CHAT, "  Plain text\n")

    assert me.id == 123 and me.is_bot and me.username == "shopdesk_test_bot"
    assert first.chat.id == CHAT and first.from_user is not None and first.from_user.id == me.id
    assert first.reply_markup == keyboard("yes", "no")
    assert second.message_id > first.message_id and second.text == "Plain text"
    sent = telegram.sent_messages(CHAT)
    assert [m.text for m in sent] == ["Pick one", "Plain text"]
    assert sent[0].message_id == first.message_id
    assert sent[0].reply_markup == {
        "inline_keyboard": [
            [{"text": "YES", "callback_data": "yes"}],
            [{"text": "NO", "callback_data": "no"}],
        ]
    }
    assert (sent[0].parse_mode, sent[1].parse_mode) == (None, None)
    assert telegram.calls("sendMessage")[1]["text"] == "  Plain text\n"
    assert telegram.sent_messages(CHAT + 1) == []


async def test_telegram_limits_on_text_and_buttons_are_enforced(telegram: FakeTelegram) -> None:
    async with bot_for(telegram) as bot:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(CHAT, "😀" * 2049)  # 4098 UTF-16 code units
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(CHAT, "  \n ")
        for parse_mode in ("HTML", "MarkdownV2", "Markdown"):
            with pytest.raises(BadRequest, match=r"(?i)the fake supports plain text only"):
                await bot.send_message(CHAT, "<b>Bold</b>", parse_mode=parse_mode)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(CHAT, "Pick", reply_markup=keyboard("é" * 33))  # 66 bytes
        await bot.send_message(CHAT, "x" * 4096)
        await bot.send_message(CHAT, "😀" * 2048)  # 4096 UTF-16 code units
        question = await bot.send_message(CHAT, "Pick", reply_markup=keyboard("é" * 32))  # 64 bytes
        with pytest.raises(BadRequest, match=r"(?i)the fake supports plain text only"):
            await bot.edit_message_text("*Picked*", CHAT, question.message_id, parse_mode="HTML")

    sent = telegram.sent_messages(CHAT)
    assert [len(m.text) for m in sent] == [4096, 2048, 4]
    assert len(telegram.calls("sendMessage")) == 10


async def test_edits_and_callback_answers_follow_telegram(telegram: FakeTelegram) -> None:
    async with bot_for(telegram) as bot:
        sent = await bot.send_message(CHAT, "Pick one", reply_markup=keyboard("yes"))
        edited = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
        assert isinstance(edited, type(sent)) and edited.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
        await bot.edit_message_text("Picked", CHAT, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("Picked", CHAT, sent.message_id + 100)

        update = telegram.callback_update(CHAT, sent.message_id, "yes")
        telegram.push_update(update)
        query_id = update["callback_query"]["id"]
        assert update["callback_query"]["message"]["text"] == "Picked"
        assert await bot.answer_callback_query(query_id, text="Done")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query_id)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query("unknown")
        assert await bot.send_chat_action(CHAT, "typing")

    [answer] = telegram.answered_callbacks()
    assert (answer.callback_query_id, answer.text, answer.show_alert) == (query_id, "Done", False)
    assert [c["message_id"] for c in telegram.calls("editMessageText")] == [
        sent.message_id,
        sent.message_id + 100,
    ]
    # sent_messages keeps what was sent; edits are in calls().
    assert telegram.sent_messages(CHAT)[0].text == "Pick one"


async def test_a_429_raises_retry_after_on_a_plain_bot(telegram: FakeTelegram) -> None:
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    async with bot_for(telegram) as bot:
        # PTB words the wait in seconds, or as a timedelta once PTB_TIMEDELTA is set
        # (bot/channels/telegram.py sets it when imported).
        with pytest.raises(RetryAfter, match=r"Retry in (1 seconds|0:00:01)$"):
            await bot.send_message(CHAT, "Hello")
        await bot.send_message(CHAT, "Hello again")  # only the next call failed
        telegram.fail_next("sendMessage", status=403, times=2)
        for _ in range(2):
            with pytest.raises(Forbidden, match="blocked by the user"):
                await bot.send_message(CHAT, "Hello?")

    assert [m.text for m in telegram.sent_messages()] == ["Hello again"]
    assert [c["text"] for c in telegram.calls("sendMessage")] == [
        "Hello",
        "Hello again",
        "Hello?",
        "Hello?",
    ]


async def test_the_rate_limiter_waits_out_a_429_and_sends_once(telegram: FakeTelegram) -> None:
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(telegram.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    async with application:
        started = time.monotonic()
        await application.bot.send_message(CHAT, "Your order shipped")
        waited = time.monotonic() - started

    assert waited >= 1.0
    assert [m.text for m in telegram.sent_messages(CHAT)] == ["Your order shipped"]
    assert len(telegram.calls("sendMessage")) == 2


async def test_tokens_and_unknown_methods_answer_like_telegram(telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("123:WRONG", base_url=telegram.base_url):
            pass
    wrong = httpx.post(f"{telegram.base_url}123:WRONG/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert httpx.post(f"{telegram.base_url}not-a-token/getMe").status_code == 404
    async with bot_for(telegram) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": CHAT})
        with pytest.raises(InvalidToken, match="method not found"):  # PTB's name for a 404
            await bot.set_my_commands([BotCommand("help", "What I can do")])  # not faked
    response = httpx.post(f"{telegram.base_url}{TOKEN}/sendTeleportation")
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert telegram.calls("sendTeleportation") == [{"chat_id": CHAT}, {}]


def test_parameters_may_come_as_form_fields_or_json(telegram: FakeTelegram) -> None:
    url = f"{telegram.base_url}{TOKEN}"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    answers = [
        httpx.post(f"{url}/sendMessage", json={"chat_id": CHAT, "text": "json"}),
        httpx.post(
            f"{url}/sendMessage", data={"chat_id": CHAT, "text": "form", "reply_markup": markup}
        ),
    ]
    assert [a.status_code for a in answers] == [200] * 2
    assert all(a.json()["ok"] for a in answers)
    sent = telegram.sent_messages(CHAT)
    assert [m.text for m in sent] == ["json", "form"]
    assert sent[1].reply_markup == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert telegram.calls("sendMessage")[1]["chat_id"] == CHAT  # form fields decoded
    broken = httpx.post(
        f"{url}/sendMessage", data={"chat_id": CHAT, "text": "x", "reply_markup": "{"}
    )
    assert (broken.status_code, broken.json()["description"]) == (
        400,
        "Bad Request: can't parse reply keyboard markup JSON object",
    )
    bad = httpx.post(f"{url}/sendMessage", data={"chat_id": str(CHAT), "text": "x" * 5000})
    assert bad.status_code == 400
    assert bad.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message is too long",
    }
    telegram.fail_next("getMe", retry_after=7)
    limited = httpx.post(f"{url}/getMe")
    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }


async def test_get_updates_confirms_with_offset_and_long_polls(telegram: FakeTelegram) -> None:
    first = telegram.push_update(telegram.text_update(CHAT, "one"))
    second = telegram.push_update(telegram.text_update(CHAT, "two"))
    assert second == first + 1
    async with bot_for(telegram) as bot:
        updates = await bot.get_updates()
        assert [u.update_id for u in updates] == [first, second]
        assert [u.message.text for u in updates if u.message] == ["one", "two"]
        # Not confirmed yet: returned again; an offset confirms everything below it.
        assert len(await bot.get_updates(offset=first)) == 2
        assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
        assert await bot.get_updates(offset=second + 1) == ()
        assert await telegram_webhook_pending(bot) == 0

        # Negative offset: only the last updates are kept.
        for text in ("three", "four", "five"):
            telegram.push_update(telegram.text_update(CHAT, text))
        [last] = await bot.get_updates(offset=-1)
        assert last.message is not None and last.message.text == "five"
        assert await telegram_webhook_pending(bot) == 1

        # timeout: waits for an update pushed from another thread, then answers at once.
        later = threading.Timer(0.3, telegram.push_update, [telegram.text_update(CHAT, "six")])
        later.start()
        started = time.monotonic()
        updates = await bot.get_updates(offset=last.update_id + 1, timeout=5)
        assert [u.message.text for u in updates if u.message] == ["six"]
        assert 0.2 < time.monotonic() - started < 2
        # A newer getUpdates (from a second bot instance) ends the waiting one with 409.
        offset = updates[-1].update_id + 1
        waiting = asyncio.create_task(bot.get_updates(offset=offset, timeout=5))
        await asyncio.sleep(0.2)
        async with bot_for(telegram) as other:
            started = time.monotonic()
            assert await other.get_updates(offset=offset, timeout=1) == ()
            assert time.monotonic() - started >= 0.9
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await waiting
        assert telegram.poll_conflicts == 1


async def telegram_webhook_pending(bot: Bot) -> int:
    return (await bot.get_webhook_info()).pending_update_count


async def test_a_webhook_excludes_get_updates_and_needs_https(telegram: FakeTelegram) -> None:
    async with bot_for(telegram) as bot:
        with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
            await bot.set_webhook("http://127.0.0.1:8000/telegram/webhook")
        assert await bot.set_webhook(
            "https://shop.example/telegram/webhook",
            secret_token="s3cret_-",
            allowed_updates=["message", "callback_query"],
        )
        telegram.push_update(telegram.text_update(CHAT, "queued"))
        info = await bot.get_webhook_info()
        assert info.url == "https://shop.example/telegram/webhook"
        assert info.pending_update_count == 1
        assert info.allowed_updates == ("message", "callback_query")
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates() == ()
        assert (await bot.get_webhook_info()).url == ""
    assert telegram.calls("setWebhook")[-1]["secret_token"] == "s3cret_-"


async def test_waiting_for_messages_reports_what_was_sent(telegram: FakeTelegram) -> None:
    async with bot_for(telegram) as bot:
        await bot.send_message(CHAT + 1, "to someone else")
    with pytest.raises(AssertionError, match=r"got 0: \[\].*chats \[4243\]"):
        await telegram.wait_for_messages_async(CHAT, 1, timeout=0.1)
    with pytest.raises(RuntimeError, match="wait_for_messages_async"):
        telegram.wait_for_messages(CHAT, 1, timeout=0.1)
    sent = await asyncio.to_thread(telegram.wait_for_messages, CHAT + 1, 1, 1.0)
    assert [m.text for m in sent] == ["to someone else"]


async def test_a_polling_application_gets_each_update_once_and_repushed_ones_again(
    telegram: FakeTelegram,
) -> None:
    texts: list[tuple[int, str]] = []
    presses: list[tuple[int, str]] = []

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        texts.append((update.update_id, update.message.text))
        await update.message.reply_text(f"You said: {update.message.text}")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        presses.append((update.update_id, query.data))
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)

    application = ApplicationBuilder().token(TOKEN).base_url(telegram.base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, on_text))
    application.add_handler(CallbackQueryHandler(on_button))
    assert application.updater is not None
    async with application:
        # Short long polls: the fake holds a poll open until its timeout, even at shutdown.
        await application.updater.start_polling(timeout=1)
        await application.start()
        try:
            question = await application.bot.send_message(CHAT, "Pick", reply_markup=keyboard("a"))
            hello = telegram.text_update(CHAT, "hello")
            hello_id = telegram.push_update(hello)
            press_id = telegram.push_update(
                telegram.callback_update(CHAT, question.message_id, "a")
            )
            await until(lambda: len(texts) == 1 and len(presses) == 1)
            await telegram.wait_for_messages_async(CHAT, 2)

            # The same update again, as Telegram re-sends one: the fake delivers it.
            telegram.push_update({**hello, "update_id": hello_id})
            await until(lambda: len(texts) == 2)
            # A later update shows nothing else arrived in between.
            telegram.push_update(telegram.text_update(CHAT, "bye"))
            await until(lambda: len(texts) == 3)
        finally:
            await application.updater.stop()
            await application.stop()

    assert texts == [(hello_id, "hello"), (hello_id, "hello"), (hello_id + 2, "bye")]
    assert presses == [(press_id, "a")]
    delivered = [u["update_id"] for u in telegram.delivered_updates()]
    assert delivered == [hello_id, press_id, hello_id, hello_id + 2]
    assert [a.callback_query_id for a in telegram.answered_callbacks()] == [
        u["callback_query"]["id"] for u in telegram.delivered_updates() if "callback_query" in u
    ]
    assert telegram.calls("editMessageReplyMarkup")[0]["message_id"] == question.message_id
    replies = [m.text for m in telegram.sent_messages(CHAT)]
    assert replies == ["Pick", "You said: hello", "You said: hello", "You said: bye"]
