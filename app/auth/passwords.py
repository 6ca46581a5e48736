"""Password and token hashing.

Passwords use argon2id (argon2-cffi: memory-hard, the current OWASP choice, and
it handles salts and parameter upgrades for us). Access tokens are long random
secrets, so a fast SHA-256 is enough to store them: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "dmt_"


def use_fast_hashing_for_tests() -> None:
    """Cheap argon2 parameters, for test suites only: the real cost is the point in production."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Same cost as a real check, so timing does not reveal which users exist.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
