"""The shop's order and logistics systems, behind protocols."""
