"""Who is acting and what their role lets them write.

Three roles, each with the rights of the one before: a viewer browses and exports; a researcher also logs
outcomes and runs assessments (and so recomputes recommendations); an admin also edits tasks, datasets,
costs and the rulebook, and administers the catalog (demo, maintenance, copies, restores). The checks sit
in the catalog's write methods, so the app, the CLI and the Python API obey the same rules.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from strategy.errors import PermissionDenied, StrategyError

ROLES = ("viewer", "researcher", "admin")
ACTOR_ENV = "STRATEGY_USER"
ROLE_ENV = "STRATEGY_ROLE"

# What each kind of write needs.
NEEDS = {
    "log outcomes": "researcher",
    "assess datasets": "researcher",
    "recompute recommendations": "researcher",
    "edit tasks": "admin",
    "edit datasets": "admin",
    "edit costs": "admin",
    "edit the rulebook": "admin",
    "administer the catalog": "admin",
}


def current_actor() -> str:
    """Who is writing when nobody signed in: $STRATEGY_USER if set, else the OS user."""
    explicit = os.environ.get(ACTOR_ENV, "").strip()
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def check_role(role: str, where: str = "role") -> str:
    cleaned = str(role).strip().lower()
    if cleaned not in ROLES:
        raise StrategyError(f"Unknown {where} {role!r}: use one of {', '.join(ROLES)}.")
    return cleaned


@dataclass(frozen=True)
class Identity:
    """A person acting on the catalog: their name (an email when signed in) and their role."""

    user: str
    role: str
    signed_in: bool = False

    def can(self, permission: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(NEEDS[permission])

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                f"{self.user} is a {self.role} and cannot {permission}: that needs the {NEEDS[permission]} role. "
                "Nothing was written.")


def local_identity() -> Identity:
    """Single-user local mode: the OS user (or $STRATEGY_USER), an admin unless $STRATEGY_ROLE says otherwise."""
    return Identity(current_actor(), check_role(os.environ.get(ROLE_ENV) or "admin", f"${ROLE_ENV}"))


class RoleMap:
    """Roles for signed-in people, from a mapping of role → entries. An entry is an email
    (``ana@lab.org``), a domain (``@lab.org``) or ``*`` (everyone signed in). A person gets the highest role
    any entry grants; nobody matched has no access."""

    def __init__(self, entries: Mapping[str, Iterable[str]]):
        self.entries: dict[str, list[str]] = {}
        for role, listed in entries.items():
            if isinstance(listed, str):
                listed = [listed]
            self.entries[check_role(role, "role in the roles mapping")] = [e.strip().lower() for e in listed]

    def role_for(self, email: str | None) -> str | None:
        if not email:
            return None
        email = email.strip().lower()
        domain = "@" + email.rsplit("@", 1)[-1] if "@" in email else None
        for role in reversed(ROLES):
            for entry in self.entries.get(role, []):
                if entry == "*" or entry == email or (domain is not None and entry == domain):
                    return role
        return None
