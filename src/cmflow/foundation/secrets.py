"""Secrets: ``${env:NAME}`` interpolation and redaction.

Workflow files never hold secrets: they name environment variables (or keys of a ``.env``
file beside the workflow, read by :mod:`cmflow.foundation.env_files`). Every value interpolated this way is remembered by the process-wide
:data:`redactor`, and replaced by ``***`` in log lines, error messages and reports.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE_START = re.compile(r"\$\{|(?<!\$)\{\s*env\s*:|^\$[A-Z_][A-Z0-9_]*$|\$env:", re.IGNORECASE)
"""Where a reference was meant: ``${``, ``{env:`` without its ``$``, ``$env:NAME``, or a whole
value written the shell's way (``$NAME``)."""
MASK = "***"


class Redactor:
    """Replaces known secret values in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, value: str) -> None:
        if len(value) >= 4:  # masking "1" or "on" would mangle every message
            from urllib.parse import quote, quote_plus

            # The same secret inside a URL (a token in a query string) appears percent-encoded.
            self._secrets.update({value, quote(value, safe=""), quote_plus(value), quote(value)})

    def known(self) -> frozenset[str]:
        """The values masked now (to put back with :meth:`forget_all_but`)."""
        return frozenset(self._secrets)

    def forget_all_but(self, kept: frozenset[str]) -> None:
        """Stop masking the values learnt since :meth:`known` gave ``kept``: a process that
        serves many runs keeps no run's secrets after it (it does not need them, and a
        thousand workflows' secrets would slow every log line)."""
        self._secrets.intersection_update(kept)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text


redactor = Redactor()


class FromEnvironment(str):
    """A string read through ``${env:NAME}``: text by nature, so an option that takes a number
    takes it as written (``threshold = "${env:THRESHOLD}"``), where a number written in quotes
    in the file is refused (see :data:`cmflow.plugins.option_types.Number`)."""


def mark_secret(value: str) -> None:
    """Mask ``value`` as ``***`` wherever cmflow prints it (logs, errors, reports, the outbox).

    Values a workflow reads through ``${env:NAME}`` are marked already; a plugin marks the
    secrets it builds or receives otherwise (a webhook URL given in Python, a refreshed token).
    Values shorter than 4 characters are not masked: that would mangle every message."""
    redactor.add(value)


def interpolate(
    value: Any, path: str, env: Mapping[str, str], missing: list[tuple[str, str]], secret_paths: set[str],
    malformed: list[tuple[str, str]] | None = None,
) -> Any:
    """Replace ``${env:NAME}`` in every string of a parsed TOML value.

    Unset names are appended to ``missing`` as (key path, name); paths that received an
    environment value are added to ``secret_paths``; references cmflow cannot read
    (``${ENV:X}``, ``${env:}``, ``$X`` ...) to ``malformed`` as (key path, what to write instead).
    A string that received one is a :class:`FromEnvironment`.
    """
    if isinstance(value, str):
        if malformed is not None:
            malformed.extend((path, problem) for problem in reference_problems(value))
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in os.environ:
                resolved = os.environ[name]
            elif name in env:
                resolved = env[name]
            else:
                missing.append((path, name))
                return match.group(0)
            redactor.add(resolved)
            secret_paths.add(path)
            return resolved

        resolved_value, references = ENV_REFERENCE.subn(substitute, value)
        return FromEnvironment(resolved_value) if references and path in secret_paths else resolved_value
    if isinstance(value, dict):
        return {k: interpolate(v, f"{path}.{k}" if path else k, env, missing, secret_paths, malformed)
                for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{path}[{i}]", env, missing, secret_paths, malformed)
                for i, v in enumerate(value)]
    return value


def reference_problems(text: str) -> list[str]:
    """What is wrong with each reference in ``text`` that is not a readable ``${env:NAME}``."""
    problems: list[str] = []
    position = 0
    while match := _REFERENCE_START.search(text, position):
        start = match.start()
        if ENV_REFERENCE.match(text, start):
            position = ENV_REFERENCE.match(text, start).end()  # type: ignore[union-attr]
            continue
        end = text.find("}", start)
        fragment = text[start:end + 1] if end != -1 else text[start:]
        position = start + max(len(match.group(0)), 1)
        problems.append(_reference_problem(fragment[:60]))
    return problems


def _reference_problem(fragment: str) -> str:
    inner = fragment.lstrip("$").lstrip("{").rstrip("}")
    names = [n for n in _NAME.findall(inner) if n.lower() != "env"]
    write = f"${{env:{names[-1] if names else 'NAME'}}}"
    if fragment.count("${") > 1:
        why = "references cannot be nested: ${env:...} takes the name of one variable"
    elif not fragment.startswith("${"):
        why = "a reference is written with $ and braces"
    elif not fragment.endswith("}"):
        why = "the reference is not closed with }"
    elif not names:
        why = "the reference names no variable"
    elif not inner.startswith("env:") and inner.lower().startswith("env"):
        why = "write env in lower case, right after ${ and before the colon"
    elif not inner.lower().startswith("env"):
        why = "environment variables are read as ${env:NAME}"
    else:
        why = "a variable's name holds only letters, digits and _ (no spaces)"
    return f"{fragment!r} is not a reference cmflow reads: {why}; write {write!r}"


_URL_WITH_CREDENTIALS = re.compile(r"(?i)^\s*[a-z][a-z0-9+.-]*://[^/?#@\s]+@")


def paths_of_urls_with_credentials(value: Any, path: str) -> list[str]:
    """The key paths (``path.feeds[1]``) of strings in ``value`` that are URLs with credentials
    (``https://user:password@host/``): a secret, which must come from ``${env:NAME}``."""
    if isinstance(value, str):
        return [path] if _URL_WITH_CREDENTIALS.match(value) else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in paths_of_urls_with_credentials(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in paths_of_urls_with_credentials(v, f"{path}[{i}]")]
    return []
