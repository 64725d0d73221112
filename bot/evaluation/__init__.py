"""Offline evaluation of the NLU pipeline (runs in .venv-rasa; imports nothing from bot/)."""
