"""What a notice says, one per customer, and how progress reads."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.notices import Occasion, Progress, Recipient, notice_text, plan_notices
from tests.bot.domain.builders import NOW, incident


def test_a_notice_names_the_orders_the_note_the_estimate_and_the_compensation() -> None:
    lockdown = incident(expected_recovery=NOW + timedelta(days=2))
    text = notice_text(lockdown, Occasion.DECLARED, ["100245", "100311"])
    assert text.startswith(
        "A heads-up about your orders 100245, 100311: the Shanghai lockdown. "
        "Deliveries go to community pick-up points."
    )
    assert "back to normal by Sun 22 Nov, 15:00" in text
    assert text.endswith(
        "qualify for compensation: your shipping fee back, and a CNY 10.00 voucher if one "
        "arrives more than 2 days late. Ask me about your order any time for its details."
    )
    over = notice_text(lockdown, Occasion.RESOLVED, ["100245"])
    assert over.startswith("Good news about your order 100245: the Shanghai lockdown is over")


def test_one_notice_per_reachable_customer_however_many_orders() -> None:
    reachable = {7: Recipient(7, 70, "telegram"), 9: Recipient(9, 90, "webchat")}
    planned = plan_notices(
        incident(),
        Occasion.NEW_ESTIMATE,
        [("100300", 7), ("100245", 7), ("100400", 8), ("100500", 9)],
        reachable,
    )
    assert [(p.recipient.customer_id, p.order_numbers) for p in planned] == [
        (7, ("100245", "100300")),
        (9, ("100500",)),
    ]  # customer 8 has no linked chat: nobody to tell


def test_progress_reads_like_the_issue_says() -> None:
    progress = Progress(
        incident_id=3,
        planned=3980,
        sent=1204,
        failed=0,
        skipped=0,
        started_at=NOW - timedelta(seconds=48),
        now=NOW,
    )
    assert progress.describe() == (
        "incident 3: 1,204 of 3,980 notices sent, 0 failed, about 2 min left"
    )
    done = Progress(3, 10, 9, 1, 0, NOW - timedelta(seconds=5), NOW)
    assert done.describe() == "incident 3: 9 of 10 notices sent, 1 failed, done"
