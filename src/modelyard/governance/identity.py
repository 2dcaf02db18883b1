"""Users, role bindings and API tokens.

A token is ``myd_<id>_<secret>``: the id finds the row, the secret (``secrets.token_urlsafe``,
256 bits) is checked against its Argon2id hash (argon2-cffi; salted, memory-hard), so the store
never holds anything that authenticates. The full token is returned once, at creation.
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import GLOBAL_SCOPE, Actor, ApiToken, Permission, Role, RoleBinding, Scope, User
from modelyard.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from modelyard.governance.access import effective_role, guarded, require
from modelyard.governance.actors import ActorProvider, actor_provider
from modelyard.governance.audit import append
from modelyard.names import check_name
from modelyard.store.db import Database
from modelyard.store.repos import identity as identity_rows

TOKEN_PREFIX = "myd"
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
_DAY_MS = 86_400_000
MIN_TOKEN_DAYS = 1 / 1440
MAX_TOKEN_DAYS = 36_500
_hasher = PasswordHasher()


class IdentityService:
    """Manage users, their roles and tokens; turn a token into an ``Actor``."""

    def __init__(self, db: Database, actor: ActorProvider | str | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._actor = actor_provider(actor)
        self._clock = clock

    def whoami(self) -> tuple[Actor, Role | None]:
        """The current actor (provisioned if new, in embedded mode) and their global role."""
        actor = self._actor()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.READ, now_ms=self._clock.now_ms())
            return actor, effective_role(conn, actor.name)

    def create_user(self, name: str, *, role: Role | str | None = Role.VIEWER) -> User:
        """Create a user, optionally with a global role; admin only."""
        check_name("user name", name, pattern=_USER_NAME, allowed="letters, digits and ._@- only, at most 256")
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.MANAGE, now_ms=now)
            if identity_rows.get_user(conn, name) is not None:
                raise AlreadyExists(f"user {name!r} already exists")
            identity_rows.insert_user(conn, name, now_ms=now)
            append(conn, actor, "user.created", "user", name, now_ms=now)
            if role is not None:
                self._bind(conn, actor, name, Role.parse(role), GLOBAL_SCOPE, now)
            found = identity_rows.get_user(conn, name)
            assert found is not None
            return found

    def list_users(self) -> list[tuple[User, list[RoleBinding]]]:
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.READ, now_ms=self._clock.now_ms())
            return [(u, identity_rows.bindings(conn, u.name)) for u in identity_rows.list_users(conn)]

    def grant(self, user: str, role: Role | str, scope: Scope = GLOBAL_SCOPE) -> RoleBinding:
        """Give ``user`` ``role`` on ``scope`` (replacing their role there); admin of that scope only."""
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.MANAGE, scope, now_ms=now)
            _require_user(conn, user)
            return self._bind(conn, actor, user, Role.parse(role), scope, now)

    def revoke(self, user: str, scope: Scope = GLOBAL_SCOPE) -> None:
        """Remove ``user``'s role on ``scope``."""
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.MANAGE, scope, now_ms=now)
            if not identity_rows.unbind(conn, user, scope):
                raise NotFound(f"user {user!r} has no role on {scope}")
            append(conn, actor, "role.revoked", "user", user, {"scope": str(scope)}, now_ms=now)

    def create_token(
        self, *, user: str | None = None, expires_in_days: float | None = 90, description: str = ""
    ) -> tuple[ApiToken, str]:
        """A new token for ``user`` (default: yourself); returns the record and the secret, shown once.

        Any known user may create tokens for themselves; creating one for someone else is admin only.
        """
        actor = self._actor()
        owner = user or actor.name
        now = self._clock.now_ms()
        if expires_in_days is not None and not (
            isinstance(expires_in_days, int | float)
            and not isinstance(expires_in_days, bool)
            and MIN_TOKEN_DAYS <= expires_in_days <= MAX_TOKEN_DAYS  # NaN fails both comparisons
        ):
            raise InvalidInput(
                f"a token's lifetime must be a number of days from {MIN_TOKEN_DAYS:g} (one minute) to "
                f"{MAX_TOKEN_DAYS:,} (100 years), or none for no expiry; got {expires_in_days!r}"
            )
        with guarded(self._db, self._clock) as conn:
            needed = Permission.READ if owner == actor.name else Permission.MANAGE
            require(conn, actor, needed, now_ms=now)
            _require_user(conn, owner)
            token_id = secrets.token_hex(8)
            secret = secrets.token_urlsafe(32)
            expires = None if expires_in_days is None else now + int(expires_in_days * _DAY_MS)
            token = ApiToken(id=token_id, user=owner, created_ms=now, expires_ms=expires, description=description)
            identity_rows.insert_token(conn, token, secret_hash=_hasher.hash(secret))
            append(conn, actor, "token.created", "token", token_id, {"user": owner, "expires_ms": expires}, now_ms=now)
            return token, f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        actor = self._actor()
        with guarded(self._db, self._clock) as conn:
            owner = user or actor.name
            needed = Permission.READ if owner == actor.name else Permission.MANAGE
            require(conn, actor, needed, now_ms=self._clock.now_ms())
            return identity_rows.list_tokens(conn, owner)

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token at once; its owner or an admin."""
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            found = identity_rows.get_token(conn, token_id)
            if found is None:
                raise NotFound(f"no token {token_id!r}")
            token, _ = found
            needed = Permission.READ if token.user == actor.name else Permission.MANAGE
            require(conn, actor, needed, now_ms=now)
            if not identity_rows.revoke_token(conn, token_id, now_ms=now):
                raise NotFound(f"token {token_id!r} is already revoked")
            append(conn, actor, "token.revoked", "token", token_id, {"user": token.user}, now_ms=now)

    def authenticate(self, token: str) -> Actor:
        """The actor a token stands for; ``Unauthenticated`` if it is malformed, unknown, wrong,
        expired or revoked (one message for all, so a caller learns nothing about which)."""
        parts = token.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise Unauthenticated(f"not a modelyard token (they start with {TOKEN_PREFIX}_)")
        _, token_id, secret = parts
        now = self._clock.now_ms()
        with self._db.read() as conn:
            found = identity_rows.get_token(conn, token_id)
            user = identity_rows.get_user(conn, found[0].user) if found else None
        if found is None or user is None:
            raise Unauthenticated("invalid, expired or revoked token")
        record, stored = found
        try:
            _hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            raise Unauthenticated("invalid, expired or revoked token") from None
        if not record.active_at(now) or user.disabled:
            raise Unauthenticated("invalid, expired or revoked token")
        return Actor(name=record.user, via="token")

    def _bind(self, conn: Connection, actor: Actor, user: str, role: Role, scope: Scope, now: int) -> RoleBinding:
        binding = RoleBinding(user=user, role=role, scope=scope, created_ms=now)
        identity_rows.bind(conn, binding)
        append(conn, actor, "role.granted", "user", user, {"role": role.label, "scope": str(scope)}, now_ms=now)
        return binding


def _require_user(conn: Connection, name: str) -> None:
    if identity_rows.get_user(conn, name) is None:
        raise NotFound(f"no user named {name!r}")
