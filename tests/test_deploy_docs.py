"""docs/deploy/ stays runnable: every ``cmflow`` command line in its compose file, systemd units
and README uses subcommands and options cmflow has; the settings file validates; the compose file
has what the README promises (health checks, secrets from the env file only, metrics published on
loopback only, one daemon started before the rest); the env file's URLs agree with its passwords.

Docker is not run here: the compose file is read as text (PyYAML is not a dependency), which its
one-line flow sequences (``command: [...]``) keep simple.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest

from cmflow.cli import COMMANDS, main
from cmflow.daemon.settings import DaemonOptions, load_daemon_settings
from cmflow.foundation.listen_addresses import parse_listen_address

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
README = DEPLOY / "README.md"
SETTINGS = DEPLOY / "cmflow-daemon.toml"
ENV_EXAMPLE = DEPLOY / "cmflow.env.example"
UNITS = [DEPLOY / "cmflow-daemon.service", DEPLOY / "cmflow-worker@.service"]


OPTIONS_WITH_A_USER = {"-u", "--uid", "-U", "--user", "--username", "-O", "--owner", "-d", "--dbname", "--role"}
"""Options after which the word ``cmflow`` is a user or database name, not the command."""


# -- finding the command lines -----------------------------------------------------------------------
def cmflow_invocations(line: str) -> list[list[str]]:
    """The arguments of each ``cmflow ...`` (or ``/opt/cmflow/bin/cmflow ...``) in a shell line."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    found, current = [], None
    for index, word in enumerate(words):
        if word in ("&&", "||", ";", "|") or word.startswith((">", "2>")):
            current = None
        elif current is not None:
            current.append(word)
        elif (word == "cmflow" or word.endswith("/bin/cmflow")) and \
                (index == 0 or words[index - 1] not in OPTIONS_WITH_A_USER) and index + 1 < len(words):
            current = []
            found.append(current)
    return found


def readme_command_lines() -> list[str]:
    """The lines of the README's code: indented and fenced blocks, and `code spans` in prose."""
    lines, fenced = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            lines.append(line.strip())
        else:
            lines += re.findall(r"`([^`]+)`", line)
    return lines


def compose_services() -> dict[str, list[str]]:
    """Each service of compose.yaml: its lines (two-space indented names under ``services:``)."""
    services: dict[str, list[str]] = {}
    current = None
    inside = False
    for line in COMPOSE.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            inside, current = line.startswith("services:"), None
        elif inside and (match := re.match(r"^  ([\w-]+):\s*$", line)):
            current = services.setdefault(match.group(1), [])
        elif inside and current is not None:
            current.append(line)
    return services


def flow_sequence(lines: list[str], key: str) -> list[str] | None:
    """The ``key: [...]`` one-line flow sequence among ``lines`` (JSON-compatible), if any."""
    for line in lines:
        if match := re.match(rf"^\s*(?:- )?{key}:\s*(\[.*\])\s*$", line):
            return json.loads(match.group(1))
    return None


def anchor_lines() -> list[str]:
    text = COMPOSE.read_text(encoding="utf-8")
    return text[text.index("x-cmflow: &cmflow"):text.index("\nservices:")].splitlines()


def compose_invocations() -> dict[str, list[str]]:
    """Per service built on the cmflow anchor: the cmflow arguments (its command after the
    anchor's entrypoint, which ends in ``cmflow``)."""
    entrypoint = flow_sequence(anchor_lines(), "entrypoint")
    assert entrypoint is not None and entrypoint[-1] == "cmflow", entrypoint
    return {name: flow_sequence(lines, "command") for name, lines in compose_services().items()
            if any(line.strip() == "<<: *cmflow" for line in lines)}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def every_invocation() -> list[tuple[str, list[str]]]:
    found = [(f"README: {line}", args) for line in readme_command_lines() for args in cmflow_invocations(line)]
    found += [(f"compose.yaml: {name}", args) for name, args in compose_invocations().items()]
    for path in UNITS:
        for key in ("ExecStart", "ExecReload", "ExecStop"):
            if unit(path).has_option("Service", key):
                found += [(f"{path.name}: {key}", args)
                          for args in cmflow_invocations(unit(path)["Service"][key])]
    return found


