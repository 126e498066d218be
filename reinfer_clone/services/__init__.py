"""Business rules and transactions. Plain functions taking a SQLAlchemy session;
nothing here imports Flask."""

# The audit log and quota checks hook every session (services/audit.py): import
# them with any service, so the CLI and the worker are covered as the API is.
from . import audit  # noqa: E402,F401
