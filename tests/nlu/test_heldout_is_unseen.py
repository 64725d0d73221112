"""The held-out NLU test set stays held out: none of it is in the training data."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAINING_FILES = sorted((ROOT / "data" / "nlu").glob("*.yml"))
HELD_OUT_FILE = ROOT / "tests" / "nlu" / "test_set.yml"
MIN_HELD_OUT_PER_INTENT = 15

INTENTS = frozenset(
    {
        # customers
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "inform",
        "order_status",
        "delivery_delay",
        "return_request",
        "refund_request",
        "refund_status",
        "cancel_order",
        "change_address",
        "damaged_item",
        "ask_policy",
        "human_agent",
        "complain",
        "bot_challenge",
        "out_of_scope",
        "still_there",
        "react",
        "other_order",
        # ops staff
        "incident_status",
        "list_incidents",
        "queue_status",
        "declare_incident",
        "update_incident",
        "resolve_incident",
        # customers who get incident notices
        "stop_notices",
        "resume_notices",
    }
)
ENTITY_SHAPES = {
    "order_number": re.compile(r"1\d{5}"),
    "phone_last4": re.compile(r"\d{4}"),
    "email": re.compile(r"[A-Za-z0-9._%+-]+@example\.(?:com|org|net)"),
}

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<entity>[^)]+)\)")
_NOT_WORD = re.compile(r"[^\w\s]")


def normalise(example: str) -> str:
    """`Where's [100245](order_number)?` -> `where s 100245`: no markup, case or punctuation."""
    text = _ANNOTATION.sub(lambda match: match.group("text"), example)
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, example) pairs from one Rasa NLU YAML file, markup kept."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = []
    for block in document.get("nlu") or []:
        if "intent" not in block:
            continue  # regex, lookup and synonym blocks
        for line in block["examples"].splitlines():
            line = line.strip()
            if line:
                assert line.startswith("- "), f"{path.name}: not a list item: {line!r}"
                pairs.append((block["intent"], line[2:].strip()))
    return pairs


@pytest.fixture(scope="module")
def training() -> list[tuple[str, str]]:
    assert TRAINING_FILES, "no training data in data/nlu/"
    return [pair for path in TRAINING_FILES for pair in load_examples(path)]


@pytest.fixture(scope="module")
def held_out() -> list[tuple[str, str]]:
    return load_examples(HELD_OUT_FILE)


def test_no_held_out_example_is_in_the_training_data(
    training: list[tuple[str, str]], held_out: list[tuple[str, str]]
) -> None:
    trained_on = {normalise(example) for _, example in training}
    leaked = [
        f"{intent}: {example}" for intent, example in held_out if normalise(example) in trained_on
    ]
    assert not leaked, "held-out examples found in data/nlu/:\n" + "\n".join(leaked)


def test_every_intent_has_enough_held_out_examples(held_out: list[tuple[str, str]]) -> None:
    counts = Counter(intent for intent, _ in held_out)
    assert set(counts) == INTENTS
    too_few = {
        intent: counts[intent] for intent in INTENTS if counts[intent] < MIN_HELD_OUT_PER_INTENT
    }
    assert not too_few, f"fewer than {MIN_HELD_OUT_PER_INTENT} held-out examples: {too_few}"


def test_held_out_examples_are_distinct(held_out: list[tuple[str, str]]) -> None:
    counts = Counter(normalise(example) for _, example in held_out)
    assert not [text for text, count in counts.items() if count > 1]


def test_training_data_covers_every_intent_without_conflicts(
    training: list[tuple[str, str]],
) -> None:
    assert {intent for intent, _ in training} == INTENTS
    intents_of: dict[str, set[str]] = {}
    for intent, example in training:
        intents_of.setdefault(normalise(example), set()).add(intent)
    conflicts = {text: found for text, found in intents_of.items() if len(found) > 1}
    assert not conflicts, f"the same example under several intents: {conflicts}"


@pytest.mark.parametrize("source", ["training", "held_out"])
def test_entity_annotations_have_the_expected_shapes(
    source: str, request: pytest.FixtureRequest
) -> None:
    examples: list[tuple[str, str]] = request.getfixturevalue(source)
    wrong = [
        example
        for _, example in examples
        for match in _ANNOTATION.finditer(example)
        if match.group("entity") not in ENTITY_SHAPES
        or not ENTITY_SHAPES[match.group("entity")].fullmatch(match.group("text"))
    ]
    assert not wrong, f"bad entity annotations: {wrong}"
