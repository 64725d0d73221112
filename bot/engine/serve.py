"""`python -m bot.engine.serve [rasa run options]`: `rasa run` without a token in argv.

Rasa takes its HTTP API's token only as `--auth-token`, and a process's arguments
are readable by every user of the machine (`ps`, /proc/PID/cmdline). This reads
the token from the environment and hands it to Rasa inside the process, where the
argument list the system shows stays without it. It also keeps what the engine
creates (the SQLite tracker store) private to its owner, and installs the engine's
speed-ups to Rasa (bot/engine/runtime/speedups.py).

Runs in the engine's Python 3.10 venv: the standard library, Rasa and bot/engine.
"""

from __future__ import annotations

import os
import sys

TOKEN_VARIABLE = "SHOPDESK_RASA_AUTH_TOKEN"  # noqa: S105 (a variable's name)


def rasa_arguments(options: list[str], token: str) -> list[str]:
    if any(option.split("=", 1)[0] == "--auth-token" for option in options):
        raise SystemExit(f"give the token in {TOKEN_VARIABLE}, not as --auth-token")
    # Joined with "=": a token may start with "-" (token_urlsafe's alphabet has it), and
    # argparse would take a separate "-xyz" for an option and refuse to start.
    return ["rasa", "run", *options, f"--auth-token={token}"]


def main() -> None:
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        raise SystemExit(f"{TOKEN_VARIABLE} is not set; run `make setup`")
    os.umask(0o077)
    sys.argv = rasa_arguments(sys.argv[1:], token)
    from rasa.__main__ import main as rasa_main

    from bot.engine.runtime import speedups

    speedups.install()

    rasa_main()


if __name__ == "__main__":
    main()
