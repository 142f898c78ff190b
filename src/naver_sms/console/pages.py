"""The console's pages: status, history, the templates of each store (with the live preview), saving, the
versions and rollback, the one sample SMS. Names from a form or a URL are only ever looked up among the
configuration's own (a store id of stores.yaml, a template of templates.yaml, a kept version): nothing else is
read or written."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, abort, flash, redirect, render_template, request, url_for

from naver_sms.config.loader import load_config
from naver_sms.config.models import AppConfig
from naver_sms.config_source import local_version
from naver_sms.console.context import Console
from naver_sms.console.editing import check, normalise, preview, sample_booking, with_text
from naver_sms.domain.booking import Store
from naver_sms.errors import ConfigError, ConfigErrors, NaverSmsError
from naver_sms.owner.config_store import ConfigStoreError, check_version, digest, materialise
from naver_sms.owner.ledger import CHANNELS, STATUSES, Filters, ledger
from naver_sms.owner.status import status
from naver_sms.ports import SmsMessage
from naver_sms.rules.templates import render
from naver_sms.wiring import compile_config


def _current(console: Console) -> tuple[dict[str, bytes], AppConfig | None, list[str]]:
    """The configuration as it is now: its files, loaded (None when invalid) and its errors."""
    files = console.store.read()
    with tempfile.TemporaryDirectory(prefix="naver-sms-console-") as tmp:
        try:
            return files, load_config(materialise(files, Path(tmp))), []
        except ConfigError as exc:
            errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
            return files, None, [e.render().replace(tmp + "/", "") for e in errors]


def _store_templates(config: AppConfig, store: Store) -> list[tuple[str, str]]:
    """(role, template) of the store's own templates, then the ones every store shares."""
    own = [(role, name) for role, name in store.templates.items() if name in config.sms_templates]
    store_specific = {name for s in config.stores.values() for name in s.templates.values()}
    shared = [("every store", name) for name in config.sms_templates if name not in store_specific]
    return own + shared


