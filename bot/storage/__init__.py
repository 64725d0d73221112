"""Shopdesk's own database and the demo shop's, with SQLAlchemy 2 and Alembic."""
