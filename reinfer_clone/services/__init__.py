"""Business rules and transactions. Plain functions taking a SQLAlchemy session;
nothing here imports Flask."""
