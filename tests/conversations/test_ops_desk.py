"""The ops desk end to end: an ops person runs incidents by chat in the console's Ops chat
and on a linked Telegram chat, with the real engine, actions and demo shop; customers
trying the same learn nothing; a declared incident reaches customers' delay answers."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conversations.conftest import Chat, OrderPicker, verify
from tests.conversations.test_telegram import TelegramCustomer, _text
from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import ROOT, Stack

PASSWORD = "correct horse battery staple"
_names = itertools.count(1)


def _add_staff(stack: Stack, role: str) -> str:
    username = f"{role}{next(_names)}"
    subprocess.run(
        [str(ROOT / ".venv/bin/shopdesk"), "staff", "add", username, "--name",
         f"Lin {username.title()}", "--role", role, "--password-stdin"],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        env={**os.environ, "DATABASE_URL": stack.database_url},
    )  # fmt: skip
    return username


class OpsChat:
    """The console's Ops chat, as the panel uses it: replies come back with each POST."""

    def __init__(self, stack: Stack, username: str) -> None:
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=60)
        login = self.http.post(
            "/api/console/login", json={"username": username, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.last: list[dict[str, Any]] = []

    def say(self, text: str) -> str:
        answer = self.http.post("/api/console/ops-chat/messages", json={"text": text})
        assert answer.status_code == 200, answer.text
        self.last = [m for m in answer.json()["messages"] if m["sender"] == "bot"]
        return "\n".join(m["text"] or "" for m in self.last)

    def press(self, title: str) -> str:
        [(message, index)] = [
            (m, i) for m in self.last for i, b in enumerate(m["buttons"]) if b["title"] == title
        ]
        answer = self.http.post(
            "/api/console/ops-chat/buttons", json={"message_id": message["id"], "index": index}
        )
        assert answer.status_code == 200, answer.text
        self.last = [m for m in answer.json()["messages"] if m["sender"] == "bot"]
        return "\n".join(m["text"] or "" for m in self.last)


@pytest.fixture(scope="module")
def ops(stack: Stack) -> Iterator[OpsChat]:
    chat = OpsChat(stack, _add_staff(stack, "ops"))
    yield chat
    chat.http.close()


def _incident_rows(stack: Stack) -> list[dict[str, Any]]:
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT id, title, status FROM incidents ORDER BY id"))
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def test_ops_list_query_declare_update_and_resolve_in_the_console(
    ops: OpsChat, stack: Stack
) -> None:
    listing = ops.say("what's going on?")
    assert listing.startswith("2 active incidents:")
    assert "#3 Epidemic control measures in Wuhan" in listing
    assert "#4 ZTO Express: sorting-centre system failure" in listing
    assert "open orders affected" in listing

    details = ops.press("#3 Epidemic control measures in Wuhan: deliveries restricted")
    assert details.startswith("Incident #3: Epidemic control measures in Wuhan")
    assert "Latest timeline:" in details and "Emergency group (demo): Declared" in details

    queue = ops.say("how's the queue?")
    assert "Waiting: " in queue and "Surge: yes (" in queue and "2 active incidents)" in queue

    asked = ops.say("YTO Express is down in Sichuan since 9am, back Friday")
    assert asked.startswith("How severe is it, 1 to 4?")
    assert "What should customers be told? Suggested:" in ops.press("3")
    preview = ops.press("Use the suggested note")
    assert preview.startswith("Declare this incident?\nYTO Express outage in Sichuan (Chengdu)")
    assert "open orders of" in preview and "customers are in scope" in preview
    assert [row["title"] for row in _incident_rows(stack)][-1] != (
        "YTO Express outage in Sichuan (Chengdu)"
    )  # nothing written before the yes
    declared = ops.say("yes")
    new_id = _incident_rows(stack)[-1]["id"]
    assert f"Declared incident #{new_id}: YTO Express outage in Sichuan (Chengdu)." in declared
    assert "didn't quite understand" not in declared
    if "Notify affected customers?" in declared:
        assert "nothing was changed" in ops.say("no").lower()

    changed = ops.say(f"new estimate for incident {new_id}: Monday 18:00")
    assert changed.startswith(f"Change incident #{new_id}")
    assert "Expected recovery" in changed and "→ Mon" in changed
    updated = ops.say("yes")
    assert f"Incident #{new_id} updated: Expected recovery" in updated
    if "Notify affected customers?" in updated:
        ops.say("no")

    resolving = ops.say(f"resolve incident {new_id}")
    assert (
        resolving
        == f"Change incident #{new_id} (YTO Express outage in Sichuan (Chengdu))?\nResolved."
    )
    assert ops.say("yes").startswith(f"Incident #{new_id} is resolved.")
    assert _incident_rows(stack)[-1]["status"] == "resolved"
    assert ops.say("what's going on?").startswith("2 active incidents:")


def test_a_vague_reference_gets_a_choice_of_buttons(ops: OpsChat) -> None:
    answer = ops.say("status of the incident")
    assert answer == "Which incident do you mean?"
    titles = [b["title"] for m in ops.last for b in m["buttons"]]
    assert any(t.startswith("#3 ") for t in titles) and any(t.startswith("#4 ") for t in titles)


def test_an_agent_and_a_customer_learn_nothing_and_change_nothing(stack: Stack, chat: Chat) -> None:
    staff_only = "That's something for our staff, sorry."
    before = _incident_rows(stack)
    for text in ("which incidents are active?", "status of incident 3", "how's the queue?",
                 "declare an outage in Shanghai", "resolve incident 3"):  # fmt: skip
        assert chat.say(text).startswith(staff_only), text
    agent = httpx.Client(base_url=stack.gateway_url, timeout=60)
    username = _add_staff(stack, "agent")
    agent.post("/api/console/login", json={"username": username, "password": PASSWORD})
    refused = agent.post("/api/console/ops-chat/messages", json={"text": "resolve incident 3"})
    assert refused.status_code == 403
    agent.close()
    assert _incident_rows(stack) == before


def test_a_declared_incident_is_in_the_next_delay_answer(
    ops: OpsChat, chat: Chat, orders: OrderPicker, stack: Stack
) -> None:
    late = orders.take(
        lambda o: o["is_late"] and not o["incident_ids"] and o["carrier"] is not None
    )
    first = verify(chat, "my parcel is late, order", late)
    assert "It's affected by" not in first
    region = str(late["region"]).split(" (")[0]
    asked = ops.say(f"{late['carrier']} is down in {region} since 8am, back in 3 days, severity 2")
    assert "What should customers be told?" in asked
    note = f"Parcels to {region} go via our backup hub (test {late['order_number']})."
    assert "Declare this incident?" in ops.say(note)
    declared = ops.say("yes")
    new_id = _incident_rows(stack)[-1]["id"]
    try:
        assert f"Declared incident #{new_id}" in declared
        again = chat.say("so why is it late?")
        assert "It's affected by" in again and note in again
    finally:
        if "Notify affected customers?" in declared:
            ops.say("no")
        ops.say(f"resolve incident {new_id}")
        ops.say("yes")
    assert _incident_rows(stack)[-1]["status"] == "resolved"
    assert note not in chat.say("why is it late?")


def _said(phone: TelegramCustomer, text: str) -> str:
    """Everything the bot answered: a turn may send more than one message, a second apart
    (Telegram's limit of one message a second to a chat)."""
    answer = phone.say(text)
    time.sleep(1.5)
    later = phone.telegram.sent_messages(phone.chat_id)[phone.seen :]
    phone.seen += len(later)
    return _text([*answer, *later])


def test_ops_run_an_incident_from_a_linked_telegram_chat(
    ops: OpsChat, telegram: FakeTelegram, stack: Stack
) -> None:
    code = ops.http.post("/api/console/telegram-link/code")
    assert code.status_code == 201, code.text
    phone = TelegramCustomer(telegram)
    assert _said(phone, f"/link {code.json()['code']}").startswith("Linked")
    listing = phone.say("active incidents")
    assert _text(listing).startswith("2 active incidents:")
    details = _text(phone.press(listing[-1], "#4 ZTO Express: sorting-centre system failure"))
    assert details.startswith("Incident #4: ZTO Express")

    preview = _said(
        phone,
        "China Post EMS is down in Tianjin since 10am, back tomorrow, severity 1, "
        "note: EMS parcels to Tianjin are held for a day.",
    )
    assert preview.startswith("Declare this incident?\nChina Post EMS outage in Tianjin")
    declared = _said(phone, "yes")
    new_id = _incident_rows(stack)[-1]["id"]
    assert f"Declared incident #{new_id}" in declared
    if "Notify affected customers?" in declared:
        _said(phone, "no")
    assert "Change incident" in _said(phone, f"severity 2 for incident {new_id}")
    assert f"Incident #{new_id} updated: Severity 1 → 2" in _said(phone, "yes")
    assert "Resolved." in _said(phone, f"resolve incident {new_id}")
    assert _said(phone, "yes").startswith(f"Incident #{new_id} is resolved.")
    assert ops.http.delete("/api/console/telegram-link").status_code == 204
    assert _said(phone, "active incidents").startswith("That's something for our staff")


def _opted_out(stack: Stack, chat_id: int) -> bool:
    """Whether the customer this Telegram chat is linked to turned notices off."""
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            query = sa.text(
                "SELECT count(*) FROM notice_opt_outs JOIN channel_accounts USING (customer_id) "
                "WHERE channel_accounts.channel = 'telegram' AND external_id = :chat"
            )
            return bool(db.execute(query, {"chat": str(chat_id)}).scalar_one())
    finally:
        engine.dispose()


def test_a_linked_customer_hears_first_and_can_stop_the_notices(
    ops: OpsChat, telegram: FakeTelegram, stack: Stack, orders: OrderPicker
) -> None:
    order = orders.take(
        lambda o: (
            o["status"] in ("shipped", "in_transit")
            and o["carrier"] is not None
            and not o["incident_ids"]
        )
    )
    customer = TelegramCustomer(telegram)
    customer.say(f"where is my order {order['order_number']}")
    assert f"Order {order['order_number']}" in _text(customer.say(order["email"]))

    region = str(order["region"]).split(" (")[0]
    note = f"Parcels to {region} wait at the depot for a day (test {order['order_number']})."
    asked = ops.say(f"{order['carrier']} is down in {region} since 7am, back in 2 days, severity 2")
    assert "What should customers be told?" in asked
    assert ops.say(note).startswith("Declare this incident?")
    declared = ops.say("yes")
    new_id = _incident_rows(stack)[-1]["id"]
    try:
        assert "Notify affected customers?" in declared
        [notify] = [b["title"] for m in ops.last for b in m["buttons"] if b["payload"] == "yes"]
        assert ops.press(notify).startswith("Sending ")

        sent = telegram.wait_for_messages(customer.chat_id, customer.seen + 1, timeout=60)
        [notice] = sent[customer.seen :]
        customer.seen = len(sent)
        assert notice.text.startswith("A heads-up about your order")
        assert order["order_number"] in notice.text
        assert note in notice.text
        assert "qualify for compensation" in notice.text
        stopped = _text(customer.press(notice, "Stop these messages"))
        assert stopped.startswith("Done: you won't get any more incident notices.")
        assert _opted_out(stack, customer.chat_id)

        status = ops.say(f"status of incident {new_id}")
        assert f"Notices to customers: incident {new_id}: " in status

        resumed = _text(customer.say("turn the notices back on"))
        assert resumed.startswith("Done: notices are back on.")
        assert not _opted_out(stack, customer.chat_id)
    finally:
        resolving = ops.say(f"resolve incident {new_id}").endswith("Resolved.")
        if resolving and "Notify affected customers?" in ops.say("yes"):
            ops.say("no")
