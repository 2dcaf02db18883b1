"""Users, role bindings and API tokens.

A token is ``myd_<id>_<secret>``: the id finds the row, the secret (``secrets.token_urlsafe``,
256 bits) is checked against its SHA-256 digest, so the store never holds anything that
authenticates. The full token is returned once, at creation. A fast digest is right here: the
secret is random and high-entropy, so nothing is gained by a slow hash (which only slows guessing
of low-entropy secrets) and the server verifies a token on every request; tokens stored by earlier
releases with an Argon2id hash still verify (slowly). Passwords, which people choose, are the
other way round: Argon2id (salted, memory-hard), and a login exchanges one for a short-lived
session token, so the slow hash is paid once per login, not per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import GLOBAL_SCOPE, Actor, ApiToken, Permission, Role, RoleBinding, Scope, User
from modelyard.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from modelyard.governance.access import _provision, effective_role, guarded, require
from modelyard.governance.actors import ActorProvider, actor_provider
from modelyard.governance.audit import append
from modelyard.names import check_name
from modelyard.store.db import Database
from modelyard.store.repos import identity as identity_rows

TOKEN_PREFIX = "myd"
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
_DAY_MS = 86_400_000
_DIGEST_PREFIX = "sha256$"
SESSION_DESCRIPTION = "session (password login)"
SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()  # Argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters


def _digest(secret: str) -> str:
    return _DIGEST_PREFIX + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _secret_matches(stored: str, secret: str) -> bool:
    if stored.startswith(_DIGEST_PREFIX):
        return hmac.compare_digest(stored, _digest(secret))
    try:  # a token made before digests: Argon2id
        return bool(_hasher.verify(stored, secret))
    except (VerificationError, InvalidHashError):
        return False


MIN_TOKEN_DAYS = 1 / 86_400  # one second: shorter is no lifetime at all (1e-12 would be born expired)
MAX_TOKEN_DAYS = 36_500


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
                f"a token's lifetime must be a number of days from {MIN_TOKEN_DAYS:g} (one second) to "
                f"{MAX_TOKEN_DAYS:,} (100 years), or none for no expiry; got {expires_in_days!r}"
            )
        with guarded(self._db, self._clock) as conn:
            needed = Permission.READ if owner == actor.name else Permission.MANAGE
            require(conn, actor, needed, now_ms=now)
            if owner == actor.name and actor.via == "local":
                _provision(conn, actor, now_ms=now)  # a brand-new store's first change: its creator is admin
            _require_user(conn, owner)
            token_id = secrets.token_hex(8)
            secret = secrets.token_urlsafe(32)
            expires = None if expires_in_days is None else now + int(expires_in_days * _DAY_MS)
            token = ApiToken(id=token_id, user=owner, created_ms=now, expires_ms=expires, description=description)
            identity_rows.insert_token(conn, token, secret_hash=_digest(secret))
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
        expired or revoked (one message for all, so a caller learns nothing about which), and
        ``PermissionDenied`` if its user is disabled or holds no role anywhere (nothing they could
        ask for would be allowed, so they are turned away at the door)."""
        parts = token.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise Unauthenticated(f"not a modelyard token (they start with {TOKEN_PREFIX}_)")
        _, token_id, secret = parts
        now = self._clock.now_ms()
        with self._db.read() as conn:
            found = identity_rows.get_token(conn, token_id)
            user = identity_rows.get_user(conn, found[0].user) if found else None
            has_role = user is not None and identity_rows.has_binding(conn, user.name)
        if found is None or user is None:
            raise Unauthenticated("invalid, expired or revoked token")
        record, stored = found
        if not _secret_matches(stored, secret) or not record.active_at(now):
            raise Unauthenticated("invalid, expired or revoked token")
        if user.disabled:
            raise PermissionDenied(f"user {user.name!r} is disabled")
        if not has_role:
            raise PermissionDenied(
                f"user {user.name!r} holds no role; an admin grants one with 'modelyard users grant'"
            )
        return Actor(name=record.user, via="token")

    def set_password(self, password: str, *, user: str | None = None) -> None:
        """Set the password ``user`` (default: yourself) logs in to the server with; for another
        user, admin only. Stored as an Argon2id hash."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        actor = self._actor()
        owner = user or actor.name
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.READ if owner == actor.name else Permission.MANAGE, now_ms=now)
            _require_user(conn, owner)
            identity_rows.set_password_hash(conn, owner, _hasher.hash(password))
            append(conn, actor, "user.password_set", "user", owner, now_ms=now)

    def check_password(self, user: str, password: str) -> Actor:
        """The actor a user name and password stand for (Argon2id, slow on purpose);
        ``Unauthenticated`` with one message for an unknown user, no password or a wrong one."""
        with self._db.read() as conn:
            stored = identity_rows.get_password_hash(conn, user)
            found = identity_rows.get_user(conn, user)
            has_role = identity_rows.has_binding(conn, user)
        try:
            ok = stored is not None and found is not None and _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or found is None:
            raise Unauthenticated("wrong user name or password")
        if found.disabled:
            raise PermissionDenied(f"user {user!r} is disabled")
        if not has_role:
            raise PermissionDenied(f"user {user!r} holds no role; an admin grants one with 'modelyard users grant'")
        return Actor(name=user, via="password")

    def login(self, user: str, password: str) -> tuple[ApiToken, str]:
        """Exchange a user name and password for a session token (valid ``SESSION_HOURS``)."""
        self.check_password(user, password)
        now = self._clock.now_ms()
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = ApiToken(
            id=token_id, user=user, created_ms=now, expires_ms=now + SESSION_HOURS * 3_600_000,
            description=SESSION_DESCRIPTION,
        )  # fmt: skip
        with self._db.begin() as conn:
            identity_rows.insert_token(conn, token, secret_hash=_digest(secret))
            append(conn, Actor(name=user, via="password"), "session.created", "token", token_id, now_ms=now)
        return token, f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def _bind(self, conn: Connection, actor: Actor, user: str, role: Role, scope: Scope, now: int) -> RoleBinding:
        binding = RoleBinding(user=user, role=role, scope=scope, created_ms=now)
        identity_rows.bind(conn, binding)
        append(conn, actor, "role.granted", "user", user, {"role": role.label, "scope": str(scope)}, now_ms=now)
        return binding


def _require_user(conn: Connection, name: str) -> None:
    if identity_rows.get_user(conn, name) is None:
        raise NotFound(f"no user named {name!r}")
