"""API tokens: shown once, stored as a SHA-256 digest, expiring and revocable; passwords as Argon2id."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from modelyard.clock import FixedClock
from modelyard.errors import PermissionDenied, Unauthenticated
from tests.governance.conftest import ADMIN, World


def test_token_is_stored_hashed_and_authenticates(sqlite_world: World) -> None:
    sqlite_world.user("bob", "contributor")
    token, secret = sqlite_world.as_user("bob").identity.create_token(description="ci")
    with sqlite_world.backend.db.read() as conn:
        stored = conn.execute(text("SELECT secret_hash FROM api_tokens")).scalars().all()
    raw = secret.split("_", 2)[2]
    assert len(stored) == 1 and stored[0].startswith("sha256$") and raw not in stored[0]
    assert sqlite_world.as_user(ADMIN).identity.authenticate(secret).name == "bob"
    with pytest.raises(Unauthenticated):
        sqlite_world.as_user(ADMIN).identity.authenticate(secret[:-2] + "xx")
    assert token.user == "bob" and token.expires_ms is not None


def test_expired_and_revoked_tokens_are_refused(sqlite_world: World) -> None:
    sqlite_world.user("bob", "contributor")
    clock = FixedClock(start_ms=sqlite_world.backend.db and 1_800_000_000_000)
    bob = sqlite_world.as_user("bob", clock)
    _, short = bob.identity.create_token(expires_in_days=1)
    token, other = bob.identity.create_token(expires_in_days=30)
    assert bob.identity.authenticate(short).name == "bob"
    clock.advance(2 * 86_400_000)
    with pytest.raises(Unauthenticated, match="expired or revoked"):
        bob.identity.authenticate(short)
    assert bob.identity.authenticate(other).name == "bob"
    bob.identity.revoke_token(token.id)
    with pytest.raises(Unauthenticated):
        bob.identity.authenticate(other)


def test_only_admins_make_tokens_for_others(sqlite_world: World) -> None:
    sqlite_world.user("bob", "approver")
    sqlite_world.user("carol", "viewer")
    with pytest.raises(PermissionDenied, match="'manage'"):
        sqlite_world.as_user("bob").identity.create_token(user="carol")
    _, secret = sqlite_world.as_user(ADMIN).identity.create_token(user="carol")
    assert sqlite_world.as_user("bob").identity.authenticate(secret).name == "carol"


def test_token_for_unknown_user_is_never_provisioned(sqlite_world: World) -> None:
    from modelyard.domain.governance import Actor

    sqlite_world.train()
    ghost = sqlite_world.as_user(ADMIN)
    ghost.stages._actor = lambda: Actor(name="ghost", via="token")  # what a server would pass
    with pytest.raises(Unauthenticated, match="unknown user 'ghost'"):
        ghost.stages.transition("churn", 1, "Staging")


def test_a_token_stored_with_argon2_by_an_earlier_release_still_authenticates(sqlite_world: World) -> None:
    from argon2 import PasswordHasher

    sqlite_world.user("bob", "contributor")
    _, secret = sqlite_world.as_user("bob").identity.create_token()
    legacy = PasswordHasher().hash(secret.split("_", 2)[2])
    with sqlite_world.backend.db.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET secret_hash = :h"), {"h": legacy})
    assert sqlite_world.as_user(ADMIN).identity.authenticate(secret).name == "bob"
    with pytest.raises(Unauthenticated):
        sqlite_world.as_user(ADMIN).identity.authenticate(secret[:-2] + "xx")


def test_a_user_without_any_role_or_disabled_is_turned_away(sqlite_world: World) -> None:
    sqlite_world.user("bob", "viewer")
    _, secret = sqlite_world.as_user(ADMIN).identity.create_token(user="bob")
    sqlite_world.as_user(ADMIN).identity.revoke("bob")
    with pytest.raises(PermissionDenied, match="holds no role"):
        sqlite_world.as_user(ADMIN).identity.authenticate(secret)


def test_password_login_gives_a_session_token_and_wrong_passwords_are_refused(sqlite_world: World) -> None:
    sqlite_world.user("bob", "contributor")
    admin = sqlite_world.as_user(ADMIN).identity
    with pytest.raises(Unauthenticated, match="wrong user name or password"):
        admin.login("bob", "whatever-it-is")  # no password set yet
    with pytest.raises(PermissionDenied):
        sqlite_world.as_user("bob").identity.set_password("long enough!", user=ADMIN)
    admin.set_password("correct horse", user="bob")
    with sqlite_world.backend.db.read() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name = 'bob'")).scalar_one()
    assert stored.startswith("$argon2id$")
    token, secret = admin.login("bob", "correct horse")
    assert token.user == "bob" and admin.authenticate(secret).name == "bob"
    with pytest.raises(Unauthenticated):
        admin.login("bob", "wrong horse")
    with pytest.raises(Unauthenticated):
        admin.login("nobody", "correct horse")
