"""The JSON Schema of workflow files, built from the installed plugins' option models.

Editors with a TOML language server (Taplo, Even Better TOML) validate and complete a
workflow as it is typed: each entry of ``sources``/``metrics``/... is a ``oneOf`` of the
plugins of that kind, selected by the value of ``plugin``.
"""

from __future__ import annotations

from typing import Any

from cmflow.plugins.entries import ENTRY_MODELS, SECTION_OF_KIND
from cmflow.plugins.registry import PluginRegistry
from cmflow.workflow import (ClientEntry, ListenSettings, ObjectiveEntry, ProductionSettings, StoreSettings,
                             WorkflowSettings)

SCHEMA_ID = "https://cmflow.dev/schema/workflow.json"


def workflow_schema(registry: PluginRegistry) -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    properties: dict[str, Any] = {
        "workflow": _inline(WorkflowSettings.model_json_schema(), definitions),
        "store": _inline(StoreSettings.model_json_schema(), definitions),
        "listen": _inline(ListenSettings.model_json_schema(), definitions),
        "production": _inline(ProductionSettings.model_json_schema(), definitions),
    }
    for kind, section in SECTION_OF_KIND.items():
        common = _inline(ENTRY_MODELS[kind].model_json_schema(), definitions)
        variants = []
        for info in registry:
            if info.kind != kind:
                continue
            options = _inline(info.cls.Options.model_json_schema(), definitions)
            merged_properties = {**common.get("properties", {}), **options.get("properties", {})}
            merged_properties["plugin"] = {"const": info.name, "description": info.description}
            required = sorted(set(common.get("required", [])) | set(options.get("required", [])))
            variant = {
                "title": f"{kind} {info.name}",
                "description": info.description,
                "type": "object",
                "properties": merged_properties,
                "required": required,
                "additionalProperties": False,
            }
            variants.append(variant)
        properties[section] = {
            "type": "array",
            "description": f"[[{section}]] entries, one per {kind}.",
            "items": {"oneOf": variants} if variants else {"type": "object"},
        }
    for section, model in (("clients", ClientEntry), ("objectives", ObjectiveEntry)):
        properties[section] = {
            "type": "array",
            "description": f"[[{section}]] entries: {model.__doc__.splitlines()[0]}",
            "items": {**_inline(model.model_json_schema(by_alias=True), definitions), "additionalProperties": False},
        }
    return json_schema_bounds({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "cmflow workflow",
        "type": "object",
        "properties": properties,
        "required": ["workflow", "sources"],
        "additionalProperties": False,
        "$defs": definitions,
    })


_BOUND_KEYWORDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def json_schema_bounds(node: Any, names: bool = False) -> Any:
    """``node`` (a JSON Schema pydantic made) with its bounds in JSON Schema's words: pydantic
    writes the bounds of a number it cannot place in the schema (an optional ``Number`` with
    ``Field(ge=0)``) as ``ge``/``le``/``gt``/``lt``, words no editor reads: they become JSON
    Schema's ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``.
    ``names``: ``node`` maps option names (``properties``, ``$defs``), which stay as they are."""
    if isinstance(node, list):
        return [json_schema_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {(key if names or not isinstance(value, (int, float)) else _BOUND_KEYWORDS.get(key, key)):
            json_schema_bounds(value, names=not names and key in ("properties", "$defs", "patternProperties"))
            for key, value in node.items()}


def _inline(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """Move a model schema's ``$defs`` to the top level, where its ``$ref``s point."""
    schema = dict(schema)
    definitions.update(schema.pop("$defs", {}))
    schema.pop("title", None)
    return schema
