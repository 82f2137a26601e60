"""tests/data/tradovate_schemas.json, the Tradovate schemas the contract tests read: derived from the
official document beside the repository by scripts/derive_tradovate_schemas.py, facts only, and fresh.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.contract import TRADOVATE_SCHEMAS, tradovate_document

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "derive_tradovate_schemas.py"


def load_script() -> ModuleType:
    """scripts/derive_tradovate_schemas.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("derive_tradovate_schemas", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


derive_script = load_script()

# A miniature official document: prose everywhere, one served path, one path autoliq does not serve.
OFFICIAL: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Official title", "version": "1.0.0", "description": "prose"},
    "servers": [{"url": "https://example.test/v1", "description": "prose"}],
    "paths": {
        "/thing/item": {
            "get": {
                "operationId": "thing-item",
                "summary": "prose",
                "description": "prose",
                "tags": ["Things"],
                "parameters": [
                    {
                        "name": "id",
                        "in": "query",
                        "required": True,
                        "description": "prose",
                        "schema": {"type": "integer", "format": "int64", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "prose",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                    }
                },
            },
            "post": {
                "requestBody": {
                    "description": "prose",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Kind"}}},
                },
                "responses": {"200": {"description": "prose"}},
            },
        },
        "/other/item": {
            "get": {
                "responses": {
                    "200": {
                        "description": "prose",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Other"}}},
                    }
                }
            }
        },
    },
    "components": {
        "schemas": {
            "Thing": {
                "title": "Thing",
                "description": "prose",
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "integer", "format": "int64", "description": "prose"},
                    "kind": {"$ref": "#/components/schemas/Kind"},
                    "tags": {"type": "array", "items": {"type": "string", "maximum": 3, "example": "x"}},
                },
            },
            "Kind": {"title": "Kind", "type": "string", "enum": ["A", "B"], "description": "prose"},
            "Other": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "prose"}},
    },
}


PROSE_KEYS = {"summary", "title", "example", "examples", "externalDocs", "tags"}


def prose_found(node: object, where: str = "$") -> list[str]:
    """Locations in `node` of keys that only explain (or of non-empty descriptions)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}"
            if where.endswith(".properties"):
                found.extend(prose_found(value, here))  # a field name, not a keyword
            elif (key in PROSE_KEYS and where != "$.info") or (key == "description" and value != ""):
                found.append(here)  # ($.info.title is the derived document's own, not Tradovate's)
            else:
                found.extend(prose_found(value, here))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(prose_found(value, f"{where}[{index}]"))
    return found


def test_derive_when_official_document_given_then_served_paths_and_their_schemas_without_prose() -> None:
    derived = derive_script.derive(OFFICIAL, ["/v1/thing/item", "/v1/websocket", "/_autoliq/x"], "doc.json")

    assert derived["paths"] == {
        "/thing/item": {
            "get": {
                "operationId": "thing-item",
                "parameters": [
                    {
                        "name": "id",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "integer", "format": "int64", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                    }
                },
            },
            "post": {
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Kind"}}}
                },
                "responses": {"200": {"description": ""}},
            },
        }
    }
    assert derived["components"] == {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "kind": {"$ref": "#/components/schemas/Kind"},
                    "tags": {"type": "array", "items": {"type": "string", "maximum": 3}},
                },
            },
            "Kind": {"type": "string", "enum": ["A", "B"]},
        },  # `Other` is reached only from a path autoliq does not serve
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    }
    assert derived["x-derived-from"] == "doc.json"
    assert derived["info"] == {"title": derive_script.DERIVED_TITLE, "version": "1.0.0"}
    assert "servers" not in derived
    assert prose_found(derived) == []


def test_derive_when_keyword_unknown_then_refused_rather_than_dropped() -> None:
    document: dict[str, Any] = {
        **OFFICIAL,
        "components": {
            "schemas": {**OFFICIAL["components"]["schemas"], "Kind": {"oneOf": [{"type": "string"}]}}
        },
    }

    with pytest.raises(derive_script.DeriveError, match="oneOf at Kind"):
        derive_script.derive(document, ["/v1/thing/item"], "doc.json")


def test_render_when_run_twice_on_reordered_input_then_identical_bytes() -> None:
    derived = derive_script.derive(OFFICIAL, ["/v1/thing/item"], "doc.json")
    reordered = dict(reversed(list(derived.items())))

    text = derive_script.render(derived)

    assert text == derive_script.render(reordered)
    assert text.endswith("}\n")
    assert text.isascii()


def test_committed_file_when_read_then_has_no_prose_and_the_schemas_the_tests_use() -> None:
    document = tradovate_document()

    assert prose_found(document) == []
    assert {"AccountRiskStatus", "Account", "SetAdminAutoLiqAction", "PlaceOrderResult"} <= set(
        document["components"]["schemas"]
    )
    assert "/accountRiskStatus/setadminautoliqaction" in document["paths"]


def test_committed_file_when_regenerated_from_shared_then_identical() -> None:
    try:
        source = derive_script.default_source()
    except FileNotFoundError:
        pytest.skip(
            f"Tradovate's documents are not beside the repository ({derive_script.SHARED_TRADOVATE}): "
            "the freshness of tests/data/tradovate_schemas.json is checked where they are"
        )

    expected = derive_script.derive_text(source)

    assert TRADOVATE_SCHEMAS.read_text(encoding="utf-8") == expected, (
        f"{TRADOVATE_SCHEMAS} is stale against {source}: run scripts/derive_tradovate_schemas.py"
    )
