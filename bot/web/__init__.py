"""The gateway's HTTP side: FastAPI app, chat API and health check."""
