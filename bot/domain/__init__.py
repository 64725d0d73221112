"""Shopdesk's domain: plain dataclasses and rules, no framework imports."""
