"""The console's Flask app and what keeps it safe (docs/owner.md, "The console: security"):

- never open without a token: every page but the login needs a session that typed it (compared in constant
  time); the session cookie is signed with a secret made for this process, HttpOnly and SameSite=Strict;
- every form and the preview endpoint carry a CSRF token (Flask-WTF's CSRFProtect), bound to the session;
- the Host header must be one the console was bound to (`TRUSTED_HOSTS`: a page of another site cannot
  reach it through DNS rebinding);
- pages are HTML-escaped (Jinja2's autoescape), run only the console's own script (a Content-Security-Policy
  of `'self'`), and cannot be framed;
- it never sends a message, except the one sample SMS to the owner's own number, live and confirmed.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from naver_sms.console.context import MAX_LOGIN_FAILURES, Console
from naver_sms.console.pages import register


def create_app(console: Console) -> Flask:
    if not console.token or len(console.token) < 16:
        raise ValueError("the console needs a token of at least 16 characters")
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"), static_folder="static")
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="naver_sms_console",
        WTF_CSRF_TIME_LIMIT=None,  # bound to the session, which lives as long as this process
        TRUSTED_HOSTS=list(console.hosts),
        MAX_CONTENT_LENGTH=256 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["naver_sms_console"] = console

    @app.before_request
    def need_login() -> Any:
        if request.routing_exception is not None:  # an untrusted Host, an unknown path: Flask refuses it
            return None
        if request.endpoint in ("login", "static") or session.get("auth") is True:
            return None
        if request.path.startswith("/api/"):
            return {"error": "log in first"}, 401
        return redirect(url_for("login"))

    CSRFProtect(app)  # after the login check: without the token, nothing else is even looked at

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html", message=f"the form expired or did not come from here: {exc.description}"
        ), 400

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = None
        if request.method == "POST":
            typed = request.form.get("token", "")
            if console.failures >= MAX_LOGIN_FAILURES:
                error = "too many wrong tokens: restart the console"
            elif hmac.compare_digest(typed.encode(), console.token.encode()):
                session.clear()
                session["auth"] = True
                return redirect(url_for("home"))
            else:
                console.failures += 1
                error = "wrong token"
        return render_template("login.html", error=error), 401 if error else 200

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("login"))

    register(app, console)
    return app
