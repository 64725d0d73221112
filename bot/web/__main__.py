"""`python -m bot.web`: the gateway on the configured loopback address."""

from __future__ import annotations

import logging

import uvicorn

from bot.settings import get_settings
from bot.storage.local_files import keep_files_private
from bot.web.app import create_app


def main() -> None:
    keep_files_private()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO, and Rasa's API takes its token in the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    proxies = settings.trusted_proxies.strip()
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default, and every
        # client of a local install comes from there: only a configured proxy is believed.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        ws_max_size=settings.max_websocket_frame_bytes,
        server_header=False,
    )


if __name__ == "__main__":
    main()
