"""Access control, security headers and admission limits through the app."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.conftest import FakeTranscriber, Harness
from transcriber.api import create_app
from transcriber.api.state import app_state
from transcriber.config import Settings

KEY = "k3y-for-tests-0123456789"
OTHER = "another-key-abcdefghijkl"


@pytest.fixture
def secured(settings: Settings) -> Iterator[Harness]:
    settings.api_keys = SecretStr(f"ci:{KEY}, second:{OTHER}")
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        yield Harness(client=client, services=app_state(app), engine=FakeTranscriber())


PROTECTED = [
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/uploads"),
    ("GET", "/api/v1/settings"),
    ("POST", "/api/v1/reset"),
    ("POST", "/api/v1/create_task"),
    ("POST", "/api/v1/upload"),
    ("POST", "/api/v1/upload_raw"),
    ("GET", "/api/v1/status/x"),
    ("GET", "/export/x.txt"),
    ("GET", "/api/v1/uploads/x/audio"),
    ("GET", "/api/v1/worker/tasks/x/audio"),
    ("GET", "/api/v1/events"),
    ("GET", "/metrics"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_routes_need_a_key(secured: Harness, method: str, path: str) -> None:
    response = secured.client.request(method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = secured.client.request(method, path, headers={"Authorization": "Bearer wrong-key-000000000"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "the API key is not valid"


def test_bearer_and_x_api_key_both_work(secured: Harness, tone_wav: Path) -> None:
    assert secured.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert secured.client.get("/api/v1/tasks", headers={"X-API-Key": OTHER}).status_code == 200
    upload = secured.client.post(
        "/api/v1/upload_raw?name=a.wav", content=tone_wav.read_bytes(), headers={"X-API-Key": KEY}
    )
    assert upload.status_code == 200


def test_open_routes_and_trimmed_health(secured: Harness) -> None:
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert secured.client.get(path).status_code == 200, path
    public = secured.client.get("/health").json()
    assert set(public) == {"status", "ready"}
    full = secured.client.get("/health", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert "queue" in full
    assert "workers" in full
    assert set(secured.client.get("/health/ready").json()) == {"status", "ready"}


def test_browser_session_cookie(secured: Harness) -> None:
    client = secured.client
    assert client.get("/api/v1/session").json() == {"auth_required": True, "authenticated": False}
    assert client.post("/api/v1/session", json={"key": "nope-nope-nope-nope"}).status_code == 401
    opened = client.post("/api/v1/session", json={"key": KEY})
    assert opened.status_code == 200
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert client.get("/api/v1/tasks").status_code == 200  # the cookie now travels with every request
    assert client.get("/api/v1/session").json()["authenticated"] is True
    client.delete("/api/v1/session")
    assert client.get("/api/v1/tasks").status_code == 401


def test_keys_file_rotation_without_restart(settings: Settings, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"# team keys\naccounting:{KEY}\n", encoding="utf-8")
    settings.api_keys_file = keys_file
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        app_state(app).keyring.recheck_seconds = 0
        assert client.get("/api/v1/tasks", headers={"X-API-Key": KEY}).status_code == 200
        keys_file.write_text(f"accounting:{OTHER}\n", encoding="utf-8")
        os.utime(keys_file, (1, 1))  # a different modification time, whatever the clock's resolution
        assert client.get("/api/v1/tasks", headers={"X-API-Key": KEY}).status_code == 401
        assert client.get("/api/v1/tasks", headers={"X-API-Key": OTHER}).status_code == 200


def test_short_keys_are_refused_at_start(settings: Settings) -> None:
    settings.api_keys = SecretStr("short")
    with pytest.raises(ValueError, match="at least 16"):
        create_app(settings, environ={})


def test_keys_never_reach_the_logs(secured: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        secured.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {KEY}"})
        secured.client.get("/api/v1/tasks", headers={"Authorization": "Bearer wrong-key-000000000"})
        secured.client.post("/api/v1/session", json={"key": KEY})
    assert KEY not in caplog.text
    assert "wrong-key" not in caplog.text


def test_without_keys_everything_is_open(harness: Harness) -> None:
    assert harness.client.get("/api/v1/tasks").status_code == 200
    assert harness.client.get("/api/v1/session").json() == {"auth_required": False, "authenticated": True}
    assert "queue" in harness.client.get("/health").json()


def test_security_headers(harness: Harness) -> None:
    for path in ("/", "/api/v1/tasks", "/health"):
        headers = harness.client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
    docs = harness.client.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert "http://" not in docs.text
    assert "https://" not in docs.text.replace("https://fastapi.tiangolo.com", "")


def test_cors_off_by_default_and_configurable(settings: Settings) -> None:
    preflight = {"Origin": "https://erp.example", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(settings, environ={})) as client:
        response = client.options("/api/v1/create_task", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    settings.cors_origins = ["https://erp.example"]
    with TestClient(create_app(settings, environ={})) as client:
        response = client.options("/api/v1/create_task", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://erp.example"


def test_queue_limit_gives_429_with_retry_after(harness: Harness, tone_wav: Path) -> None:
    harness.services.settings.limits.max_pending_tasks = 2
    upload = harness.upload(tone_wav)
    for _ in range(2):
        assert harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).status_code == 200
    full = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]})
    assert full.status_code == 429
    assert int(full.headers["retry-after"]) > 0
    assert full.json()["code"] == "queue_full"
    one_call = harness.client.post("/api/v1/transcribe?name=a.wav", content=tone_wav.read_bytes())
    assert one_call.status_code == 429
    assert len(harness.client.get("/api/v1/uploads").json()["files"]) == 1


def test_low_disk_gives_507_and_leaves_nothing(harness: Harness, tone_wav: Path) -> None:
    harness.services.settings.limits.min_free_disk_bytes = 1 << 60
    for response in (
        harness.client.post("/api/v1/upload_raw?name=a.wav", content=tone_wav.read_bytes()),
        harness.client.post("/api/v1/upload", files={"file": ("a.wav", tone_wav.read_bytes())}),
    ):
        assert response.status_code == 507
        assert response.json()["code"] == "insufficient_storage"
    assert list(harness.services.storage.incoming_dir.iterdir()) == []
    assert harness.client.get("/api/v1/uploads").json()["files"] == []


def test_recording_longer_than_the_limit_is_413(harness: Harness, tone_wav: Path) -> None:
    harness.services.settings.limits.max_duration_seconds = 1.0
    response = harness.client.post("/api/v1/upload_raw?name=long.wav", content=tone_wav.read_bytes())
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert list(harness.services.storage.root.glob("*.wav")) == []
    assert list(harness.services.storage.incoming_dir.iterdir()) == []


@pytest.mark.parametrize(
    "bad", ["ключ-на-кириллице-1234", "with space inside 123456", 'quote"inside-1234567']
)
def test_keys_must_be_plain_ascii(settings: Settings, bad: str) -> None:
    settings.api_keys = SecretStr(bad)
    with pytest.raises(ValueError, match="printable ASCII"):
        create_app(settings, environ={})


def test_session_with_an_exotic_key_is_a_clean_401(secured: Harness) -> None:
    response = secured.client.post("/api/v1/session", json={"key": "Ā" * 20})
    assert response.status_code == 401


def test_session_cookie_is_an_opaque_token_not_the_key(secured: Harness) -> None:
    client = secured.client
    client.post("/api/v1/session", json={"key": KEY})
    token = client.cookies["transcriber_session"]
    assert KEY not in token
    assert len(token) >= 40
    with secured.services.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT token_hash, key_name FROM ui_sessions").all()
    assert [row.key_name for row in rows] == ["ci"]
    assert rows[0].token_hash != token
    assert KEY not in rows[0].token_hash


def test_logout_revokes_the_session_even_for_a_replayed_cookie(secured: Harness) -> None:
    client = secured.client
    client.post("/api/v1/session", json={"key": KEY})
    token = client.cookies["transcriber_session"]
    assert client.get("/api/v1/tasks").status_code == 200
    logout = client.delete("/api/v1/session")
    assert (
        'transcriber_session=""' in logout.headers["set-cookie"]
        or "max-age=0" in logout.headers["set-cookie"].lower()
    )
    client.cookies.clear()
    replayed = client.get("/api/v1/tasks", headers={"Cookie": f"transcriber_session={token}"})
    assert replayed.status_code == 401


def test_session_ends_when_its_key_is_removed(settings: Settings, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"accounting:{KEY}\nops:{OTHER}\n", encoding="utf-8")
    settings.api_keys_file = keys_file
    app = create_app(settings, environ={})
    with TestClient(app) as client:
        app_state(app).keyring.recheck_seconds = 0
        assert client.post("/api/v1/session", json={"key": KEY}).status_code == 200
        assert client.get("/api/v1/tasks").status_code == 200
        keys_file.write_text(f"ops:{OTHER}\n", encoding="utf-8")
        os.utime(keys_file, (1, 1))
        assert client.get("/api/v1/tasks").status_code == 401
        # The same name with a new secret is a different key: the old session does not carry over.
        keys_file.write_text(f"accounting:{'n' * 24}\nops:{OTHER}\n", encoding="utf-8")
        os.utime(keys_file, (2, 2))
        assert client.get("/api/v1/tasks").status_code == 401


def test_expired_session_is_refused(secured: Harness) -> None:
    client = secured.client
    opened = client.post("/api/v1/session", json={"key": KEY})
    assert f"max-age={12 * 3600}" in opened.headers["set-cookie"].lower()
    with secured.services.store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ui_sessions SET expires_at = '2000-01-01 00:00:00.000000'")
    assert client.get("/api/v1/tasks").status_code == 401


def test_wrong_keys_are_throttled_per_address(secured: Harness) -> None:
    client = secured.client
    for _ in range(10):
        assert client.get("/api/v1/tasks", headers={"X-API-Key": "wrong-key-000000000"}).status_code == 401
    held = client.get("/api/v1/tasks", headers={"X-API-Key": "wrong-key-000000000"})
    assert held.status_code == 429
    assert held.json()["code"] == "too_many_attempts"
    assert 1 <= int(held.headers["retry-after"]) <= 60
    # While held back, even the right key is not tried (else a right guess would stand out) ...
    assert client.get("/api/v1/tasks", headers={"X-API-Key": KEY}).status_code == 429
    assert client.post("/api/v1/session", json={"key": KEY}).status_code == 429
    assert client.get("/health", headers={"X-API-Key": KEY}).status_code == 429
    # ... but another address is not affected.
    with TestClient(secured.client.app, client=("10.0.0.7", 5000)) as other:
        other.headers["host"] = "testserver"
        assert other.get("/api/v1/tasks", headers={"X-API-Key": KEY}).status_code == 200


def test_wrong_keys_at_the_sign_in_and_on_health_count_too(secured: Harness) -> None:
    client = secured.client
    for _ in range(5):
        assert client.post("/api/v1/session", json={"key": "nope-nope-nope-nope"}).status_code == 401
    for _ in range(5):
        assert "queue" not in client.get("/health", headers={"X-API-Key": "nope-nope-nope-n"}).json()
    assert client.post("/api/v1/session", json={"key": "nope-nope-nope-nope"}).status_code == 429


def test_unknown_host_names_are_refused_without_keys(settings: Settings) -> None:
    settings.allowed_hosts = []
    with TestClient(create_app(settings, environ={}), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/v1/tasks").status_code == 200
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "stt.localhost"):
            assert client.get("/api/v1/tasks", headers={"Host": host}).status_code == 200, host
        rebound = client.get("/api/v1/tasks", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400
        assert rebound.json()["code"] == "host_not_allowed"
        assert "TRANSCRIBE_ALLOWED_HOSTS" in rebound.json()["detail"]
        assert client.post("/api/v1/reset", headers={"Host": "attacker.example"}).status_code == 400
    settings.allowed_hosts = ["stt.example.local"]
    with TestClient(create_app(settings, environ={}), base_url="http://stt.example.local") as client:
        assert client.get("/api/v1/tasks").status_code == 200
        assert client.get("/api/v1/tasks", headers={"Host": "other.example"}).status_code == 400


def test_with_keys_any_host_name_is_answered_unless_listed(settings: Settings) -> None:
    settings.allowed_hosts = []
    settings.api_keys = SecretStr(f"ci:{KEY}")
    with TestClient(create_app(settings, environ={}), base_url="http://stt.corp.example") as client:
        assert client.get("/api/v1/tasks", headers={"X-API-Key": KEY}).status_code == 200


CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},
    {"Origin": "http://testserver:8080"},
]


@pytest.mark.parametrize("mode", ["harness", "secured"])
@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_changes_are_refused_in_both_modes(
    request: pytest.FixtureRequest, mode: str, headers: dict[str, str]
) -> None:
    client = request.getfixturevalue(mode).client
    auth = {"X-API-Key": KEY} if mode == "secured" else {}
    for method, path in (
        ("POST", "/api/v1/reset"),
        ("POST", "/api/v1/create_task"),
        ("DELETE", "/api/v1/tasks/x"),
    ):
        response = client.request(method, path, headers={**auth, **headers})
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "cross_site_request"
    # Reading changes nothing: a GET is not refused by this rule (CORS keeps its answer unreadable).
    assert client.get("/api/v1/tasks", headers={**auth, **headers}).status_code == 200


def test_same_site_and_program_requests_may_change(harness: Harness, settings: Settings) -> None:
    client = harness.client
    for headers in ({}, {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"}):
        assert client.post("/api/v1/reset", headers=headers).status_code == 200, headers
    settings.cors_origins = ["https://erp.example"]
    with TestClient(create_app(settings, environ={})) as cors:
        allowed = cors.post(
            "/api/v1/reset", headers={"Origin": "https://erp.example", "Sec-Fetch-Site": "cross-site"}
        )
        assert allowed.status_code == 200
