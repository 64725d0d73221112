"""What queued customers can choose, as button titles that are also what the gateway reads.

While a conversation waits for a person the bot is paused, so the gateway itself
recognises these choices; they must stay the same in the action and the gateway.
"""

from __future__ import annotations

from bot.storage.tables import Button

KEEP_WAITING = "Keep waiting"
LEAVE_MESSAGE = "Leave a message for a call-back"
CARRY_ON = "Carry on with the bot"
CHOICE_BUTTONS: tuple[Button, ...] = tuple(
    {"title": choice, "payload": choice} for choice in (KEEP_WAITING, LEAVE_MESSAGE, CARRY_ON)
)
# Offered in a surge before queueing, when the incident's note may already answer.
STILL_NEED_PERSON = "I still need a person"
THAT_HELPS = "That helps, thanks"

RATING_QUESTION = (
    "Thanks for talking with us. How would you rate the help you got, "
    "from 1 (poor) to 5 (excellent)?"
)
# The payload names the scale, so that a rating given later, when the bot has the
# conversation again, is still recognised as one (and never sent to the engine).
RATING_BUTTONS: tuple[Button, ...] = tuple(
    {"title": str(score), "payload": f"Rate {score} of 5"} for score in range(1, 6)
)
BACK_WITH_BOT_AFTER_AGENT = (
    "You're back with Shopdesk's assistant. Ask me anything about your orders, returns or refunds."
)
