"""Users, passwords, API tokens and sign-in limits: the rules, without the pages."""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..descriptions import ValidationError
from ..extensions import db
from ..models import ROLES, ApiToken, LoginFailure, User, utcnow

log = logging.getLogger(__name__)

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
PASSWORD_MIN = 10
# Failed sign-ins allowed per window, per username and per client address;
# enough for typing mistakes, far too few for guessing.
WINDOW = timedelta(minutes=15)
FAILURES_PER_USER = 5
FAILURES_PER_ADDRESS = 20
TOKEN_PREFIX = "vcsweb_"
# Compared against when the username is unknown, so an unknown name costs
# the same time as a wrong password and cannot be told apart by timing.
_dummy_hashes: dict[str, str] = {}


def _hash(password: str) -> str:
    return generate_password_hash(
        password, method=current_app.config["VCSWEB_PASSWORD_METHOD"]
    )


def _dummy_hash() -> str:
    method = current_app.config["VCSWEB_PASSWORD_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = _hash("not the password of anyone")
    return _dummy_hashes[method]


class SignInRefused(Exception):
    """Wrong username or password, or a disabled account: one message for all."""

    def __init__(self):
        super().__init__("Wrong username or password.")


class TooManyAttempts(Exception):
    """Sign-in blocked for a while after repeated failures."""

    def __init__(self, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed sign-ins. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class NewToken:
    """A token just made: the secret is shown once and never stored."""

    secret: str
    token: ApiToken


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def find(username: str) -> User | None:
    return db.session.scalars(select(User).where(User.username == username)).first()


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def create_user(
    username: str, password: str, role: str, display_name: str = "", email: str = ""
) -> User:
    """Create a user, or raise ValidationError saying what is wrong."""
    username = username.strip()
    if not USERNAME.match(username):
        raise ValidationError(
            "Usernames are 1 to 80 letters, digits, dots, dashes or underscores."
        )
    _check_role(role)
    _check_password(password)
    # "Bob" and "bob" would be two accounts that people cannot tell apart.
    same = select(User.username).where(func.lower(User.username) == username.lower())
    existing = db.session.scalars(same).first()
    if existing is not None:
        raise ValidationError(f"The username {existing} is taken.")
    user = User(
        username=username,
        display_name=_clean(display_name),
        email=_clean(email),
        password_hash=_hash(password),
        role=role,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError(f"The username {username} is taken.") from None
    log.info("user %s created with role %s", username, role)
    return user


def set_role(user: User, role: str) -> None:
    _check_role(role)
    user.role = role
    db.session.commit()
    log.info("user %s is now %s", user.username, role)


def set_active(user: User, active: bool) -> None:
    user.active = active
    db.session.commit()
    log.info("user %s %s", user.username, "enabled" if active else "disabled")


def set_password(user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = _hash(password)
    db.session.commit()


def authenticate(username: str, password: str, address: str) -> User:
    """Return the user these credentials belong to, or raise.

    Raises TooManyAttempts while the username or the address has failed too
    often lately, and SignInRefused otherwise, with one message for an
    unknown name, a wrong password and a disabled account.
    """
    keys = (f"user:{username.lower()}"[:200], f"addr:{address}"[:200])
    _check_limits(*keys)
    user = find(username.strip())
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not (user and ok and user.active):
        now = utcnow()
        db.session.add_all(LoginFailure(key=k, at=now) for k in keys)
        db.session.commit()
        log.warning("failed sign-in for %r from %s", username[:80], address)
        raise SignInRefused()
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
    user.last_login_at = utcnow()
    db.session.commit()
    log.info("user %s signed in from %s", user.username, address)
    return user


def _check_limits(user_key: str, address_key: str) -> None:
    since = utcnow() - WINDOW
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    for key, limit in (
        (user_key, FAILURES_PER_USER),
        (address_key, FAILURES_PER_ADDRESS),
    ):
        times = list(
            db.session.scalars(
                select(LoginFailure.at)
                .where(LoginFailure.key == key, LoginFailure.at >= since)
                .order_by(LoginFailure.at)
            )
        )
        if len(times) >= limit:
            oldest = times[-limit]
            if oldest.tzinfo is None:
                # SQLite hands back the UTC time it stored without its zone.
                oldest = oldest.replace(tzinfo=UTC)
            wait = int((oldest + WINDOW - utcnow()).total_seconds()) + 1
            db.session.commit()
            raise TooManyAttempts(max(1, wait))
    db.session.commit()


# API tokens ---------------------------------------------------------------


def create_token(user: User, name: str) -> NewToken:
    name = _clean(name)[:100] or "token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:12]
    )
    db.session.add(token)
    db.session.commit()
    log.info("user %s created API token %s", user.username, token.prefix)
    return NewToken(secret, token)


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> bool:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at:
        return False
    token.revoked_at = utcnow()
    db.session.commit()
    log.info("user %s revoked API token %s", user.username, token.prefix)
    return True


def user_for_token(secret: str) -> User | None:
    """Return the active user a live token belongs to, or None."""
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _digest(secret))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    return user


def _digest(secret: str) -> str:
    # Tokens are 256 random bits, so a plain digest is enough; a slow hash
    # is for passwords people choose.
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(f"Roles are {', '.join(ROLES)}.")


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise ValidationError(f"Passwords need at least {PASSWORD_MIN} characters.")


def _clean(value: str) -> str:
    """Drop angle brackets and line breaks that Git identities cannot hold.

    A control character becomes a space, so a name on two lines stays two words.
    """
    spaced = re.sub(r"[\x00-\x1f\x7f]", " ", re.sub(r"[<>]", "", value or ""))
    return " ".join(spaced.split())
