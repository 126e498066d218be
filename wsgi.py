"""WSGI entry point: `gunicorn wsgi:app`. Settings come from REINFER_CLONE_* variables."""
from reinfer_clone.app import create_app

app = create_app()
