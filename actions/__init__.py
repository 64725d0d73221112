"""Rasa actions: thin; read slots, call one domain service, return replies and events."""
