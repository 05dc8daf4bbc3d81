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
from enum import StrEnum

from strategy.errors import PermissionDenied, StrategyError

ROLES = ("viewer", "researcher", "admin")
ACTOR_ENV = "STRATEGY_USER"
ROLE_ENV = "STRATEGY_ROLE"

class Permission(StrEnum):
    """What a kind of write needs; the value is how messages name it ("cannot log outcomes")."""

    LOG_OUTCOMES = "log outcomes"
    ASSESS_DATASETS = "assess datasets"
    RECOMPUTE_RECOMMENDATIONS = "recompute recommendations"
    EDIT_TASKS = "edit tasks"
    EDIT_DATASETS = "edit datasets"
    EDIT_COSTS = "edit costs"
    EDIT_THE_RULEBOOK = "edit the rulebook"
    ADMINISTER_THE_CATALOG = "administer the catalog"


# The least role each permission needs.
NEEDS = {
    Permission.LOG_OUTCOMES: "researcher",
    Permission.ASSESS_DATASETS: "researcher",
    Permission.RECOMPUTE_RECOMMENDATIONS: "researcher",
    Permission.EDIT_TASKS: "admin",
    Permission.EDIT_DATASETS: "admin",
    Permission.EDIT_COSTS: "admin",
    Permission.EDIT_THE_RULEBOOK: "admin",
    Permission.ADMINISTER_THE_CATALOG: "admin",
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

    def can(self, permission: Permission | str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(NEEDS[Permission(permission)])

    def require(self, permission: Permission | str) -> None:
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


# ----------------------------------------------------------------------------- sign-in settings
class SignInBroken(StrategyError):
    """Sign-in is configured but cannot work as configured: the app must stop, never fall back to local mode."""


# Streamlit's OIDC login with the default provider (st.login() without a provider name) needs all of these in
# [auth]; without one of them nobody can sign in, so the app refuses to start rather than guess.
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


def sign_in_roles(auth, roles) -> RoleMap:
    """Check the [auth] and [roles] sections of secrets.toml and return the role mapping; raise SignInBroken
    naming what is missing or malformed. ``auth`` is None when there is no [auth] section (then a [roles]
    section alone is a half-finished set-up, refused too)."""
    if auth is None:
        raise SignInBroken("secrets.toml has a [roles] mapping but no [auth] section: add the [auth] settings "
                           "(see the README, Access) or remove [roles] to run in local mode.")
    if not isinstance(auth, Mapping):
        raise SignInBroken("secrets.toml's 'auth' must be a section ([auth]) holding the sign-in settings.")
    missing = [key for key in AUTH_KEYS if not isinstance(auth.get(key), str) or not auth.get(key).strip()]
    if missing:
        raise SignInBroken(f"secrets.toml's [auth] section lacks {', '.join(missing)}: nobody can sign in "
                           "until it has them.")
    if roles is None:
        roles = {}
    if not isinstance(roles, Mapping):
        raise SignInBroken("secrets.toml's 'roles' must be a section ([roles]) mapping a role to a list of emails.")
    for role, listed in roles.items():
        entries = [listed] if isinstance(listed, str) else listed
        if not isinstance(entries, (list, tuple)) or not all(isinstance(e, str) for e in entries):
            raise SignInBroken(f"secrets.toml's [roles] entry {role!r} must be a list of emails, domains or '*'.")
    try:
        return RoleMap(roles)
    except StrategyError as error:
        raise SignInBroken(f"secrets.toml's [roles] section: {error}") from None


def email_unverified(claims: Mapping) -> bool:
    """True when the provider says the email is not verified (``email_verified`` false; some providers send
    the word as text). A provider that does not send the claim is trusted with the email it gives."""
    verified = claims.get("email_verified")
    return verified is False or (isinstance(verified, str) and verified.strip().lower() == "false")
