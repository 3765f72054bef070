import pytest

from vision.env import EnvError, celery_broker_url, check_redis_url, env_bool, env_float, env_int, env_list, parse_database_url


def test_it_parses_booleans(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", False)]:
        monkeypatch.setenv("X", raw)
        assert env_bool("X") is expected
    monkeypatch.delenv("X")
    assert env_bool("X", True) is True


def test_it_names_the_variable_in_errors(monkeypatch):
    monkeypatch.setenv("VIGIL_PORT", "eighty")
    with pytest.raises(EnvError, match="VIGIL_PORT"):
        env_int("VIGIL_PORT", 8000)
    monkeypatch.setenv("X", "maybe")
    with pytest.raises(EnvError, match="not a boolean"):
        env_bool("X")
    monkeypatch.setenv("F", "0.01")
    with pytest.raises(EnvError, match="at least 0.1"):
        env_float("F", 1.0, minimum=0.1)


def test_it_parses_lists(monkeypatch):
    monkeypatch.setenv("L", " a, b ,,c ")
    assert env_list("L", []) == ["a", "b", "c"]
    monkeypatch.delenv("L")
    assert env_list("L", ["x"]) == ["x"]


def test_it_parses_database_urls():
    tcp = parse_database_url("postgres://vigil:s%40cret@db:5433/vigil?sslmode=require")
    assert tcp["HOST"] == "db" and tcp["PORT"] == "5433" and tcp["PASSWORD"] == "s@cret"
    assert tcp["OPTIONS"] == {"sslmode": "require"}
    socket = parse_database_url("postgresql://postgres:@/vigil?host=/tmp/pg")
    assert socket["HOST"] == "/tmp/pg" and socket["NAME"] == "vigil"
    with pytest.raises(EnvError, match="postgres://"):
        parse_database_url("mysql://x/y")
    with pytest.raises(EnvError, match="no database"):
        parse_database_url("postgres://host/")


def test_it_checks_redis_urls_and_spells_sockets_for_celery():
    assert check_redis_url("redis://localhost:6379/0")
    with pytest.raises(EnvError):
        check_redis_url("http://localhost")
    assert celery_broker_url("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"
    assert celery_broker_url("redis://h:1/0") == "redis://h:1/0"
