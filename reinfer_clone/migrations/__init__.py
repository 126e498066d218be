"""Alembic history (a package so that the wheel ships it)."""
