from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, NotFound
from ..models import GlobalPermission, ProjectPermission, User
from .names import NAME_RE
from .permissions import GLOBAL_CODES, PROJECT_CODES


def list_all(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def get(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User '{user_id}' not found.")
    return user


def _check_codes(global_codes, organisation_permissions) -> None:
    for code in global_codes:
        if code not in GLOBAL_CODES:
            raise InvalidInput(
                f"global_permissions: '{code}' is not one of {list(GLOBAL_CODES)!r}",
                field="global_permissions",
            )
    for project, codes in organisation_permissions.items():
        for code in codes:
            if code not in PROJECT_CODES:
                raise InvalidInput(
                    f"organisation_permissions.{project}: '{code}' is not one of "
                    f"{list(PROJECT_CODES)!r}",
                    field="organisation_permissions",
                )


def create(session: Session, username: str, email: str, global_codes, organisation_permissions) -> User:
    if not NAME_RE.match(username):
        raise InvalidInput(
            f"Invalid username '{username}': use 1 to 256 characters from A-Z, a-z, 0-9, '_' and '-'.",
            field="username",
        )
    _check_codes(global_codes, organisation_permissions)
    taken = session.scalar(
        select(User).where(or_(User.username == username, User.email == email))
    )
    if taken is not None:
        what = "username" if taken.username == username else "email"
        raise Conflict(f"A user with this {what} already exists.")
    user = User(username=username, email=email)
    user.global_permission_rows = [GlobalPermission(code=c) for c in sorted(set(global_codes))]
    user.project_permission_rows = _project_rows(organisation_permissions)
    session.add(user)
    session.commit()
    return user


def _project_rows(organisation_permissions) -> list[ProjectPermission]:
    return [
        ProjectPermission(project=project, code=code)
        for project, codes in sorted(organisation_permissions.items())
        for code in sorted(set(codes))
    ]


def update(session: Session, user: User, global_codes=None, organisation_permissions=None) -> User:
    """Each given field replaces the stored value."""
    _check_codes(global_codes or [], organisation_permissions or {})
    if global_codes is not None:
        user.global_permission_rows = [GlobalPermission(code=c) for c in sorted(set(global_codes))]
    if organisation_permissions is not None:
        user.project_permission_rows = _project_rows(organisation_permissions)
    session.commit()
    return user


def set_global_permissions(session: Session, user: User, codes) -> User:
    return update(session, user, global_codes=sorted(set(user.global_permissions) | set(codes)))


def grant_project(session: Session, user_ids, project: str, codes) -> None:
    """Give each user the codes on a project (no commit: part of the caller's unit)."""
    for user_id in user_ids:
        user = session.get(User, user_id)
        held = set(user.organisation_permissions.get(project, []))
        for code in codes:
            if code not in held:
                user.project_permission_rows.append(ProjectPermission(project=project, code=code))


def delete(session: Session, user: User) -> None:
    session.delete(user)
    session.commit()
