"""docker-compose.yml, Dockerfile and .dockerignore, checked by reading them.

Neither a Docker engine nor the database is needed. Each service's command is checked
against the project's real files and the installed tools (Celery's and Daphne's own
argument parsers), so renaming a module, a queue or a management command breaks this
test rather than a deployment.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
SETTINGS = REPO / "vision" / "settings.py"
PROJECT_PACKAGES = ("vision", "cameras", "events", "review", "workers")

EXPECTED_SERVICES = {"db", "redis", "migrate", "models", "web", "worker-streams", "worker-default", "beat"}
EXPECTED_VOLUMES = {"pgdata", "redisdata", "media", "models", "videos"}
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}
SEPARATORS = {"&&", "||", ";", "|"}
DUMMY_ENV = {"POSTGRES_PASSWORD": "pw", "VIGIL_SECRET_KEY": "key"}


# --- reading the files ------------------------------------------------------------------
@lru_cache(maxsize=1)
def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _app_services() -> dict[str, dict[str, Any]]:
    """Services built from this project's Dockerfile."""
    return {name: svc for name, svc in _services().items() if "build" in svc}


def _is_one_shot(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")) in {"no", "False", "false", "on-failure"}


def _long_running() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in _services().items() if not _is_one_shot(svc)}


def _words(value: str | list[Any] | None) -> list[str]:
    """A command as words; the script of `sh -c SCRIPT` is split into words too."""
    if value is None:
        return []
    items = shlex.split(value) if isinstance(value, str) else [str(item) for item in value]
    if len(items) >= 3 and items[0] in SHELLS and items[1] == "-c":
        return shlex.split(items[2])
    return items


def _simple_commands(words: list[str]) -> list[list[str]]:
    """Split words on shell operators (&&, ||, ;, |) into simple commands."""
    commands: list[list[str]] = [[]]
    for word in words:
        if word in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def _service_commands(service: dict[str, Any]) -> list[list[str]]:
    return _simple_commands(_words(service.get("entrypoint")) + _words(service.get("command")))


