"""Unit tests, run with `uv run --group dev pytest`; they must never reach the image."""

from flask_service.app import app


def test_health():
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_hash_is_fnv1a_64():
    # Published FNV-1a 64-bit test vector for "a".
    response = app.test_client().get("/hash/a")
    assert response.get_json()["fnv1a"] == 0xAF63DC4C8601EC8C
