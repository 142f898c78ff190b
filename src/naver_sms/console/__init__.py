"""`naver-sms console`: the owner's local web app (docs/owner.md, "The console") - status and history, every
template per store with a live preview, saving only a configuration that passes `rules check` and the
fixtures, its versions and rollback. Flask, served by waitress on 127.0.0.1.

    app.py      the app: the token login, CSRF-safe forms (Flask-WTF), trusted hosts, security headers
    pages.py    the pages and the preview endpoint
    editing.py  preview in the sandbox, the YAML change, the checks of a candidate configuration
"""
