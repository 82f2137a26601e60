"""Derive the Tradovate schemas the tests validate against from Tradovate's official OpenAPI document.

Tradovate's document lives beside the repository (`../shared/tradovate/openapi-<date>.json`), not in
it. The tests read `tests/data/tradovate_schemas.json` instead, written by this script: the paths
autoliq serves under `/v1` (REST routes and the WebSocket's `user/syncrequest`) that Tradovate
documents (every method Tradovate declares for them), their parameters, request bodies and
responses, and every schema of `components/schemas` they reach. Only
facts are kept (names, types, formats, enums, required lists, `$ref`s, items, properties, bounds);
every description, summary, title, example and tag is dropped. The result is still an OpenAPI 3.1
document, whose response objects carry the empty `description` that the format requires. A keyword
this script does not know stops it, so that nothing which constrains a value is silently lost.

    python scripts/derive_tradovate_schemas.py [SOURCE.json] [--output FILE] [--check]

`--check` writes nothing and exits 1 when FILE differs from what SOURCE gives (a test does the same).
The output is deterministic: keys sorted, two-space indentation, ASCII, one final newline.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_TRADOVATE = REPO_ROOT.parent / "shared" / "tradovate"
OUTPUT = REPO_ROOT / "tests" / "data" / "tradovate_schemas.json"
API_PREFIX = "/v1"
DERIVED_TITLE = "Tradovate REST API: the paths autoliq serves (scripts/derive_tradovate_schemas.py)"

# Schema keywords kept (they constrain or name values) and dropped (they only explain); any other
# keyword is an error.
SCHEMA_KEPT = frozenset(
    {
        "$ref",
        "type",
        "format",
        "enum",
        "const",
        "required",
        "properties",
        "items",
        "additionalProperties",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "default",
        "nullable",
    }
)
PROSE = frozenset({"description", "summary", "title", "example", "examples", "externalDocs", "$comment"})
OPERATION_KEPT = frozenset({"operationId", "parameters", "requestBody", "responses"})
OPERATION_DROPPED = PROSE | {"tags"}
PARAMETER_KEPT = frozenset({"name", "in", "required", "schema"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
COMPONENT_REF = re.compile(r"^#/components/schemas/([^/]+)$")


class DeriveError(Exception):
    """Tradovate's document has a shape this script does not know how to trim safely."""


def _check_keys(node: Mapping[str, Any], kept: Iterable[str], dropped: Iterable[str], where: str) -> None:
    unknown = sorted(set(node) - set(kept) - set(dropped))
    unknown = [key for key in unknown if not key.startswith("x-")]
    if unknown:
        raise DeriveError(f"unknown keyword(s) {', '.join(unknown)} at {where}")


