"""The demo shop: a deterministic stand-in for a real shop's order and logistics systems."""
