from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models import GlobalPermission, ProjectPermission, User
from ..vocabulary import NAME_RE
from .permissions import GLOBAL_CODES, PROJECT_CODES, ROOT, Principal


@dataclass(frozen=True)
class UserView:
    """A user as one caller may see it: scoped callers see only the codes of the
    projects whose users they may read."""

    id: str
    username: str
    email: str
    created: datetime
    verified: bool
    global_permissions: list[str]
    organisation_permissions: dict[str, list[str]]

    @classmethod
    def of(cls, user: User, projects: set[str] | None = None) -> "UserView":
        codes = user.organisation_permissions
        if projects is not None:
            codes = {p: c for p, c in codes.items() if p in projects}
        return cls(user.id, user.username, user.email, user.created, user.verified,
                   user.global_permissions, codes)


def _visible_projects(principal: Principal) -> set[str] | None:
    """The projects whose users the caller may see; None: every project (tenant admins)."""
    if principal.is_tenant_admin:
        return None
    return principal.projects_with("users-read") | principal.projects_with("users-write")


def _sees(principal: Principal, user: User, projects: set[str] | None) -> bool:
    return projects is None or user.id == principal.user_id or bool(
        projects & set(user.organisation_permissions))


def view(principal: Principal, user: User) -> UserView:
    if user.id == principal.user_id:
        return UserView.of(user)
    return UserView.of(user, _visible_projects(principal))


def list_visible(session: Session, principal: Principal) -> list[UserView]:
    """Tenant admins see everyone; others only themselves and the users who share
    a project whose users they may read or manage, with those projects' codes."""
    principal.require_users_read()
    projects = _visible_projects(principal)
    rows = session.scalars(select(User).order_by(User.username))
    return [view(principal, user) for user in rows if _sees(principal, user, projects)]


def get_visible(session: Session, principal: Principal, user_id: str) -> User:
    """A user the caller may see. Unknown and invisible users answer the same 404,
    so a scoped caller cannot probe for ids."""
    user = session.get(User, user_id)
    if user is None or not _sees(principal, user, _visible_projects(principal)):
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


def _require_global_change(principal: Principal, before: set[str], after: set[str]) -> None:
    """Global codes are the tenant's: only tenant admins change them, and only
    root adds or removes root."""
    changed = before ^ after
    if not changed:
        return
    if not principal.is_tenant_admin:
        raise Forbidden("Changing global permissions needs 'tenant-admin'.")
    if ROOT in changed and not principal.is_root:
        raise Forbidden("Only a root user can grant or remove the 'root' permission.")


def _require_project_change(principal: Principal, before: dict, after: dict) -> None:
    """A project's codes change only by a holder of users-write on that project,
    who never grants a code it lacks there. Tenant admins administer every project."""
    if principal.is_tenant_admin:
        return
    for project in sorted(set(before) | set(after)):
        old, new = set(before.get(project, ())), set(after.get(project, ()))
        if old == new:
            continue
        if not principal.has("users-write", project):
            raise Forbidden(f"You do not have the 'users-write' permission on project '{project}'.")
        lacking = sorted(code for code in new - old if not principal.has(code, project))
        if lacking:
            raise Forbidden(f"You cannot grant {lacking} on project '{project}': you do not hold "
                            f"{'it' if len(lacking) == 1 else 'them'} there.")


def create(session: Session, username: str, email: str, global_codes, organisation_permissions,
           principal: Principal | None = None) -> User:
    """`principal` is the caller (None: the command line, which is trusted)."""
    if not NAME_RE.match(username):
        raise InvalidInput(
            f"Invalid username '{username}': use 1 to 256 characters from A-Z, a-z, 0-9, '_' and '-'.",
            field="username",
        )
    _check_codes(global_codes, organisation_permissions)
    organisation_permissions = {p: c for p, c in organisation_permissions.items() if c}
    if principal is not None:
        principal.require_users_write()
        _require_global_change(principal, set(), set(global_codes))
        _require_project_change(principal, {}, organisation_permissions)
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
    session.flush()
    return user


def _project_rows(organisation_permissions) -> list[ProjectPermission]:
    return [
        ProjectPermission(project=project, code=code)
        for project, codes in sorted(organisation_permissions.items())
        for code in sorted(set(codes))
    ]


def update(session: Session, principal: Principal, user: User, global_permissions=None,
           organisation_permissions=None) -> User:
    """Each given field replaces what the caller may manage of the stored value:
    a tenant admin replaces everything; a project-scoped users-write replaces the
    codes of the projects where it holds users-write and leaves the others alone."""
    principal.require_users_write()
    _check_codes(global_permissions or [], organisation_permissions or {})
    if global_permissions is not None:
        _require_global_change(principal, set(user.global_permissions), set(global_permissions))
    if organisation_permissions is not None:
        before = user.organisation_permissions
        after = {p: sorted(set(c)) for p, c in organisation_permissions.items() if c}
        if not principal.is_tenant_admin:
            managed = principal.projects_with("users-write")
            unmanaged = sorted(set(organisation_permissions) - managed)
            if unmanaged:
                raise Forbidden(f"You do not have the 'users-write' permission on project '{unmanaged[0]}'.")
            after = {**{p: c for p, c in before.items() if p not in managed}, **after}
        _require_project_change(principal, before, after)
    if global_permissions is not None:
        user.global_permission_rows = [GlobalPermission(code=c) for c in sorted(set(global_permissions))]
    if organisation_permissions is not None:
        user.project_permission_rows = _project_rows(after)
    session.flush()
    return user


def add_global_permissions(session: Session, user: User, codes) -> User:
    """Trusted callers only (server start-up): add global codes to a user."""
    held = set(user.global_permissions)
    for code in sorted(set(codes) - held):
        user.global_permission_rows.append(GlobalPermission(code=code))
    session.flush()
    return user


def grant_project(session: Session, user_ids, project: str, codes) -> None:
    """Give each user the codes on a project (no commit: part of the caller's unit)."""
    for user_id in user_ids:
        user = session.get(User, user_id)
        held = set(user.organisation_permissions.get(project, []))
        for code in codes:
            if code not in held:
                user.project_permission_rows.append(ProjectPermission(project=project, code=code))


def delete(session: Session, principal: Principal, user: User) -> None:
    """Deleting a user is the tenant's business; root users only by root, and
    never the last one (nobody could administer the server after it)."""
    if not principal.is_tenant_admin:
        raise Forbidden("Deleting users needs 'tenant-admin'.")
    if ROOT in user.global_permissions:
        if not principal.is_root:
            raise Forbidden("Only a root user can delete a root user.")
        roots = session.scalar(select(func.count()).select_from(GlobalPermission)
                               .where(GlobalPermission.code == ROOT))
        if roots <= 1:
            raise Conflict("This is the last root user; it cannot be deleted.")
    session.delete(user)
    session.flush()
