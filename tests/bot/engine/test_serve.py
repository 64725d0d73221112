"""The engine's start-up arguments: the token reaches Rasa whatever its first character."""

from __future__ import annotations

import argparse

import pytest

from bot.engine.serve import rasa_arguments


def _rasa_run_parser() -> argparse.ArgumentParser:
    """The part of `rasa run`'s parser (argparse) that reads these options."""
    parser = argparse.ArgumentParser(prog="rasa run")
    parser.add_argument("-p", "--port", type=int)
    parser.add_argument("-t", "--auth-token", type=str)
    parser.add_argument("--enable-api", action="store_true")
    return parser


@pytest.mark.parametrize("token", ["-Jx3kQ", "--looks-like-an-option", "plain_token"])
def test_a_token_starting_with_a_dash_is_still_the_token(token: str) -> None:
    arguments = rasa_arguments(["--port", "5005", "--enable-api"], token)

    assert arguments[:2] == ["rasa", "run"]
    parsed = _rasa_run_parser().parse_args(arguments[2:])
    assert (parsed.auth_token, parsed.port, parsed.enable_api) == (token, 5005, True)
