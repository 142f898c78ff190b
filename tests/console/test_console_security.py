"""The console's security properties: no access without the token, CSRF-safe forms, only the configuration's
own files can be written (never a path outside its directory), template input cannot escape the sandbox, the
Host header must be this machine's, and it refuses to listen beyond localhost without an explicit flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app as cli_app
from naver_sms.console.app import create_app
from naver_sms.console.context import MAX_LOGIN_FAILURES
from naver_sms.owner.config_store import ConfigStoreError, DirectoryConfigStore
from tests.console.conftest import TOKEN, World, csrf, login


def _files(root: Path) -> set[Path]:
    """Every file under `root` (SQLite's own -wal/-shm files come and go with its checkpoints)."""
    return {p for p in root.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


@pytest.mark.parametrize("path", ["/", "/history", "/templates", "/templates/1000002", "/versions"])
def test_no_page_opens_without_the_token(world: World, path: str) -> None:
    client = world.app.test_client()
    answer = client.get(path)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")


def test_no_form_or_endpoint_acts_without_the_token(world: World) -> None:
    client = world.app.test_client()
    before = (world.config_dir / "templates.yaml").read_bytes()
    assert client.post("/api/preview", json={"text": "x"}).status_code == 401
    for path in ("/templates/1000002/guide_busan", "/versions/20261126T184000-00000000/restore", "/sample"):
        assert client.post(path, data={"text": "x"}).status_code in (302, 400)
    assert (world.config_dir / "templates.yaml").read_bytes() == before


def test_a_wrong_token_is_refused_and_the_logins_stop_after_too_many(world: World) -> None:
    client = world.app.test_client()
    for _ in range(MAX_LOGIN_FAILURES):
        page = client.post("/login", data={"token": "x" * 20, "csrf_token": csrf(client, "/login")})
        assert page.status_code == 401
    page = client.post("/login", data={"token": TOKEN, "csrf_token": csrf(client, "/login")})
    assert page.status_code == 401 and "too many wrong tokens" in page.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(world: World) -> None:
    client = world.app.test_client()
    login(client)
    text = "[예시스튜디오 부산점] 바뀐 안내"
    refused = client.post("/templates/1000002/guide_busan", data={"text": text})
    assert refused.status_code == 400 and "did not come from here" in refused.get_data(as_text=True)
    assert (
        client.post(
            "/api/preview", json={"store": "1000002", "template": "guide_busan", "text": "x"}
        ).status_code
        == 400
    )
    assert text not in (world.config_dir / "templates.yaml").read_text(encoding="utf-8")


def test_no_path_outside_the_configuration_can_be_written(world: World, tmp_path: Path) -> None:
    client = world.app.test_client()
    login(client)
    token = csrf(client, "/templates/1000002")
    before = _files(tmp_path)
    for path in (
        "/templates/1000002/..%2F..%2Fevil",
        "/templates/..%2F..%2Fevil/guide_busan",
        "/templates/1000002/evil",
        "/versions/..%2F..%2Fevil/restore",
        "/versions/20261126T184000-deadbeef/restore",
    ):
        assert client.post(path, data={"text": "x", "csrf_token": token}).status_code == 404, path
    assert _files(tmp_path) == before
    store = DirectoryConfigStore(world.config_dir)
    for name in (
        "../evil.yaml",
        "/etc/passwd",
        "tests/../../evil.yaml",
        ".versions/x/rules.yaml",
        "secrets.yaml",
    ):
        with pytest.raises(ConfigStoreError):
            store.save({name: b"x"}, "attack")
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ booking.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ store.templates.update({'guide': 'x'}) }}",
        "{% for i in range(10**9) %}{% endfor %}",
    ],
)
def test_template_input_cannot_escape_the_sandbox(world: World, text: str) -> None:
    client = world.app.test_client()
    login(client)
    token = csrf(client, "/templates/1000002")
    answer = client.post(
        "/api/preview",
        json={"store": "1000002", "template": "guide_busan", "text": text},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert answer["error"] and answer["text"] == ""
    saved = client.post("/templates/1000002/guide_busan", data={"text": text, "csrf_token": token})
    assert saved.status_code == 422
    assert "__class__" not in (world.config_dir / "templates.yaml").read_text(encoding="utf-8")


def test_pages_escape_what_was_typed_and_run_only_their_own_script(world: World) -> None:
    client = world.app.test_client()
    login(client)
    token = csrf(client, "/templates/1000002")
    page = client.post(
        "/templates/1000002/guide_busan",
        data={"text": "<script>x()</script>" + "가" * 1001, "csrf_token": token},
    )
    html = page.get_data(as_text=True)
    assert (
        page.status_code == 422 and "&lt;script&gt;x()&lt;/script&gt;" in html and "<script>x()" not in html
    )
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"


def test_a_host_header_of_another_name_is_refused(world: World) -> None:
    client = world.app.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "127.0.0.1:8765"}).status_code == 200


def test_the_console_refuses_to_listen_beyond_localhost_without_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app, ["console", "--host", "0.0.0.0", "--db", str(tmp_path / "s.sqlite3")]
    )
    assert result.exit_code == 2 and "refusing to listen on 0.0.0.0" in result.output
    assert "--allow-remote" in result.output


def test_the_console_never_starts_with_a_short_token(world: World) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="at least 16"):
        create_app(replace(world.console, token=""))
    with pytest.raises(ValueError, match="at least 16"):
        create_app(replace(world.console, token="short"))


def test_a_sample_is_sent_only_live_and_confirmed_to_the_owners_number(world: World) -> None:
    from dataclasses import replace

    from tests.world import RecordingSms

    client = world.app.test_client()
    login(client)
    token = csrf(client, "/templates/1000002")
    form = {"store": "1000002", "template": "guide_busan", "csrf_token": token, "confirm": "yes"}
    assert client.post("/sample", data=form).status_code == 403  # not live
    sms = RecordingSms()
    live = create_app(replace(world.console, sample_sms=sms, owner_phone="01099990000"))
    client = live.test_client()
    login(client)
    token = csrf(client, "/templates/1000002")
    client.post("/sample", data={**form, "csrf_token": token, "confirm": ""})
    assert sms.sent == []  # not confirmed
    client.post("/sample", data={**form, "csrf_token": token})
    assert [m.to for m in sms.sent] == ["01099990000"] and "[예시스튜디오 부산점]" in sms.sent[0].content
