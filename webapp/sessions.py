"""The session cookie: encrypted, not only signed, and told apart when it cannot be read.

A person's answers live only in this cookie, so nothing that sees the cookie on its way (a
proxy's log, a browser extension) may read them. The cookie is a Fernet token (AES-128-CBC with
an HMAC-SHA256 over it, from the `cryptography` library): encrypted and authenticated, and
carrying the time it was written, which gives the idle limit. Keys come from SECRET_KEY through
HKDF, so every server sharing the secret reads every cookie; rotate by moving the old secret to
SECRET_KEY_FALLBACKS (old cookies are still read, new ones are written with the new key).

Flask's own session silently starts empty when a cookie is tampered with or too old. The
screener needs to know, so it can tell the person their answers were reset; the staff area
needs to know whose session ran out, so what they were saving is kept (`expired_sid`).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, Request, Response
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSession, SessionInterface

KEY_INFO = b"trialcheck session cookie v1"
KEY_SALT = b"trialcheck-session"


class ScreeningSession(SecureCookieSession):
    # True when the browser sent a session cookie that was tampered with or expired.
    unreadable = False
    # A staff session id read from a cookie that had expired (never used to sign anyone in).
    expired_sid: str | None = None


def cookie_key(secret: str | bytes) -> bytes:
    """A Fernet key derived from one secret (HKDF-SHA256, fixed salt and purpose)."""
    material = secret.encode() if isinstance(secret, str) else secret
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=KEY_SALT, info=KEY_INFO).derive(material)
    return base64.urlsafe_b64encode(derived)


class EncryptedSessionInterface(SessionInterface):
    session_class = ScreeningSession
    serializer = TaggedJSONSerializer()

    def _cipher(self, app: Flask) -> MultiFernet | None:
        secrets = [app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or [])]
        if not secrets[0]:
            return None
        cached = app.extensions.get("session_cipher")
        if cached is None or cached[0] != secrets:
            cached = (secrets, MultiFernet([Fernet(cookie_key(s)) for s in secrets if s]))
            app.extensions["session_cipher"] = cached
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> ScreeningSession | None:
        cipher = self._cipher(app)
        if cipher is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = cipher.decrypt(cookie.encode("ascii"), ttl=max_age)
            return self.session_class(self.serializer.loads(data.decode("utf-8")))
        except (InvalidToken, UnicodeError, ValueError, TypeError):
            session = self.session_class()
            session.unreadable = True
            session.expired_sid = self._expired_sid(cipher, cookie)
            return session

    def _expired_sid(self, cipher: MultiFernet, cookie: str) -> str | None:
        """The staff session id in a cookie that is genuine but too old, else None."""
        try:
            data: Any = self.serializer.loads(cipher.decrypt(cookie.encode("ascii")).decode("utf-8"))
        except (InvalidToken, UnicodeError, ValueError, TypeError):
            return None
        sid = data.get("sid") if isinstance(data, dict) else None
        return sid if isinstance(sid, str) else None

    def save_session(self, app: Flask, session: ScreeningSession, response: Response) -> None:  # type: ignore[override]
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified or session.unreadable:
                response.delete_cookie(name, domain=domain, path=path, secure=secure,
                                       samesite=samesite, httponly=httponly)
                response.vary.add("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        cipher = self._cipher(app)
        assert cipher is not None  # open_session gave a session, so there is a key
        value = cipher.encrypt(self.serializer.dumps(dict(session)).encode("utf-8")).decode("ascii")
        response.set_cookie(name, value, expires=self.get_expiration_time(app, session), httponly=httponly,
                            domain=domain, path=path, secure=secure, samesite=samesite)
        response.vary.add("Cookie")

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        from flask import request

        # Secure whenever the page itself came over HTTPS (directly or via a trusted proxy).
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)