# -- checking them ------------------------------------------------------------------------------------
def option_names(command: click.Command) -> dict[str, bool]:
    """Each option of ``command``: whether it takes a value."""
    return {name: not param.is_flag and not param.count for param in command.params
            if isinstance(param, click.Option) for name in (*param.opts, *param.secondary_opts)}


def problems_of(args: list[str]) -> list[str]:
    """What is wrong with ``cmflow ARGS``: an unknown subcommand or option."""
    name = args[0]
    if name not in COMMANDS:
        return [f"no command `cmflow {name}`"]
    command = main.get_command(click.Context(main), name)
    rest = args[1:]
    if isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command, rest = command.commands[rest[0]], rest[1:]
    options = option_names(command)
    problems, takes_value = [], False
    for word in rest:
        if takes_value:
            takes_value = False
            continue
        if word.startswith("-"):
            option, _, value = word.partition("=")
            if option not in options:
                problems.append(f"`cmflow {name}` has no option {option}")
            else:
                takes_value = options[option] and not value
    return problems


def test_every_cmflow_command_line_is_one_cmflow_has():
    invocations = every_invocation()
    where = {place.split(":")[0] for place, _ in invocations}
    assert where >= {"README", "compose.yaml", "cmflow-daemon.service", "cmflow-worker@.service"}, where
    assert {args[0] for _, args in invocations} >= {"daemon", "worker", "status", "outbox", "validate"}
    wrong = [f"{place}: {problem}" for place, args in invocations for problem in problems_of(args)]
    assert not wrong, "\n".join(wrong)


def test_the_finder_sees_commands_and_not_user_names():
    assert cmflow_invocations("sudo -u cmflow /opt/cmflow/bin/cmflow status /w && cmflow outbox") == [
        ["status", "/w"], ["outbox"]]
    assert cmflow_invocations("useradd --system --home-dir /var/lib/cmflow cmflow") == []
    assert cmflow_invocations("psql -U cmflow -d cmflow -c 'select 1'") == []
    assert problems_of(["daemon", "/w", "--metrics-adress", "x"]) == ["`cmflow daemon` has no option --metrics-adress"]
    assert problems_of(["deamon", "/w"]) == ["no command `cmflow deamon`"]
    assert problems_of(["outbox", "flush", "--now"]) == []


def test_the_settings_file_validates(tmp_path, monkeypatch):
    document = tomllib.loads(SETTINGS.read_text(encoding="utf-8"))
    daemon = document["daemon"]
    unknown = set(daemon) - set(DaemonOptions.model_fields)
    assert not unknown, f"{SETTINGS.name}: unknown [daemon] keys {unknown}"
    assert parse_listen_address(daemon["metrics"]).port == 9464
    monkeypatch.setenv("SMTP_PASSWORD", "secret-for-the-test")
    settings = load_daemon_settings(SETTINGS)
    assert settings.daemon.metrics == "0.0.0.0:9464" and settings.health_workflow is not None
    assert settings.daemon.executor == "celery"


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_the_env_file_holds_the_secrets_and_its_urls_agree_with_its_passwords():
    from cmflow.store import store_url_problem

    env = env_example()
    assert store_url_problem(env["CMFLOW_STORE"]) is None
    assert env["CMFLOW_STORE"] == (f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
                                   f"{env['POSTGRES_DB']}")
    for name in ("CMFLOW_BROKER", "CMFLOW_SHARED_BUDGETS"):
        assert env[name].startswith(f"redis://:{env['REDIS_PASSWORD']}@redis:6379/"), name
    assert env["CMFLOW_BROKER"] != env["CMFLOW_SHARED_BUDGETS"]  # a database each
    assert "SMTP_PASSWORD" in env  # named by the settings file's [[outputs]]
    assert all("change-me" in env[n] for n in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "SMTP_PASSWORD"))


