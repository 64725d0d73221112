"""How the benchmark harness scores predictions and picks its out-of-scope thresholds.

Training and prediction are real Rasa runs (``make eval``); these are the readings of
their output that the report prints.
"""

from __future__ import annotations

from bot.evaluation import benchmarks
from bot.evaluation.benchmarks import OOS

TEST = [("book a flight", "travel"), ("pay my bill", "bill"), ("sing", OOS), ("dance", OOS)]


def test_scores_read_top_intent_and_what_the_bot_acts_on() -> None:
    predictions = [
        ("travel", "travel", 0.9),
        ("bill", "nlu_fallback", 0.4),
        (OOS, OOS, 0.8),
        ("travel", "nlu_fallback", 0.3),
    ]
    scores = benchmarks.score(TEST, predictions)

    assert scores["accuracy"] == 100.0
    assert scores["accuracy_acted"] == 50.0
    assert scores["oos_recall"] == 50.0
    assert scores["oos_recall_acted"] == 100.0
    assert scores["fallback_rate"] == 50.0


def test_the_recall_threshold_is_the_lowest_that_reaches_the_recall() -> None:
    predictions = [
        ("travel", "travel", 0.9),
        ("bill", "bill", 0.5),
        ("travel", "travel", 0.3),  # out of scope, unsure
        ("bill", "bill", 0.6),  # out of scope, sure of itself
    ]
    assert benchmarks.threshold_for_recall(TEST, predictions, 50.0) == 0.31
    assert benchmarks.threshold_for_recall(TEST, predictions, 100.0) == 0.61
    assert benchmarks.threshold_for_recall(TEST, predictions, 0.0) == 0.0


def test_the_tuned_threshold_balances_accuracy_and_recall() -> None:
    predictions = [
        ("travel", "travel", 0.9),
        ("bill", "bill", 0.5),
        ("travel", "travel", 0.3),
        ("bill", "bill", 0.6),
    ]
    # 0.31 catches one out-of-scope message and keeps both answers (50 + 100); catching
    # the other as well, above 0.6, costs an answer (100 + 50): the lower one is kept.
    assert benchmarks.tune_threshold(TEST, predictions) == 0.31