def trim_schema(schema: Mapping[str, Any], where: str) -> dict[str, Any]:
    """`schema` with only the keywords that constrain or name values, recursively."""
    _check_keys(schema, SCHEMA_KEPT, PROSE, where)
    trimmed: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in SCHEMA_KEPT:
            continue
        if key == "properties":
            trimmed[key] = {name: trim_schema(sub, f"{where}.{name}") for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            trimmed[key] = trim_schema(value, f"{where}[{key}]")
        else:
            trimmed[key] = value
    return trimmed


def _content(content: Mapping[str, Any], where: str) -> dict[str, Any]:
    trimmed: dict[str, Any] = {}
    for media_type, media in content.items():
        _check_keys(media, {"schema"}, PROSE, f"{where}.{media_type}")
        trimmed[media_type] = {"schema": trim_schema(media["schema"], f"{where}.{media_type}")}
    return trimmed


def trim_operation(operation: Mapping[str, Any], where: str) -> dict[str, Any]:
    """An operation's parameters, request body and responses, without prose."""
    _check_keys(operation, OPERATION_KEPT, OPERATION_DROPPED, where)
    trimmed: dict[str, Any] = {}
    if "operationId" in operation:
        trimmed["operationId"] = operation["operationId"]
    parameters = []
    for parameter in operation.get("parameters", []):
        name = f"{where} parameter {parameter.get('name')}"
        _check_keys(parameter, PARAMETER_KEPT, PROSE, name)
        kept = {key: value for key, value in parameter.items() if key in PARAMETER_KEPT}
        if "schema" in kept:
            kept["schema"] = trim_schema(kept["schema"], name)
        parameters.append(kept)
    if parameters:
        trimmed["parameters"] = parameters
    if "requestBody" in operation:
        body = operation["requestBody"]
        _check_keys(body, {"content", "required"}, PROSE, f"{where} requestBody")
        trimmed["requestBody"] = {
            key: _content(value, f"{where} requestBody") if key == "content" else value
            for key, value in body.items()
            if key in ("content", "required")
        }
    responses: dict[str, Any] = {}
    for status, response in operation["responses"].items():
        _check_keys(response, {"content"}, PROSE, f"{where} response {status}")
        # OpenAPI requires a response description: an empty one keeps the document valid.
        responses[status] = {"description": ""}
        if "content" in response:
            responses[status]["content"] = _content(response["content"], f"{where} response {status}")
    trimmed["responses"] = responses
    return trimmed


def _component_refs(node: object) -> set[str]:
    """Names of the `components/schemas` entries that `node` refers to directly."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                match = COMPONENT_REF.match(value)
                if match is None:
                    raise DeriveError(f"$ref {value!r} does not point into components/schemas")
                found.add(match.group(1))
            else:
                found |= _component_refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _component_refs(value)
    return found


def derive(document: Mapping[str, Any], served_paths: Iterable[str], source_name: str) -> dict[str, Any]:
    """The trimmed document: Tradovate's entries for `served_paths` (with `/v1`) and what they reach."""
    tradovate_paths: dict[str, Any] = document["paths"]
    paths: dict[str, Any] = {}
    for served in sorted(set(served_paths)):
        if not served.startswith(API_PREFIX + "/"):
            continue
        path = served[len(API_PREFIX) :]
        operations = tradovate_paths.get(path)
        if operations is None:
            continue  # a path Tradovate's document lacks (tests/contract.py has its own schema for it)
        _check_keys(operations, HTTP_METHODS, PROSE, path)
        paths[path] = {
            method: trim_operation(operation, f"{method.upper()} {path}")
            for method, operation in operations.items()
            if method in HTTP_METHODS
        }
    all_schemas: dict[str, Any] = document["components"]["schemas"]
    reached: set[str] = set()
    pending = _component_refs(paths)
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        if name not in all_schemas:
            raise DeriveError(f"$ref to a missing schema {name!r}")
        reached.add(name)
        pending |= _component_refs(all_schemas[name])
    components: dict[str, Any] = {
        "schemas": {name: trim_schema(all_schemas[name], name) for name in sorted(reached)}
    }
    security = document["components"].get("securitySchemes")
    if security:
        components["securitySchemes"] = {
            name: {key: value for key, value in scheme.items() if key not in PROSE}
            for name, scheme in security.items()
        }
    return {
        "openapi": document["openapi"],
        "info": {"title": DERIVED_TITLE, "version": document["info"]["version"]},
        "x-derived-from": source_name,
        "paths": paths,
        "components": components,
    }


def render(derived: Mapping[str, Any]) -> str:
    """The derived document as the exact text committed (a re-run gives identical bytes)."""
    return json.dumps(derived, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def served_v1_paths() -> list[str]:
    """The `/v1` paths autoliq serves: its app's routes (read from its controllers, without a
    database) and `user/syncrequest`, which its WebSocket answers itself."""
    sys.path.insert(0, str(REPO_ROOT / "src"))  # run from a checkout whose package is not installed
    from litestar import Litestar
    from litestar.di import Provide

    from autoliq.api.app import CONTROLLERS
    from autoliq.api.websocket.protocol import SYNC_REQUEST

    def no_services() -> None:
        return None

    # Only the route table is read: no handler runs, so the dependency need not be real.
    app = Litestar(
        route_handlers=CONTROLLERS,
        dependencies={"services": Provide(no_services, sync_to_thread=False)},
        openapi_config=None,
    )
    routes = {route.path for route in app.routes if route.path.startswith(API_PREFIX + "/")}
    return sorted(routes | {f"{API_PREFIX}/{SYNC_REQUEST}"})


def default_source(folder: Path = SHARED_TRADOVATE) -> Path:
    """The newest dated official document in `folder` (`openapi-YYYY-MM-DD.json`)."""
    dated = sorted(folder.glob("openapi-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].json"))
    if not dated:
        raise FileNotFoundError(f"no openapi-YYYY-MM-DD.json in {folder}")
    return dated[-1]


def derive_text(source: Path) -> str:
    """The text `source` gives for autoliq's served paths."""
    document = json.loads(source.read_text(encoding="utf-8"))
    return render(derive(document, served_v1_paths(), source.name))


def main(argv: list[str] | None = None) -> int:
    """Write (or with `--check`, compare) the derived file; the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", nargs="?", type=Path, help="official OpenAPI JSON (default: newest dated)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        source: Path = args.source or default_source()
        text = derive_text(source)
    except (OSError, ValueError, DeriveError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            print(f"{output} is stale against {source}: rerun scripts/derive_tradovate_schemas.py")
            return 1
        print(f"{output} is up to date with {source}")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