def test_the_compose_file_has_what_the_readme_promises():
    text = COMPOSE.read_text(encoding="utf-8")
    services = compose_services()
    cmflow = compose_invocations()
    assert set(services) == {"postgres", "redis", "daemon-1", "daemon-2", "worker"}
    assert {name: args[0] for name, args in cmflow.items()} == {
        "daemon-1": "daemon", "daemon-2": "daemon", "worker": "worker"}
    for name, lines in services.items():
        assert any(line.strip() == "healthcheck:" for line in lines), f"{name} has no health check"
    assert "env_file: cmflow.env" in "\n".join(anchor_lines())
    for name in ("postgres", "redis"):
        assert any(line.strip().startswith("env_file: cmflow.env") for line in services[name]), name
    # No secret written in the file: passwords come from the env file, read inside the container.
    assert not re.search(r"(?i)(password|token|secret)\w*\s*[:=]\s*[^\s$\"]", text)
    assert not re.search(r"redis://:[^$]|postgresql://\w+:[^$]", text)
    # Metrics: published on this host's loopback only; health checks fetch the port served.
    published = [line.strip().strip("- \"") for lines in services.values() for line in lines
                 if re.match(r'^\s+- "\d', line)]
    assert published and all(p.startswith("127.0.0.1:") and p.endswith(":9464") for p in published), published
    worker_address = cmflow["worker"][cmflow["worker"].index("--metrics-address") + 1]
    metrics_port = {"daemon-1": 9464, "daemon-2": 9464, "worker": parse_listen_address(worker_address).port}
    assert parse_listen_address(tomllib.loads(SETTINGS.read_text())["daemon"]["metrics"]).port == 9464
    for name, port in metrics_port.items():
        check = flow_sequence(services[name], "test")
        assert check and f"http://127.0.0.1:{port}/metrics" in check[-1], (name, check)
    # The first daemon migrates the store: everything else of cmflow starts once it is healthy.
    for name in ("daemon-2", "worker"):
        block = "\n".join(services[name])
        assert re.search(r"depends_on:\n\s+daemon-1:\n\s+condition: service_healthy", block), name
    block = "\n".join(services["daemon-1"])
    assert all(re.search(rf"{s}:\n\s+condition: service_healthy", block) for s in ("postgres", "redis"))
    # Named volumes are declared; the image is built with the scale extra.
    declared = set(re.findall(r"(?m)^  (\w+):\s*$", text[text.index("\nvolumes:"):]))
    used = set(re.findall(r"(?m)^\s+- (\w+):/", text))
    assert used and used <= declared, (used, declared)
    dockerfile = re.search(r"dockerfile: (\S+)", text).group(1)
    assert 'CMFLOW_EXTRAS: "[scale]"' in text
    assert "ARG CMFLOW_EXTRAS" in (DEPLOY.parents[1] / dockerfile).read_text(encoding="utf-8")
    assert (DEPLOY / "cmflow-daemon.toml").is_file() and (DEPLOY / "cmflow.env.example").is_file()


def test_the_systemd_units_run_cmflow_as_its_user_with_the_env_file_and_a_graceful_stop():
    for path in UNITS:
        service = unit(path)["Service"]
        assert service["User"] == "cmflow" and service["KillMode"] == "mixed", path.name
        assert service["EnvironmentFile"] == "/etc/cmflow/cmflow.env", path.name
        assert service["ExecStart"].startswith("/opt/cmflow/bin/cmflow "), path.name
        args = cmflow_invocations(service["ExecStart"])[0]
        address = args[args.index("--metrics-address") + 1].replace("%i", "9465")
        assert parse_listen_address(address).loopback, path.name
        assert "--config" in args and args[args.index("--config") + 1] == "/etc/cmflow/cmflow-daemon.toml"


@pytest.mark.parametrize("page", ["../metrics.md", "../daemon.md", "../http.md", "../schedules.md"])
def test_the_readme_links_to_pages_that_exist(page):
    assert f"]({page}" in README.read_text(encoding="utf-8")
    assert (DEPLOY / page).resolve().is_file()


def test_the_container_image_installs_what_the_pdf_reports_need():
    """Workers in the container write PDF reports: the image installs the Pango library and the
    fonts that .ci/run installs for the report tests (one list to keep in step with the other)."""
    ci_packages = re.search(r"for package in (.*?); do", (DEPLOY.parents[1] / ".ci" / "run").read_text(encoding="utf-8"),
                            re.S).group(1).replace("\\\n", " ").split()
    for_reports = [p for p in ci_packages if p.startswith(("libpango", "fonts-"))]
    assert len(for_reports) >= 4, ci_packages
    containerfile = (DEPLOY.parent / "Containerfile.daemon").read_text(encoding="utf-8")
    run_stage = containerfile[containerfile.rindex("\nFROM "):]
    installed = set(" ".join(re.findall(r"apt-get install[^&]*", run_stage.replace("\\\n", " "))).split())
    assert not set(for_reports) - installed, set(for_reports) - installed
