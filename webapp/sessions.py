"""The signed-cookie session, told apart when a cookie was sent but could not be read.

Flask's own session silently starts empty when a cookie is tampered with or too old. The
screener needs to know, so it can tell the person their answers were reset.
"""

from __future__ import annotations

from flask import request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature


class ScreeningSession(SecureCookieSession):
    # True when the browser sent a session cookie that was tampered with or expired.
    unreadable = False


class ScreeningSessionInterface(SecureCookieSessionInterface):
    session_class = ScreeningSession

    def open_session(self, app, request):  # type: ignore[override]
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return self.session_class(serializer.loads(cookie, max_age=max_age))
        except BadSignature:  # also raised for an expired signature
            session = self.session_class()
            session.unreadable = True
            return session

    def get_cookie_secure(self, app):  # type: ignore[override]
        # Secure whenever the page itself came over HTTPS (directly or via a trusted proxy).
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)
