"""The yes that may change an order for good."""

from __future__ import annotations

import pytest

from bot.domain.consent import CLEAR_YES_CONFIDENCE, is_clear_repeat, is_clear_yes


@pytest.mark.parametrize("text", ["yes", "Yes please", "go ahead", "sure, do it", "ok 👍"])
def test_a_confident_yes_goes_ahead(text: str) -> None:
    assert is_clear_yes(text, intent="affirm", confidence=0.97)


@pytest.mark.parametrize(("text", "confidence"), [("well", 0.76), ("it", 0.70), ("you know", 0.57)])
def test_a_shrug_the_classifier_reads_as_yes_is_not_enough(text: str, confidence: float) -> None:
    assert not is_clear_yes(text, intent="affirm", confidence=confidence)


@pytest.mark.parametrize(
    "text",
    ["yes maybe", "yes?", "I guess so", "yes but not the rice cooker", "ok if it's free", "hmm ok"],
)
def test_a_hedged_yes_is_not_enough_however_confident(text: str) -> None:
    assert not is_clear_yes(text, intent="affirm", confidence=0.99)


@pytest.mark.parametrize("text", ["ok so", "OK so...", "yes...", "sure…", "so yeah so"])
def test_an_unfinished_yes_is_not_enough(text: str) -> None:
    assert not is_clear_yes(text, intent="affirm", confidence=0.95)


@pytest.mark.parametrize("text", ["please do so", "yes, do so.", "so yes", "ok, also yes"])
def test_so_inside_a_yes_is_still_a_yes(text: str) -> None:
    assert is_clear_yes(text, intent="affirm", confidence=0.95)


@pytest.mark.parametrize("text", ["yes, keep it", "ok leave it", "yes no", "sure, don’t"])
def test_a_yes_that_says_no_in_the_same_breath_is_not_enough(text: str) -> None:
    assert not is_clear_yes(text, intent="affirm", confidence=0.99)


def test_only_an_affirm_counts() -> None:
    assert not is_clear_yes("yes", intent="inform", confidence=0.99)
    assert not is_clear_yes("yes", intent=None, confidence=0.0)


def test_the_threshold_itself_is_clear_enough() -> None:
    assert is_clear_yes("yes", intent="affirm", confidence=CLEAR_YES_CONFIDENCE)
    assert not is_clear_yes("yes", intent="affirm", confidence=CLEAR_YES_CONFIDENCE - 0.01)


CANCEL = frozenset({"cancel_order", "refund_request"})
ADDRESS = frozenset({"change_address"})


@pytest.mark.parametrize(
    "text", ["yes please cancel", "yes cancel it", "cancel it", "just refund me"]
)
def test_asking_again_for_the_change_on_offer_is_a_yes(text: str) -> None:
    intent = "refund_request" if "refund" in text else "cancel_order"
    assert is_clear_repeat(text, intent=intent, requests=CANCEL)


@pytest.mark.parametrize(
    "text",
    [
        "no, don't cancel",
        "can I cancel it",
        "cancel it?",
        "maybe cancel",
        "not cancel",
        "dont cancel it",
        "don’t cancel it",  # a phone's apostrophe
        "I didn't say cancel",
        "keep my order",
        "I'd rather you didnt",
    ],
)
def test_a_doubtful_or_negated_request_is_not_a_yes(text: str) -> None:
    assert not is_clear_repeat(text, intent="cancel_order", requests=CANCEL)


@pytest.mark.parametrize(
    "text", ["keep the old address", "leave the address as it is", "i don’t want to change it"]
)
def test_keeping_the_address_is_not_a_yes_to_changing_it(text: str) -> None:
    """The classifier reads "keep the old address" as change_address, at 0.95."""
    assert not is_clear_repeat(text, intent="change_address", requests=ADDRESS)


@pytest.mark.parametrize("text", ["I want to cancel it", "cancel, I won the lottery elsewhere"])
def test_words_that_only_end_like_a_negation_do_not_block_a_yes(text: str) -> None:
    assert is_clear_repeat(text, intent="cancel_order", requests=CANCEL)


def test_a_request_for_another_change_is_not_a_yes_to_this_one() -> None:
    assert not is_clear_repeat("I want to return it", intent="return_request", requests=CANCEL)


@pytest.mark.parametrize(
    "text", ["change the address to Room 12, 5 Elm Street", "cancel order 100777 instead"]
)
def test_a_request_that_names_something_new_is_not_a_yes(text: str) -> None:
    """The pending change names its order and address; a new one may be a new request."""
    requests = frozenset({"change_address", "cancel_order"})
    intent = "change_address" if "address" in text else "cancel_order"
    assert not is_clear_repeat(text, intent=intent, requests=requests)
