"""`python -m bot.web`: the gateway on the configured loopback address."""

from __future__ import annotations

import logging

import uvicorn

from bot.settings import get_settings
from bot.web.app import create_app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO, and Rasa's API takes its token in the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port)


if __name__ == "__main__":
    main()
