"""compose/: the files parse, and every command they run exists in the CLI with those flags.

These static checks keep the deployment files honest against the code (test_compose_stack.py
builds and starts the stack for real):
`shardy ...` commands are checked against the click CLI (`shardy.ops.cli.cli`), `celery ...`
commands against Celery's own click commands and Flower's options.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from shardy.celery_app import CONTROL_QUEUE, GPU_QUEUE
from shardy.config import Settings
from shardy.ops.cli import cli
from shardy.ops.cluster import ROLE_MODULES

COMPOSE = Path(__file__).resolve().parents[2] / "compose"
#: Commands other engineers are adding; their services are checked once the command exists.
PENDING = {"sidecar": "`shardy sidecar` is not in the CLI yet (being added)",
           "metrics": "`shardy metrics` is not in the CLI yet (being added)"}  # fmt: skip


def compose() -> dict:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


def argv_of(service: dict) -> list[str]:
    """The command a service runs, as argv; ``sh -c "... && exec CMD"`` yields CMD."""
    cmd = service.get("command") or []
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    if argv[:2] == ["sh", "-c"]:
        tail = argv[2].split("&&")[-1].strip()
        argv = shlex.split(tail)
        if argv[0] == "exec":
            argv = argv[1:]
    return argv


def flag_names(command: click.Command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)}


def unknown_flags(args: list[str], known: set[str]) -> list[str]:
    """Tokens that look like options and are not declared."""
    bad = []
    for token in args:
        if token == "--":
            break
        if token.startswith("-") and len(token) > 1 and not token[1].isdigit():
            name = token.split("=", 1)[0]
            if name not in known:
                bad.append(name)
    return bad


def check_shardy(argv: list[str]) -> list[str]:
    """Problems with a `shardy ...` command line (empty when it would parse)."""
    command: click.Command = cli
    args = argv[1:]
    path = ["shardy"]
    while isinstance(command, click.Group):
        if not args or args[0] not in command.commands:
            return [f"`{' '.join(path)}` has no command {args[:1]}"]
        path.append(args[0])
        command, args = command.commands[args[0]], args[1:]
    problems = [
        f"`{' '.join(path)}` has no option {f}" for f in unknown_flags(args, flag_names(command))
    ]
    if not problems:
        try:
            command.make_context(" ".join(path), list(args))
        except click.ClickException as exc:
            problems.append(f"`{' '.join(argv)}`: {exc.format_message()}")
    return problems


def check_celery(argv: list[str]) -> list[str]:
    """Problems with a `celery ...` command line: app, subcommand, flags, queue names."""
    from celery.bin.celery import celery

    problems = []
    top, rest = [], list(argv[1:])
    while rest and rest[0] not in celery.commands:
        top.append(rest.pop(0))
    problems += [f"celery has no option {f}" for f in unknown_flags(top, flag_names(celery))]
    app = next((top[i + 1] for i, t in enumerate(top[:-1]) if t in ("-A", "--app")), None)
    app = app or next((t.split("=", 1)[1] for t in top if t.startswith("--app=")), None)
    if not rest:
        return [*problems, f"`{' '.join(argv)}` names no celery subcommand"]
    sub, args = rest[0], rest[1:]
    if sub == "worker":
        known = flag_names(celery.commands["worker"])
        problems += [f"celery worker has no option {f}" for f in unknown_flags(args, known)]
        queues = [args[i + 1] for i, t in enumerate(args[:-1]) if t in ("-Q", "--queues")]
        names = {q for value in queues for q in value.split(",")}
        if len(names) != 1 or not names <= ROLE_MODULES.keys():
            problems.append(f"worker queues {sorted(names)}: expected one of Shardy's "
                            f"({GPU_QUEUE}, {CONTROL_QUEUE})")  # fmt: skip
        elif app != ROLE_MODULES[min(names)]:
            problems.append(f"a {min(names)} worker loads -A {app}, not {ROLE_MODULES[min(names)]}")
        if "-n" not in args and "--hostname" not in args:
            problems.append("worker has no node name (-n NAME@%h)")
    elif sub == "flower":
        if app != "shardy.celery_app":
            problems.append(f"`{' '.join(argv)}` does not load -A shardy.celery_app")
        from flower import options  # noqa: F401 - defines Flower's options
        from tornado.options import options as tornado_options

        known = {f"--{name}" for name in tornado_options._options}  # noqa: SLF001
        known |= {k.replace("-", "_") for k in known}
        problems += [f"flower has no option {f}" for f in unknown_flags(args, known)]
    else:
        problems.append(f"unexpected celery subcommand {sub!r}")
    return problems


def runs_shardy_or_celery(service: dict) -> bool:
    return argv_of(service)[:1] in (["shardy"], ["celery"])


@pytest.mark.parametrize(
    "name", sorted(n for n, s in services().items() if runs_shardy_or_celery(s))
)
def test_service_command_exists_with_its_flags(name: str):
    argv = argv_of(services()[name])
    if argv[0] == "shardy":
        if argv[1] in PENDING and argv[1] not in cli.commands:
            pytest.skip(PENDING[argv[1]])
        assert check_shardy(argv) == []
    else:
        if argv[argv.index("-A") + 2 :][:1] == ["flower"]:
            pytest.importorskip("flower", reason="flower is not installed (pip install flower)")
        assert check_celery(argv) == []


def test_checkers_refuse_what_the_cli_does_not_have():
    assert check_shardy(["shardy", "worker", "--adapter", "0", "--name", "gpu0@%h"]) == []
    assert check_shardy(["shardy", "worker", "--adaptor", "0"]) != []
    assert check_shardy(["shardy", "teleport"]) != []
    assert check_shardy(["shardy", "dlq", "list", "--json"]) == []
    assert check_shardy(["shardy", "dlq", "list", "--yaml"]) != []
    ok = [
        "celery",
        "-A",
        "shardy.orchestrator.tasks",
        "worker",
        "-Q",
        "shardy.control",
        "-n",
        "o@%h",
    ]
    assert check_celery(ok) == []
    assert check_celery([*ok[:5], "shardy.gpus", *ok[6:]]) != []  # a queue nobody consumes
    assert check_celery(["celery", "-A", "other.app", *ok[3:]]) != []
    assert check_celery(["celery", "-A", "shardy.workers.tasks", *ok[3:]]) != []  # wrong role
    assert check_celery([*ok, "--no-such-flag"]) != []


def test_services_the_deployment_needs():
    svc = services()
    for name in ("redis", "postgres", "orchestrator", "gateway", "flower", "metrics"):
        assert name in svc, f"compose has no {name} service"
    assert argv_of(svc["orchestrator"])[argv_of(svc["orchestrator"]).index("-Q") + 1] == (
        CONTROL_QUEUE
    )
    assert argv_of(svc["gateway"])[:2] == ["shardy", "gateway"]
    redis = " ".join(svc["redis"]["command"])
    assert "--appendonly yes" in redis, "Redis must keep an append-only file (queued tasks)"
    sidecars = [n for n, s in svc.items() if argv_of(s)[:2] == ["shardy", "sidecar"]]
    assert len(sidecars) == 2
    assert any("--bootstrap" in argv_of(svc[n]) for n in sidecars)


def _gpu_services() -> dict[str, dict]:
    return {n: s for n, s in services().items() if argv_of(s)[:2] == ["shardy", "worker"]}


def test_one_gpu_worker_per_gpu_index():
    """Remote workers by default (through the gateway, on lavapipe), fleet workers behind a
    profile; nvidia.yml gives each one GPU by index, with the graphics capability."""
    nvidia = yaml.safe_load((COMPOSE / "nvidia.yml").read_text())["services"]
    remote, fleet = {}, {}
    for name, s in _gpu_services().items():
        argv = argv_of(s)
        assert "deploy" not in s, f"{name}: GPU reservations belong in nvidia.yml"
        assert s["image"] == "shardy:cpu" or name.startswith("fleet")
        (device,) = nvidia[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
        assert "graphics" in device["capabilities"], f"{name}: Vulkan needs the graphics capability"
        assert nvidia[name]["build"]["target"] == "gpu" and nvidia[name]["image"] == "shardy:gpu"
        # the container sees its one GPU only, so it is adapter 0 there
        assert argv[argv.index("--adapter") + 1] == "0"
        (index,) = device["device_ids"]
        if "--gateway" in argv:
            assert argv[argv.index("--gateway") + 1] == "ws://gateway:8765/session"
            assert not s.get("profiles"), f"{name}: remote workers run by default"
            remote[name] = int(index)
        else:
            node = argv[argv.index("--name") + 1]
            assert re.fullmatch(r"fleet\d+@%h", node), f"{name}: node name {node!r}"
            assert s.get("profiles") == ["fleet"], f"{name}: fleet workers are optional"
            fleet[name] = int(index)
    assert sorted(remote.values()) == list(range(len(remote))) and len(remote) >= 2
    assert fleet and set(fleet.values()) <= set(remote.values())
    assert set(nvidia) == set(_gpu_services())


def _env(name: str) -> dict[str, str]:
    env = {}
    for line in (COMPOSE / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_credentials_go_only_where_the_trust_model_says():
    """docs/security.md: the database URL only on the orchestrator side (orchestrator,
    gateway, metrics exporter); remote workers get the gateway and their token, nothing else."""
    shared, trusted = _env("shardy.env"), _env("orchestrator.env")
    fields = {f"SHARDY_{f.upper()}" for f in Settings.__dataclass_fields__}
    for env in (shared, trusted):
        assert set(env) <= fields, f"unknown settings: {sorted(set(env) - fields)}"
    settings = Settings.from_env({**shared, **trusted})
    assert settings.broker.startswith("redis://redis:")
    assert (
        settings.database.startswith("postgresql+psycopg://") and "@postgres" in settings.database
    )
    assert "SHARDY_DATABASE_URL" not in shared and set(trusted) == {"SHARDY_DATABASE_URL"}
    remote_files = set()
    for name, s in services().items():
        if not runs_shardy_or_celery(s):
            continue
        files = s.get("env_file", [])
        if "--gateway" in argv_of(s):
            (own,) = files  # its own file: one operator's token per remote worker
            assert set(_env(own)) == {"SHARDY_HOME", "SHARDY_GATEWAY_TOKEN"}, name
            assert not s.get("environment"), name
            assert "redis" not in s.get("depends_on", []), f"{name} must not need Redis"
            remote_files.add(own)
        elif name in ("orchestrator", "gateway", "metrics"):
            assert files == ["shardy.env", "orchestrator.env"], name
        else:
            assert files == ["shardy.env"], f"{name} must not read the database URL"
    assert len(remote_files) == len(_gpu_services()) - 1  # each remote worker its own token


def test_dockerfile_targets_and_published_ports():
    text = (COMPOSE / "Dockerfile").read_text()
    assert "ARG BASE=python:3.11-slim" in text and "FROM ${BASE} AS base" in text
    assert '"shardy[postgres,p2p,flower]"' in text and "--no-index --find-links /wheels" in text
    assert "libvulkan1" in text and "mesa-vulkan-drivers" in text
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", text, flags=re.M))
    assert {"cpu", "gpu"} <= targets
    assert "graphics" in text  # NVIDIA_DRIVER_CAPABILITIES: the toolkit's Vulkan ICD
    for name, s in services().items():
        build = s.get("build")
        if build:
            assert (COMPOSE / build["context"] / build["dockerfile"]).is_file()
            assert build["target"] in targets, name
        for port in s.get("ports", []):
            if not name.startswith("sidecar") and name != "gateway":  # peers and remote workers
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"
