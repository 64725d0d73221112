"""The one Telegram limiter: spacing in all and per chat, priority, 429 pauses, and PTB's
side of it. Real time at fast rates; spacing is asserted against the limiter's interval
with a tolerance for the event loop's jitter, never as exact times."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.channels.telegram_limiter import Priority, TelegramLimiter
from bot.channels.telegram_pacing import Pace, SharedRateLimiter, makes_a_message

RATE = 50.0  # a second, in all: a 22 ms slot with the headroom
CHAT_RATE = 10.0  # a second, per chat: 110 ms
JITTER = 0.008  # how much earlier than its slot a send may be seen to start


async def _send(
    limiter: TelegramLimiter, chat: str | None, priority: Priority = Priority.REPLY
) -> None:
    """One message that is answered as soon as it is sent."""
    async with limiter.slot(chat, priority=priority):
        pass


def _limiter(rate: float = RATE, chat_rate: float = CHAT_RATE) -> TelegramLimiter:
    return TelegramLimiter(messages_per_second=rate, chat_messages_per_second=chat_rate)


async def _times(
    limiter: TelegramLimiter, chats: list[str | None], priority: Priority = Priority.REPLY
) -> list[float]:
    """When each slot was granted, in the order they were asked for."""
    done: list[float] = [0.0] * len(chats)

    async def one(index: int, chat: str | None) -> None:
        await _send(limiter, chat, priority)
        done[index] = time.monotonic()

    await asyncio.gather(*(one(index, chat) for index, chat in enumerate(chats)))
    return done


def _gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


async def test_sends_to_many_chats_are_spaced_by_the_overall_rate() -> None:
    limiter = _limiter()
    times = await _times(limiter, [f"chat-{n}" for n in range(30)])

    assert min(_gaps(times)) >= limiter.interval - JITTER
    # Not slower than it must be either: 29 slots, with some slack for a busy machine.
    assert max(times) - min(times) < 29 * limiter.interval * 1.5


async def test_one_chat_waits_its_second_while_other_chats_go_on() -> None:
    limiter = _limiter()
    done: dict[str, list[float]] = {"busy": [], "other": []}

    async def send(chat: str) -> None:
        await _send(limiter, chat)
        done[chat].append(time.monotonic())

    await asyncio.gather(*(send("busy") for _ in range(3)), send("other"))

    assert min(_gaps(done["busy"])) >= limiter.chat_interval - JITTER
    # The other chat did not queue behind the busy one's second and third sends.
    assert done["other"][0] < sorted(done["busy"])[1]


async def test_a_customers_reply_goes_before_queued_notices() -> None:
    limiter = _limiter(rate=20.0)
    order: list[str] = []

    async def send(name: str, priority: Priority) -> None:
        await _send(limiter, name, priority=priority)
        order.append(name)

    notices = [asyncio.create_task(send(f"notice-{n}", Priority.BULK)) for n in range(8)]
    await asyncio.sleep(limiter.interval * 1.5)  # the first notice or two are out
    await send("reply", Priority.REPLY)
    await asyncio.gather(*notices)

    assert order.index("reply") <= 3
    assert [name for name in order if name != "reply"] == [f"notice-{n}" for n in range(8)]


async def test_a_429_pauses_its_chat_only() -> None:
    limiter = _limiter()
    limiter.rate_limited("blocked", 0.3)
    started = time.monotonic()
    other = await _times(limiter, ["fine"])
    paused = await _times(limiter, ["blocked"])

    assert other[0] - started < 0.1
    assert paused[0] - started >= 0.3 - JITTER
    assert limiter.paused_for("fine") == 0


async def test_429s_from_two_chats_at_once_pause_every_chat() -> None:
    limiter = _limiter()
    limiter.rate_limited("one", 0.3)
    limiter.rate_limited("two", 0.3)
    started = time.monotonic()
    [third] = await _times(limiter, ["three"])

    assert third - started >= 0.3 - JITTER


async def test_a_cancelled_wait_takes_no_slot() -> None:
    limiter = _limiter(rate=5.0)  # 220 ms slots
    await _send(limiter, "first")
    cancelled = asyncio.create_task(_send(limiter, "second"))
    await asyncio.sleep(0.02)
    cancelled.cancel()
    started = time.monotonic()
    await _send(limiter, "third")

    assert cancelled.cancelled()
    # "third" got the slot "second" gave up, not the one after it.
    assert time.monotonic() - started < 2 * limiter.interval - JITTER


async def test_a_seconds_worth_in_flight_holds_the_next_until_a_second_after_answers() -> None:
    """Telegram counts arrivals, which may bunch after a stall on the way: a send counts
    until a second after its answer, so no delay on the way makes one second hold more."""
    limiter = _limiter(rate=5.0)  # 5 a second: 220 ms slots
    answer = asyncio.Event()

    async def slow(chat: str) -> None:
        async with limiter.slot(chat):
            await answer.wait()

    held = [asyncio.create_task(slow(f"chat-{n}")) for n in range(limiter.per_window)]
    sixth = asyncio.create_task(_times(limiter, ["sixth"]))
    await asyncio.sleep(limiter.per_window * limiter.interval + 0.3)
    assert not sixth.done()  # its slot came long ago, but five are still on the way

    answer.set()
    await asyncio.gather(*held)
    answered = time.monotonic()
    [granted] = await sixth

    assert granted - answered >= 1.0 - JITTER


async def test_a_notice_waits_a_chat_interval_from_its_chats_last_answer() -> None:
    limiter = _limiter(chat_rate=5.0)  # 220 ms per chat
    answer = asyncio.Event()

    async def slow_reply() -> None:
        async with limiter.slot("chat"):
            await answer.wait()

    reply = asyncio.create_task(slow_reply())
    notice = asyncio.create_task(_times(limiter, ["chat"], Priority.BULK))
    await asyncio.sleep(2 * limiter.chat_interval)
    assert not notice.done()

    answer.set()
    await reply
    answered = time.monotonic()
    [granted] = await notice

    assert granted - answered >= limiter.chat_interval - JITTER


# --- python-telegram-bot's side ---


def _call(results: list[Any]) -> tuple[Callable[..., Coroutine[Any, Any, Any]], list[float]]:
    """A fake Bot API call answering each of `results` in turn (an exception is raised)."""
    calls: list[float] = []

    async def callback(*args: Any, **kwargs: Any) -> Any:
        calls.append(time.monotonic())
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    return callback, calls


async def test_ptb_calls_wait_out_a_429_and_try_again() -> None:
    shared = SharedRateLimiter(_limiter())
    callback, calls = _call([RetryAfter(timedelta(seconds=0.3)), {"message_id": 1}])

    result = await shared.process_request(
        callback, (), {}, "sendMessage", {"chat_id": 7, "text": "hi"}, None
    )

    assert result == {"message_id": 1}
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.3 - JITTER


async def test_a_notice_hears_of_a_429_after_its_retries() -> None:
    shared = SharedRateLimiter(_limiter())
    callback, calls = _call([RetryAfter(timedelta(seconds=0.05))] * 2)

    with pytest.raises(RetryAfter):
        await shared.process_request(
            callback, (), {}, "sendMessage", {"chat_id": 7}, Pace(Priority.BULK, retries=1)
        )
    assert len(calls) == 2


async def test_only_calls_that_make_a_message_take_a_slot() -> None:
    limiter = _limiter(rate=2.0)  # 550 ms slots
    shared = SharedRateLimiter(limiter)
    await _send(limiter, "7")  # the slot is taken for the next 550 ms
    callback, _ = _call([True])
    started = time.monotonic()

    await shared.process_request(
        callback, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None
    )

    assert time.monotonic() - started < 0.1
    assert makes_a_message("sendMessage") and makes_a_message("copyMessage")
    assert not makes_a_message("sendChatAction") and not makes_a_message("editMessageText")


async def test_a_reply_may_come_as_a_short_burst_but_a_notice_waits_its_chats_second() -> None:
    limiter = _limiter(chat_rate=5.0)  # 220 ms per chat
    limiter.chat_burst = 3
    reply = await _times(limiter, ["chat"] * 4)
    await asyncio.sleep(limiter.chat_interval * 3)  # the bucket fills again
    await _send(limiter, "chat")  # a reply...
    started = time.monotonic()
    await _send(limiter, "chat", Priority.BULK)  # ...then a notice

    first, *_, fourth = sorted(reply)
    assert max(_gaps(reply)[:2]) < limiter.chat_interval / 2  # three at the overall pace
    # The fourth waited for the bucket to refill: one a chat interval, from the first.
    assert fourth - first >= limiter.chat_interval - JITTER
    assert time.monotonic() - started >= limiter.chat_interval - JITTER
