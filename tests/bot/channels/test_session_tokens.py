"""Web chat session tokens: only the gateway can make one that it accepts."""

from __future__ import annotations

import pytest

from bot.channels.session_tokens import issue_token, new_session_id, session_id_from


def test_a_token_carries_its_session_back() -> None:
    session_id = new_session_id()

    assert session_id_from("secret", issue_token("secret", session_id)) == session_id


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        "",
        "v1..",
        "v2.AAAAAAAAAAAAAAAAAAAAAAAA.sig",
        issue_token("another secret", "AAAAAAAAAAAAAAAAAAAAAAAA"),
        issue_token("secret", "AAAAAAAAAAAAAAAAAAAAAAAA")[:-1] + "x",
        "v1.short." + "a" * 43,
        "v1." + "A" * 300 + ".sig",
    ],
)
def test_anything_but_a_genuine_token_is_refused(token: object) -> None:
    assert session_id_from("secret", token) is None


def test_no_secret_means_no_tokens() -> None:
    with pytest.raises(ValueError, match="SHOPDESK_WEBCHAT_SECRET"):
        issue_token("", new_session_id())
    assert session_id_from("", "v1.AAAAAAAAAAAAAAAAAAAAAAAA.sig") is None
