"""Alembic revisions: frozen history; never import reinfer_clone.services here."""
