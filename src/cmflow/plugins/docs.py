"""Documentation generated from a plugin's options model: never written twice.

``cmflow plugins show``, the docs pages and the sample TOML blocks all come from here, in
Telegraf's ``sample.conf`` style: a full-sentence comment per option, the commented value is
the default.
"""

from __future__ import annotations

from datetime import timedelta

import json
import textwrap
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from cmflow.plugins.entries import ENTRY_MODELS, SECTION_OF_KIND
from cmflow.plugins.kinds import default_breakdowns
from cmflow.plugins.registry import PluginInfo



@dataclass
class OptionDoc:
    name: str
    type: str
    required: bool
    default: Any
    description: str
    examples: list[Any]
    common: bool = False
    """True for keys every entry of the kind accepts (id, sources, by, when ...)."""


def option_docs(model: type[BaseModel], *, common: bool = False) -> list[OptionDoc]:
    docs = []
    schema = model.model_json_schema()
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        name = field.alias or name  # the TOML key: ``for``, not ``for_runs``
        docs.append(OptionDoc(
            name, _type_text(properties.get(name, {}), schema), field.is_required(),
            _default(field), field.description or "", list(field.examples or []), common))
    return docs


def plugin_option_docs(info: PluginInfo) -> list[OptionDoc]:
    """The plugin's own options, then the keys every entry of its kind accepts."""
    own = option_docs(info.cls.Options)
    shared = [d for d in option_docs(ENTRY_MODELS[info.kind], common=True)]
    if info.kind == "metric":  # a metric's own breakdowns when the entry gives no `by`
        shared = [replace(d, default=default_breakdowns(_with_default_options(info.cls))) if d.name == "by" else d
                  for d in shared]
    return own + shared


def _with_default_options(cls: type) -> Any:
    """The plugin configured with its default options, whose breakdowns may follow them (the
    sentiment metrics read mentions, which have no account); the class itself when an option
    is required or the plugin cannot be built without a workflow."""
    try:
        return cls(cls.Options(), entry_id=cls.name)
    except Exception:  # a required option, or a constructor that needs more: the class's own
        return cls


def sample_toml(info: PluginInfo) -> str:
    """A commented TOML block for the plugin: required options set, optional ones commented."""

    section = SECTION_OF_KIND[info.kind]
    lines = [f"# {info.description}", f"[[{section}]]", f'plugin = "{info.name}"']
    for doc in plugin_option_docs(info):
        if doc.name == "plugin":
            continue
        lines.append("")
        for comment in textwrap.wrap(doc.description or doc.name, 94):
            lines.append(f"# {comment}")
        if doc.name in info.cls.sample_options:
            lines.append(f"{doc.name} = {_toml_value(info.cls.sample_options[doc.name])}")
        elif doc.required:
            example = doc.examples[0] if doc.examples else _placeholder(doc.type)
            lines.append(f"{doc.name} = {_toml_value(example)}")
        elif doc.default is not None:
            lines.append(f"# {doc.name} = {_toml_value(doc.default)}")
        elif doc.examples:
            lines.append(f"# {doc.name} = {_toml_value(doc.examples[0])}")
        else:
            lines.append(f"# {doc.name} = {_toml_value(_placeholder(doc.type))}")
    return "\n".join(lines) + "\n"


def _default(field: FieldInfo) -> Any:
    if field.is_required():
        return None
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = None if field.default is PydanticUndefined else field.default
    if isinstance(value, timedelta):  # a Duration option: shown as written in TOML
        from cmflow.foundation.durations import format_duration

        return format_duration(value)
    if hasattr(value, "model_dump"):  # a table of options (ServiceHours): shown as its TOML values
        return value.model_dump(mode="json", exclude_none=True)
    return value


def _type_text(prop: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return _type_text(schema.get("$defs", {}).get(name, {}), schema)
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        parts = [_type_text(p, schema) for p in prop["anyOf"]]
        return " | ".join(p for p in parts if p != "null") + (" (optional)" if "null" in parts else "")
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type_text(prop.get('items', {}), schema)}"
    if kind == "object":
        inner = prop.get("additionalProperties")
        return f"table of {_type_text(inner, schema)}" if isinstance(inner, dict) else "table"
    return {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
            "null": "null"}.get(kind or "", kind or "any")


def _placeholder(type_text: str) -> Any:
    """A value of the right shape for a commented-out option that has no default or example."""
    first = type_text.removesuffix(" (optional)").split(" | ")[0]
    if first in ("integer", "number"):
        return 0
    if first == "boolean":
        return False
    if first.startswith("list"):
        return []
    if first.startswith("table"):
        return {}
    return "..."


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _toml_key(key: str) -> str:
    import re

    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