def _healthcheck_commands(service: dict[str, Any]) -> list[list[str]]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return _simple_commands(shlex.split(test))
    kind, *rest = test
    if kind == "CMD-SHELL":
        # compose turns $$ into $; the container's shell then expands $HOSTNAME.
        return _simple_commands(shlex.split(" ".join(rest).replace("$$", "$")))
    assert kind == "CMD", f"unexpected healthcheck test type {kind!r}"
    return [rest]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ (enough for these files)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        value = env.get(name)
        if op in {":-", "-"}:
            return value if value else arg
        if op in {":?", "?"} and not value:
            raise KeyError(f"{name}: {arg}")
        return value or ""

    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", one, text)
    return text.replace("$$", "$")


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _settings_value(name: str) -> Any:
    """A literal top-level assignment of vision/settings.py, read without importing it."""
    for node in ast.parse(SETTINGS.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def _module_file(dotted: str) -> Path:
    base = REPO.joinpath(*dotted.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _module_defines(path: Path, name: str) -> bool:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def _project_python_files() -> Iterator[Path]:
    for package in PROJECT_PACKAGES:
        yield from (REPO / package).rglob("*.py")


# --- Celery's own command-line definition ------------------------------------------------
def _celery_params(subcommand: str) -> dict[str, Any]:
    from celery.bin.celery import celery as celery_group

    assert subcommand in celery_group.commands, f"celery has no subcommand {subcommand!r}"
    params: dict[str, Any] = {}
    for param in [*celery_group.params, *celery_group.commands[subcommand].params]:
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            if opt.startswith("-"):
                params[opt] = param
    return params


def _parse_celery(words: list[str]) -> tuple[str, list[str], dict[str, str]]:
    """`celery [global options] SUB [positional...] [options]` -> (SUB, positionals, {option: value}).

    Every option must be one the installed Celery knows; options are keyed by their
    longest spelling (-A -> --app).
    """
    assert words[0] == "celery", words
    from celery.bin.celery import celery as celery_group

    subcommand = next(w for w in words[1:] if not w.startswith("-") and w in celery_group.commands)
    params = _celery_params(subcommand)
    options: dict[str, str] = {}
    positionals: list[str] = []
    seen_subcommand = False
    rest = iter(words[1:])
    for word in rest:
        if not word.startswith("-"):
            if word == subcommand and not seen_subcommand:
                seen_subcommand = True
            else:
                positionals.append(word)
            continue
        opt, has_value, value = word.partition("=")
        assert opt in params, f"`{opt}` is not an option of `celery {subcommand}` (Celery {_celery_version()})"
        param = params[opt]
        key = max(param.opts, key=len)
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            options[key] = "false" if opt in param.secondary_opts else "true"
        else:
            options[key] = value if has_value else next(rest)
    return subcommand, positionals, options


def _celery_version() -> str:
    return metadata.version("celery")


def _celery_commands(service: dict[str, Any]) -> list[tuple[str, list[str], dict[str, str]]]:
    return [_parse_celery(cmd) for cmd in _service_commands(service) if cmd[0] == "celery"]


def _workers() -> dict[str, dict[str, str]]:
    """Service name -> options of its `celery worker` command."""
    workers = {}
    for name, service in _services().items():
        for subcommand, _, options in _celery_commands(service):
            if subcommand == "worker":
                workers[name] = options
    return workers


def _queues(options: dict[str, str]) -> set[str]:
    return {q.strip() for q in options.get("--queues", "celery").split(",") if q.strip()}


def _gpu_devices(service: dict[str, Any]) -> list[dict[str, Any]]:
    deploy = service.get("deploy") or {}
    return ((deploy.get("resources") or {}).get("reservations") or {}).get("devices") or []


# --- Dockerfile -------------------------------------------------------------------------
def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    return instructions


def _index(instructions: list[tuple[str, str]], keyword: str, pattern: str) -> int:
    for i, (kw, args) in enumerate(instructions):
        if kw == keyword and re.search(pattern, args):
            return i
    raise AssertionError(f"the Dockerfile has no {keyword} matching {pattern!r}")


def _apt_packages() -> set[str]:
    packages: set[str] = set()
    for keyword, args in _dockerfile():
        if keyword != "RUN":
            continue
        for command in _simple_commands(shlex.split(args)):
            if command[:2] == ["apt-get", "install"]:
                packages |= {word for word in command[2:] if not word.startswith("-")}
    return packages


# --- the compose file -------------------------------------------------------------------
def test_it_defines_the_whole_stack():
    compose = _compose()
    assert set(compose["services"]) == EXPECTED_SERVICES
    assert "version" not in compose, "the top-level version key is obsolete in Compose v2"
    assert set(_app_services()) == EXPECTED_SERVICES - {"db", "redis"}
    images = {svc["image"] for svc in _app_services().values()}
    assert len(images) == 1, f"every Vigil service should run the one image built from the Dockerfile: {images}"
    for name, service in _app_services().items():
        assert service["build"]["context"] == ".", name


def test_it_runs_only_programs_the_image_has():
    console_scripts = {ep.name for ep in metadata.entry_points(group="console_scripts")}
    for name, service in _app_services().items():
        commands = _service_commands(service)
        assert commands, f"{name} has neither command nor entrypoint"
        for command in commands:
            program = command[0]
            assert program == "python" or program in console_scripts, (
                f"{name}: `{program}` is neither python nor a console script of an installed dependency"
            )


def test_it_serves_the_real_asgi_application():
    (command,) = _service_commands(_services()["web"])
    assert command[0] == "daphne"
    # Daphne's own parser, in a child process: importing daphne installs a Twisted reactor.
    parse = (
        "import json, sys; from daphne.cli import CommandLineInterface as C; "
        "a = C().parser.parse_args(sys.argv[1:]); print(json.dumps(vars(a)))"
    )
    done = subprocess.run([sys.executable, "-c", parse, *command[1:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    args = json.loads(done.stdout)
    assert (args["host"], args["port"]) == ("0.0.0.0", 8000)
    module, _, attribute = args["application"].partition(":")
    assert f"{module}.{attribute}" == _settings_value("ASGI_APPLICATION")
    path = _module_file(module)
    assert path.is_file(), f"{path.relative_to(REPO)} does not exist"
    assert _module_defines(path, attribute), f"{path.relative_to(REPO)} defines no `{attribute}`"
    assert [_interpolate(port, {}) for port in _services()["web"]["ports"]] == ["8000:8000"]


def test_it_points_every_celery_command_at_the_real_app():
    seen = 0
    for name, service in _services().items():
        commands = _celery_commands(service)
        if "healthcheck" in service:
            commands += [_parse_celery(c) for c in _healthcheck_commands(service) if c[0] == "celery"]
        for _, _, options in commands:
            seen += 1
            app = options.get("--app")
            assert app, f"{name}: a celery command without -A"
            path = _module_file(f"{app}.celery") if _module_file(app).name == "__init__.py" else _module_file(app)
            assert path.is_file(), f"{name}: -A {app}, but {path.relative_to(REPO)} does not exist"
            source = path.read_text()
            assert re.search(r"^app\s*=\s*Celery\(", source, re.M), f"{path.relative_to(REPO)} makes no `app = Celery(...)`"
    assert seen >= 6  # 2 workers + beat, and their 3 health checks


def test_it_runs_only_management_commands_that_exist():
    installed_apps = _settings_value("INSTALLED_APPS")
    assert installed_apps, "INSTALLED_APPS is not a literal list in vision/settings.py"
    used = set()
    for service in _app_services().values():
        for command in _service_commands(service):
            if command[0] == "python" and len(command) > 2 and command[1] == "manage.py":
                used.add(command[2])
    assert {"migrate", "collectstatic", "fetch_models"} <= used
    assert (REPO / "manage.py").is_file()

    def command_file(name: str) -> Path | None:
        core = importlib.util.find_spec("django.core.management.commands")
        assert core is not None and core.origin is not None
        candidates = [Path(core.origin).parent / f"{name}.py"]
        for app in installed_apps:
            local = REPO.joinpath(*app.split("."))
            if local.is_dir():
                candidates.append(local / "management" / "commands" / f"{name}.py")
            else:
                spec = importlib.util.find_spec(app)
                if spec is not None and spec.submodule_search_locations:
                    for location in spec.submodule_search_locations:
                        candidates.append(Path(location) / "management" / "commands" / f"{name}.py")
        return next((c for c in candidates if c.is_file()), None)

    missing = sorted(name for name in used if command_file(name) is None)
    assert not missing, f"manage.py commands that no installed app provides: {missing}"
    # The ones the brief pins down, where they are expected.
    assert command_file("fetch_models") == REPO / "workers" / "management" / "commands" / "fetch_models.py"
    assert command_file("collectstatic").parts[-5:-3] == ("contrib", "staticfiles")


def test_it_consumes_every_queue_the_code_uses():
    workers = _workers()
    assert set(workers) == {"worker-streams", "worker-default"}
    assert _queues(workers["worker-streams"]) == {"streams"}
    assert _queues(workers["worker-default"]) == {"default"}
    consumed = set().union(*(_queues(options) for options in workers.values()))

    needed = {_settings_value("CELERY_TASK_DEFAULT_QUEUE") or "celery"}
    for route in (_settings_value("CELERY_TASK_ROUTES") or {}).values():
        if isinstance(route, dict) and "queue" in route:
            needed.add(route["queue"])
    # The stream runtime starts only in a worker that consumes its queue.
    steps = REPO / "workers" / "celery_steps.py"
    assert steps.is_file()
    streams_queue = next(
        ast.literal_eval(node.value)
        for node in ast.parse(steps.read_text()).body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "STREAMS_QUEUE" for t in node.targets)
    )
    needed.add(streams_queue)
    for path in _project_python_files():
        needed |= set(re.findall(r"""\bqueue\s*[=:]\s*["']([\w.-]+)["']""", path.read_text()))
    assert needed <= consumed, f"queues no worker consumes: {sorted(needed - consumed)}"


def test_it_runs_the_stream_runtime_on_one_nvidia_gpu():
    service = _services()["worker-streams"]
    options = _workers()["worker-streams"]
    assert options["--pool"] == "solo"
    assert options["--concurrency"] == "1"
    (device,) = _gpu_devices(service)
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert device.get("count") == 1 or device.get("device_ids"), device
    providers = _interpolate(_environment(service)["VIGIL_PROVIDERS"], {})
    assert providers.split(",")[0] == "CUDAExecutionProvider"
    assert "CPUExecutionProvider" in providers.split(",")
    for name, other in _services().items():
        if name != "worker-streams":
            assert not _gpu_devices(other), f"{name} reserves a GPU"


def test_it_health_checks_every_long_running_service():
    long_running = _long_running()
    assert set(long_running) == EXPECTED_SERVICES - {"migrate", "models"}
    for name, service in long_running.items():
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in {"CMD", "CMD-SHELL"} and check["test"] != ["NONE"], name
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name}: healthcheck without {key}"


def test_it_checks_web_health_with_python_on_healthz():
    (command,) = _healthcheck_commands(_services()["web"])
    assert command[:2] == ["python", "-c"], "the slim image has no curl: use python"
    code = command[2]
    ast.parse(code)
    urls = re.findall(r"""urlopen\(\s*['"]([^'"]+)['"]""", code)
    assert len(urls) == 1, code
    url = urlsplit(urls[0])
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", 8000, "/healthz")
    assert "timeout=" in code
    assert re.search(r"""path\(\s*["']healthz["']""", (REPO / "vision" / "urls.py").read_text()), "no /healthz route"
    if url.query:
        key, _, value = url.query.partition("=")
        assert f'"{key}"' in (REPO / "vision" / "health.py").read_text() and f'"{value}"' in (
            REPO / "vision" / "health.py"
        ).read_text(), f"the health view does not handle ?{url.query}"
    # The health check's Host header (127.0.0.1) must pass ALLOWED_HOSTS whatever is configured.
    hosts = _interpolate(_environment(_services()["web"])["VIGIL_ALLOWED_HOSTS"], {}).split(",")
    assert "127.0.0.1" in hosts


def test_it_pings_each_celery_node_under_the_name_it_runs_as():
    for name in ("worker-streams", "worker-default", "beat"):
        service = _services()[name]
        (run,) = _celery_commands(service)
        subcommand, _, options = run
        if subcommand == "worker":
            node = options["--hostname"]
        else:
            assert options.get("--enable-remote-control") == "true", "beat answers pings only with remote control"
            node = options.get("--hostname", "celerybeat@%h")
        assert node.endswith("@%h"), f"{name}: node {node!r} is not unique per container"
        (check,) = _healthcheck_commands(service)
        check_sub, positionals, check_options = _parse_celery(check)
        assert (check_sub, positionals) == ("inspect", ["ping"])
        assert check_options["--destination"] == node.replace("%h", "$HOSTNAME"), name
        assert int(check_options.get("--timeout", "1")) < int(service["healthcheck"]["timeout"].rstrip("s"))


def test_it_runs_beat_with_a_schedule_in_the_data_folder():
    ((subcommand, _, options),) = _celery_commands(_services()["beat"])
    assert subcommand == "beat"
    assert options["--schedule"] == "/data/celerybeat-schedule"
    assert _environment(_services()["beat"])["VIGIL_DATA_DIR"] == "/data"


def test_it_migrates_once_before_anything_else_starts():
    services = _services()
    for name in ("migrate", "models"):
        assert str(services[name]["restart"]) == "no", f"{name} is a one-shot job; a restart policy would loop it"
    migrate = _service_commands(services["migrate"])
    assert ["python", "manage.py", "migrate", "--noinput"] in migrate
    assert ["python", "manage.py", "collectstatic", "--noinput"] in migrate
    assert migrate[0][2] == "migrate", "migrate first"
    assert ["python", "manage.py", "fetch_models"] in _service_commands(services["models"])
    for name in ("web", "worker-streams", "worker-default", "beat", "models"):
        assert _depends_on(services[name]).get("migrate") == "service_completed_successfully", name
    for name in ("worker-streams", "worker-default"):
        assert _depends_on(services[name]).get("models") == "service_completed_successfully", name
    # A failed command in the chain must fail the job: the chain is joined with &&.
    script = services["migrate"]["command"]
    script = script[-1] if isinstance(script, list) else script
    assert ";" not in script and "||" not in script


def test_it_waits_for_a_healthy_database_and_redis():
    services = _services()
    for name, service in _app_services().items():
        deps = _depends_on(service)
        for backing in ("db", "redis"):
            if backing in deps:
                assert deps[backing] == "service_healthy", f"{name} -> {backing}"
    assert _depends_on(services["migrate"])["db"] == "service_healthy"
    for name in ("web", "worker-streams", "worker-default", "beat"):
        assert _depends_on(services[name])["redis"] == "service_healthy", name


def test_it_uses_pgvector_pg16_and_redis_7_with_appendonly():
    services = _services()
    assert services["db"]["image"] == "pgvector/pgvector:pg16"
    assert services["redis"]["image"] == "redis:7"
    redis_command = _words(services["redis"]["command"])
    assert redis_command[0] == "redis-server"
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    (db_check,) = _healthcheck_commands(services["db"])
    assert db_check[0] == "pg_isready"
    (ping, grep) = _healthcheck_commands(services["redis"])
    assert ping == ["redis-cli", "ping"] and grep[0] == "grep"
    for name in ("db", "redis"):
        assert "ports" not in services[name], f"{name} should not be published on the host"


def test_it_declares_and_mounts_the_volumes():
    declared = set(_compose()["volumes"])
    assert declared == EXPECTED_VOLUMES
    used: set[str] = set()
    mounts: dict[str, dict[str, str]] = {}
    for name, service in _services().items():
        mounts[name] = {}
        for volume in service.get("volumes") or []:
            source, target = volume.split(":")[:2]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
            mounts[name][target] = source
    assert used == declared, f"declared but unused: {declared - used}"
    assert mounts["db"]["/var/lib/postgresql/data"] == "pgdata"
    assert mounts["redis"]["/data"] == "redisdata"
    where = {"media": "VIGIL_MEDIA_ROOT", "models": "VIGIL_MODEL_DIR", "videos": "VIGIL_VIDEO_DIR"}
    for name, service in _app_services().items():
        env = _environment(service)
        for target, source in mounts[name].items():
            if source in where:
                assert env[where[source]] == target, f"{name}: {source} is mounted at {target}, not {where[source]}"
    assert {"media", "videos"} <= set(mounts["web"].values())
    for name in ("worker-streams", "worker-default"):
        assert {"media", "models", "videos"} <= set(mounts[name].values()), name
    assert "models" in mounts["models"].values()
    assert not any(v.endswith(":ro") for v in _services()["models"]["volumes"]), "fetch_models writes the models"


def test_it_refuses_to_start_without_secrets():
    text = COMPOSE_FILE.read_text()
    for secret in ("VIGIL_SECRET_KEY", "POSTGRES_PASSWORD"):
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, f"{secret} is not used"
        assert all(use.startswith(":?") for use in uses), f"{secret} must always be ${{{secret}:?...}}: {uses}"
    env = _environment(_services()["web"])
    with pytest.raises(KeyError, match="VIGIL_SECRET_KEY"):
        _interpolate(env["VIGIL_SECRET_KEY"], {})
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        _interpolate(env["DATABASE_URL"], {})


def test_it_builds_urls_the_settings_accept():
    from vision.env import check_redis_url, parse_database_url

    db_env = _environment(_services()["db"])
    for name, service in _app_services().items():
        env = {key: _interpolate(value, DUMMY_ENV) for key, value in _environment(service).items()}
        database = parse_database_url(env["DATABASE_URL"])
        assert database["HOST"] in _services(), f"{name}: DATABASE_URL host is not a service"
        assert database["NAME"] == db_env["POSTGRES_DB"]
        assert database["USER"] == db_env["POSTGRES_USER"]
        assert database["PASSWORD"] == DUMMY_ENV["POSTGRES_PASSWORD"]
        redis_url = urlsplit(check_redis_url(env["REDIS_URL"]))
        assert redis_url.hostname == "redis" and redis_url.port == 6379
        assert env["VIGIL_SECRET_KEY"] == DUMMY_ENV["VIGIL_SECRET_KEY"]


def test_it_sets_only_environment_variables_the_code_reads():
    source = "\n".join(path.read_text() for path in _project_python_files())
    for name, service in _app_services().items():
        for key in _environment(service):
            assert f'"{key}"' in source, f"{name}: {key} is read nowhere in the project (typo?)"


def test_it_is_accepted_by_docker_compose_config():
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        compose = [docker, "compose"]
    elif shutil.which("docker-compose"):
        compose = [shutil.which("docker-compose") or "docker-compose"]
    else:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    base = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    command = [*compose, "-f", str(COMPOSE_FILE), "config", "--quiet"]
    ok = subprocess.run(command, env={**base, **DUMMY_ENV}, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and not ok.stderr.strip(), ok.stderr
    refused = subprocess.run(command, env=base, capture_output=True, text=True, timeout=60)
    # (the pip-packaged docker-compose wrapper drops the exit code, so read the message too)
    assert refused.returncode != 0 or "required variable" in refused.stderr
    assert re.search("POSTGRES_PASSWORD|VIGIL_SECRET_KEY", refused.stderr)


# --- the image --------------------------------------------------------------------------
def test_it_builds_from_python_slim_with_ffmpeg_and_the_opencv_libraries():
    instructions = _dockerfile()
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert bases[-1] == "python:3.11-slim-bookworm"
    version = re.match(r"python:(\d+\.\d+)", bases[-1])
    assert version is not None
    requires = re.search(r'requires-python\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text())
    assert requires and SpecifierSet(requires.group(1)).contains(version.group(1))
    assert {"ffmpeg", "libgl1", "libglib2.0-0"} <= _apt_packages()
    apt = next(args for keyword, args in instructions if keyword == "RUN" and "apt-get install" in args)
    assert "apt-get update" in apt and "--no-install-recommends" in apt and "rm -rf /var/lib/apt/lists" in apt


def test_it_runs_the_image_as_a_non_root_user():
    instructions = _dockerfile()
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    created = " ".join(args for keyword, args in instructions if keyword == "RUN" and "useradd" in args)
    assert re.search(rf"--uid {user}\b", created) or re.search(rf"\b{user}\s*$", created) or f" {user} " in created
    # Empty named volumes take the owner of the folder they are mounted on.
    chown = " ".join(args for keyword, args in instructions if keyword == "RUN" and "chown" in args)
    for folder in ("/data/media", "/data/models", "/data/videos"):
        assert folder in chown, f"{folder} is not created for the app user"


def test_it_installs_dependencies_from_pyproject_before_copying_the_source():
    instructions = _dockerfile()
    assert ("WORKDIR", "/app") in instructions
    assert ("EXPOSE", "8000") in instructions
    copy_pyproject = _index(instructions, "COPY", r"^pyproject\.toml ")
    install_deps = _index(instructions, "RUN", r"pip install .*-r ")
    copy_source = _index(instructions, "COPY", r"^\. ")
    install_project = next(
        i for i, (keyword, args) in enumerate(instructions) if i > copy_source and keyword == "RUN" and "pip install" in args
    )
    assert "." in shlex.split(instructions[install_project][1]), "the project itself is not installed"
    assert copy_pyproject < install_deps < copy_source < install_project
    assert "pyproject.toml" in instructions[install_deps][1]
    cmd = json.loads(next(args for keyword, args in instructions if keyword == "CMD"))
    assert cmd == _services()["web"]["command"], "the image's default command should be the web process"


def test_it_installs_the_cuda_libraries_onnxruntime_gpu_needs():
    text = " ".join(args for _, args in _dockerfile())
    arg = re.search(r'ONNXRUNTIME_GPU="?([^"\s]+)"?', text)
    assert arg, "no ONNXRUNTIME_GPU build argument"
    assert re.fullmatch(r"onnxruntime-gpu\[cuda,cudnn\].*", arg.group(1))
    assert '"${ONNXRUNTIME_GPU}"' in text or "$ONNXRUNTIME_GPU" in text
    build_args = {svc["build"]["args"]["ONNXRUNTIME_GPU"] for svc in _app_services().values()}
    assert {_interpolate(value, {}) for value in build_args} == {arg.group(1)}
    # The extras exist on the onnxruntime-gpu the project resolves to.
    extras = set(metadata.metadata("onnxruntime-gpu").get_all("Provides-Extra") or [])
    assert {"cuda", "cudnn"} <= extras, extras
    assert "ldconfig" in text, "the nvidia wheels' lib folders must be registered with the loader"


def test_it_keeps_secrets_and_local_state_out_of_the_build_context():
    ignored = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines() if line.strip()}
    for entry in (".git", ".venv", ".env", ".data"):
        assert entry in ignored, f".dockerignore does not exclude {entry}"
    for needed in ("pyproject.toml", "manage.py", "vision", "static", "templates"):
        assert needed not in ignored, f".dockerignore excludes {needed}, which the image needs"
