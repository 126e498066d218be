"""Permission codes and the rules that combine them."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Forbidden

PROJECT_CODES = (
    "sources-read",
    "sources-admin",
    "sources-add-comments",
    "sources-read-sensitive",
    "sources-translate",
    "voc-readonly",
    "voc",
    "datasets-review",
    "datasets-admin",
    "datasets-export",
    "model-admin",
    "streams-read",
    "streams-write",
    "streams-admin",
    "streams-consume",
    "users-read",
    "users-write",
)

ROOT = "root"
TENANT_ADMIN = "tenant-admin"
GLOBAL_CODES = (
    ROOT,
    TENANT_ADMIN,
    # Known to the client; stored and echoed, no effect here.
    "debug",
    "demo",
    "subscriptions-read",
    "artefacts-read",
    "dialog",
    "support-tenant-admin",
    "support-users-write",
    "deployment-quota-write",
    "tenant-quota-write",
)


@dataclass
class Principal:
    """What the caller may do, computed once per request from its user."""

    user_id: str
    global_codes: frozenset[str]
    project_codes: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, user) -> "Principal":
        return cls(
            user_id=user.id,
            global_codes=frozenset(user.global_permissions),
            project_codes={p: frozenset(c) for p, c in user.organisation_permissions.items()},
        )

    @property
    def is_root(self) -> bool:
        return ROOT in self.global_codes

    @property
    def is_tenant_admin(self) -> bool:
        return self.is_root or TENANT_ADMIN in self.global_codes

    def has(self, code: str, project: str) -> bool:
        return self.is_root or code in self.project_codes.get(project, ())

    def has_anywhere(self, code: str) -> bool:
        return self.is_root or any(code in codes for codes in self.project_codes.values())

    def sees_project(self, project: str) -> bool:
        return self.is_tenant_admin or bool(self.project_codes.get(project))

    def require(self, code: str, project: str) -> None:
        if not self.has(code, project):
            raise Forbidden(f"You do not have the '{code}' permission on project '{project}'.")

    def require_any(self, codes: tuple[str, ...], project: str) -> None:
        """Any one of `codes` will do; the refusal names the last, the one a
        caller without any is usually meant to have."""
        if not any(self.has(code, project) for code in codes):
            self.require(codes[-1], project)

    def require_tenant_admin(self) -> None:
        if not self.is_tenant_admin:
            raise Forbidden("You do not have the 'tenant-admin' permission.")

    # Users -----------------------------------------------------------------
    def projects_with(self, code: str) -> set[str]:
        return {project for project, codes in self.project_codes.items() if code in codes}

    def can_read_users(self) -> bool:
        return self.is_tenant_admin or self.has_anywhere("users-read")

    def require_users_read(self) -> None:
        if not self.can_read_users():
            raise Forbidden("You do not have the 'users-read' permission.")

    def require_users_write(self) -> None:
        if not (self.is_tenant_admin or self.has_anywhere("users-write")):
            raise Forbidden("You do not have the 'users-write' permission.")
