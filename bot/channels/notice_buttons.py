"""The "Stop these messages" button under a Telegram notice, pressed after the conversation
the notice came in has ended: still the customer's choice, so it is taken."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.storage.notices import notice_button_payload as stored_payload


def notice_button_payload(
    session_factory: sessionmaker[Session], *, data: str, account_id: int
) -> str | None:
    """For callback data `b:<message id>:<index>` (bot/channels/telegram.py) on a notice
    sent to this account; None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "b" or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    with session_factory() as session:
        return stored_payload(
            session, message_id=int(parts[1]), index=int(parts[2]), account_id=account_id
        )
