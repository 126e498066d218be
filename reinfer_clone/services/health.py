"""Readiness: can this process serve requests? (for load balancers and orchestrators)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import migrate


@dataclass
class Readiness:
    ready: bool
    message: str
    current: tuple[str, ...] = ()
    head: tuple[str, ...] = ()


def readiness(session: Session) -> Readiness:
    """The database answers and its schema is at the migrations' head."""
    head = migrate.head_revisions()
    try:
        session.execute(text("SELECT 1"))
        current = migrate.current_revisions(session.connection())
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return Readiness(False, f"The database is unavailable: {reason}", head=head)
    finally:
        session.rollback()  # read-only; end the transaction so no snapshot is held
    if current != head:
        at = ", ".join(current) or "no revision"
        return Readiness(False, f"The database schema is at {at}, the code expects "
                                f"{', '.join(head)}: run `reinfer-clone db upgrade`.", current, head)
    return Readiness(True, "ready", current, head)