def register(app: Flask, console: Console) -> None:
    @app.get("/")
    def home() -> Any:
        files, cfg, errors = _current(console)
        shown = None
        problems = list(errors)
        state = console.open_state() if console.open_state is not None else None
        if state is not None:
            with tempfile.TemporaryDirectory(prefix="naver-sms-console-") as tmp:
                directory = materialise(files, Path(tmp))
                rules: tuple[Any, ...] = ()
                if cfg is not None:
                    try:
                        _, _, rules = compile_config(directory)
                    except NaverSmsError:
                        rules = ()
                where = console.store.location
                version = local_version(directory)
                shown = status(
                    state, cfg, rules, console.clock(), config_dir=directory, version=version, location=where
                )
        return render_template("home.html", status=shown, problems=problems, location=console.store.location)

    @app.get("/history")
    def history() -> Any:
        _, cfg, _ = _current(console)
        args = request.args
        try:
            since = date.fromisoformat(args["since"]) if args.get("since") else None
            until = date.fromisoformat(args["until"]) if args.get("until") else None
        except ValueError:
            abort(400, "dates are YYYY-MM-DD")
        pick = {k: frozenset(v for v in args.getlist(k) if v) for k in ("store", "rule", "status", "channel")}
        filters = Filters(since, until, pick["store"], pick["rule"], pick["status"], pick["channel"])
        entries = []
        state = console.open_state() if console.open_state is not None else None
        if state is not None:
            entries = ledger(state.repo.records(), cfg, (), console.clock(), filters)[:500]
        return render_template(
            "history.html", entries=entries, args=args, statuses=STATUSES, channels=CHANNELS, config=cfg
        )

    @app.get("/templates")
    def stores() -> Any:
        _, cfg, errors = _current(console)
        return render_template("stores.html", config=cfg, errors=errors)

    def _store(cfg: AppConfig | None, store_id: str) -> Store:
        if cfg is None or store_id not in cfg.stores:
            abort(404)
        return cfg.stores[store_id]

    @app.get("/templates/<store_id>")
    def templates(store_id: str) -> Any:
        _, cfg, errors = _current(console)
        store = _store(cfg, store_id)
        assert cfg is not None
        return _templates_page(cfg, store, errors=errors)

    def _templates_page(
        cfg: AppConfig,
        store: Store,
        *,
        edited: dict[str, str] | None = None,
        errors: list[str] | None = None,
        fixtures: list[Any] | None = None,
    ) -> str:
        now = console.clock()
        items = []
        for role, name in _store_templates(cfg, store):
            tpl = cfg.sms_templates[name]
            text = (edited or {}).get(name, tpl.text)
            items.append(
                {
                    "role": role,
                    "name": name,
                    "tpl": tpl,
                    "text": text,
                    "preview": preview(text, tpl.type, store, now),
                }
            )
        return render_template(
            "templates.html",
            store=store,
            items=items,
            errors=errors or [],
            fixtures=fixtures or [],
            live=console.sample_sms is not None and console.owner_phone is not None,
        )

    @app.post("/api/preview")
    def api_preview() -> Any:
        body = request.get_json(silent=True) or {}
        _, cfg, _ = _current(console)
        store = _store(cfg, str(body.get("store", "")))
        assert cfg is not None
        name = str(body.get("template", ""))
        if name not in cfg.sms_templates:
            abort(404)
        return preview(
            str(body.get("text", "")), cfg.sms_templates[name].type, store, console.clock()
        ).to_json()

    @app.post("/templates/<store_id>/<name>")
    def save(store_id: str, name: str) -> Any:
        files, cfg, _ = _current(console)
        store = _store(cfg, store_id)
        assert cfg is not None
        if name not in cfg.sms_templates:
            abort(404)
        text = normalise(request.form.get("text", ""))
        try:
            candidate = {**files, "templates.yaml": with_text(files["templates.yaml"], name, text)}
        except ConfigError as exc:
            return _templates_page(cfg, store, edited={name: text}, errors=[exc.render()]), 422
        checked = check(candidate)
        if not checked.ok:
            failed = [f for f in checked.fixtures if not f[1]]
            return _templates_page(
                cfg, store, edited={name: text}, errors=checked.errors, fixtures=failed
            ), 422
        if digest(candidate) == digest(files):
            flash(f"{name}: nothing changed")
            return redirect(url_for("templates", store_id=store_id))
        version = console.store.save(
            {"templates.yaml": candidate["templates.yaml"]}, f"{name} edited in the console"
        )
        flash(f"{name} saved: version {version.id} (rules check and {len(checked.fixtures)} fixtures passed)")
        return redirect(url_for("templates", store_id=store_id))

    @app.get("/versions")
    def versions() -> Any:
        files = console.store.read()
        return render_template("versions.html", versions=console.store.versions(), current=digest(files))

    @app.post("/versions/<version>/restore")
    def restore(version: str) -> Any:
        try:
            files = console.store.read_version(check_version(version))
        except ConfigStoreError:
            abort(404)
        checked = check(files)
        if not checked.ok:
            return render_template(
                "error.html", message="this version does not pass the checks now", errors=checked.errors
            ), 422
        kept = console.store.save(files, f"rolled back to {version}")
        flash(f"rolled back to {version} (kept as {kept.id})")
        return redirect(url_for("versions"))

    @app.post("/sample")
    def sample() -> Any:
        _, cfg, _ = _current(console)
        store = _store(cfg, request.form.get("store", ""))
        assert cfg is not None
        name = request.form.get("template", "")
        if name not in cfg.sms_templates:
            abort(404)
        if console.sample_sms is None or console.owner_phone is None:
            abort(
                403, "samples go out only from a live console with the owner's number (NAVER_SMS_OWNER_PHONE)"
            )
        if request.form.get("confirm") != "yes":
            flash("not sent: tick the box to confirm the sample SMS to your own number")
            return redirect(url_for("templates", store_id=store.id))
        tpl = cfg.sms_templates[name]
        variables = {
            "booking": sample_booking(store, console.clock()),
            "store": store,
            "now": console.clock(),
            "rule": "sample",
        }
        text = render(tpl.text, variables)
        shown = preview(tpl.text, tpl.type, store, console.clock())
        message = SmsMessage(
            to=console.owner_phone,
            sender=cfg.sender_for(store, store_specific=name in store.templates.values()),
            type=shown.type,
            subject=render(tpl.subject if tpl.subject is not None else cfg.subject, variables),
            content=text,
            content_type=tpl.content_type,
        )
        try:
            console.sample_sms.send(message)
        except NaverSmsError as exc:
            flash(f"the sample was not sent: {exc}")
        else:
            flash(f"a sample of {name} was sent to your number")
        return redirect(url_for("templates", store_id=store.id))
