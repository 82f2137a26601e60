"""Response validation against Tradovate's official OpenAPI document, as derived into the tests' data.

The schemas come from `tests/data/tradovate_schemas.json`, which `scripts/derive_tradovate_schemas.py`
writes from Tradovate's document (beside the repository, never copied into it): the paths autoliq
serves with every schema they reach, facts only (names, types, formats, enums, required lists); a test
(tests/unit/test_tradovate_schemas.py) fails when it is stale.

`validate_response(method, path, body)` checks a 200 answer of one of our `/v1/...` routes two ways:

1. JSON Schema (Draft 2020-12, `$ref`s into `components/schemas` resolved, `date-time` checked) against the
   200 response schema that Tradovate's document declares for that path and method;
2. no field that the official schema does not declare, at any depth: Tradovate's schemas allow additional
   properties, but autoliq must never add fields to Tradovate's entities, except the few of
   `SERVED_BEYOND_OPENAPI` (real Tradovate sends them and real clients read them; docs/api.md lists each
   with its reason, and tests/unit/test_docs.py keeps the two lists equal).

A path or method the document does not declare is an error, so a typo cannot pass silently. The
exceptions are paths Tradovate documents but its OpenAPI snapshot lacks, checked against schemas written
here from Tradovate's fact sheet: `/v1/accountRiskStatusLog/*` (`ACCOUNT_RISK_STATUS_LOG`),
`/v1/riskCategory/*` (`RISK_CATEGORY`: only `id` and `name` are published) and
`/v1/accountRiskStatus/setDemoHalt` (Tradovate's `SimpleResponse`, the answer of its sibling actions),
and `POST /v1/auth/renewaccesstoken` (the document has only GET; the same `AccessTokenResponse`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

TRADOVATE_SCHEMAS = Path(__file__).resolve().parent / "data" / "tradovate_schemas.json"
DOCUMENT_URI = "urn:tradovate:openapi-derived"
API_PREFIX = "/v1"

ADMIN_ACTIONS = [
    "AgreedOnLiqOnlyModeByAutoLiq",
    "AgreedOnLiquidationByAutoLiq",
    "DisableAutoLiq",
    "LiquidateImmediately",
    "LiquidateOnlyModeImmediately",
    "LockTradingImmediately",
    "Normal",
    "PlaceAutoLiqOnHold",
]

ACCOUNT_RISK_STATUS_LOG: dict[str, Any] = {
    "title": "AccountRiskStatusLog",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "accountId": {"type": "integer"},
        "timestamp": {"type": "string", "format": "date-time"},
        "adminAction": {"type": "string", "enum": ADMIN_ACTIONS},
        "adminTimestamp": {"type": "string", "format": "date-time"},
        "liquidateOnly": {"type": "string", "format": "date-time"},
        "userTriggeredLiqOnly": {"type": "boolean"},
        "maxNetLiq": {"type": "number"},
        "minNetLiq": {"type": "number"},
    },
    "required": ["accountId", "timestamp"],
    "additionalProperties": False,
}
_LOG_LIST: dict[str, Any] = {"type": "array", "items": ACCOUNT_RISK_STATUS_LOG}

RISK_CATEGORY: dict[str, Any] = {
    "title": "RiskCategory",
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
    "additionalProperties": False,
}
_RISK_CATEGORY_LIST: dict[str, Any] = {"type": "array", "items": RISK_CATEGORY}
_SIMPLE_RESPONSE = f"{DOCUMENT_URI}#/components/schemas/SimpleResponse"

# Response schemas of Tradovate paths missing from the OpenAPI snapshot, keyed (METHOD, path without /v1).
UNDOCUMENTED_RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/accountRiskStatusLog/list"): _LOG_LIST,
    ("GET", "/accountRiskStatusLog/item"): ACCOUNT_RISK_STATUS_LOG,
    ("GET", "/accountRiskStatusLog/items"): _LOG_LIST,
    ("GET", "/accountRiskStatusLog/deps"): _LOG_LIST,
    ("GET", "/accountRiskStatusLog/ldeps"): _LOG_LIST,
    ("GET", "/riskCategory/list"): _RISK_CATEGORY_LIST,
    ("GET", "/riskCategory/item"): RISK_CATEGORY,
    ("GET", "/riskCategory/items"): _RISK_CATEGORY_LIST,
    ("POST", "/accountRiskStatus/setDemoHalt"): {"$ref": _SIMPLE_RESPONSE},
    # Tradovate documents GET; some clients POST it, and autoliq answers both alike.
    ("POST", "/auth/renewaccesstoken"): {"$ref": f"{DOCUMENT_URI}#/components/schemas/AccessTokenResponse"},
    # FACTS.md 4b (OAUA): the same answer as the other accountRiskStatus actions.
    ("POST", "/accountRiskStatus/organizationadminunlockaccount"): {
        "$ref": f"{DOCUMENT_URI}#/components/schemas/AccountRiskStatusResponse"
    },
}

SERVED_BEYOND_OPENAPI: dict[str, dict[str, dict[str, Any]]] = {
    "AccessTokenResponse": {"mdAccessToken": {"type": "string", "minLength": 1}},
    "Account": {"active": {"type": "boolean"}, "archived": {"type": "boolean"}},
}
"""Fields autoliq serves beyond the official schema, with their schemas, by component schema name
(docs/api.md, "Fields served beyond the OpenAPI"): exactly these, nowhere else."""

# RFC 3339 `date-time` (what JSON Schema's format means); jsonschema checks it only when the optional
# rfc3339-validator package is installed, so it is checked here instead.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
)


class ContractError(AssertionError):
    """A response, or a request for validation, that does not fit Tradovate's contract."""


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings; `type` judges the rest
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("z", "Z"))  # rejects impossible dates such as month 13
    return True


def format_checker() -> jsonschema.FormatChecker:
    """jsonschema's format checker, with `date-time` enforced whatever optional packages are installed."""
    checker = jsonschema.FormatChecker()
    checker.checks("date-time", raises=ValueError)(_check_date_time)
    return checker


@cache
def tradovate_document() -> dict[str, Any]:
    """Tradovate's OpenAPI document for the paths autoliq serves (tests/data/tradovate_schemas.json)."""
    document: dict[str, Any] = json.loads(TRADOVATE_SCHEMAS.read_text(encoding="utf-8"))
    return document


@cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(tradovate_document(), default_specification=DRAFT202012)
    return Registry().with_resource(DOCUMENT_URI, resource)


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _tradovate_path(path: str) -> str:
    path = path.split("?", 1)[0]
    if not path.startswith(API_PREFIX + "/"):
        raise ContractError(f"{path!r} is not a Tradovate path (they start with {API_PREFIX}/)")
    return path[len(API_PREFIX) :]


def response_schema(method: str, path: str) -> dict[str, Any]:
    """The 200 `application/json` response schema of `method path` (`path` with its `/v1` prefix).

    Documented paths give a `$ref` into the official document (resolved by the validator's registry);
    a path or method the document lacks raises ContractError, unless it is one of UNDOCUMENTED_RESPONSES.
    """
    method = method.upper()
    tradovate_path = _tradovate_path(path)
    undocumented = UNDOCUMENTED_RESPONSES.get((method, tradovate_path))
    if undocumented is not None:
        return undocumented
    operations = tradovate_document()["paths"].get(tradovate_path)
    if operations is None:
        raise ContractError(
            f"Tradovate's OpenAPI document has no path {tradovate_path!r} (from {path!r}); if autoliq "
            "now serves it, rerun scripts/derive_tradovate_schemas.py"
        )
    operation = operations.get(method.lower())
    if operation is None:
        raise ContractError(
            f"Tradovate's OpenAPI document has no {method} {tradovate_path} (only {sorted(operations)})"
        )
    try:
        operation["responses"]["200"]["content"]["application/json"]["schema"]
    except KeyError:
        raise ContractError(f"{method} {tradovate_path} declares no 200 application/json response") from None
    pointer = "/".join(
        _pointer_escape(token)
        for token in (
            "paths",
            tradovate_path,
            method.lower(),
            "responses",
            "200",
            "content",
            "application/json",
            "schema",
        )
    )
    return {"$ref": f"{DOCUMENT_URI}#/{pointer}"}


_COMPONENT = "#/components/schemas/"


def _resolve(schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """`schema` with `$ref`s followed (to the official document, or locally within it), and the name
    of the component schema it ends at (None when it is not one)."""
    seen = 0
    component: str | None = None
    while "$ref" in schema:
        ref: str = schema["$ref"]
        if ref.startswith("#"):
            ref = DOCUMENT_URI + ref
        _, _, fragment = ref.partition("#")
        name = fragment.removeprefix(_COMPONENT[1:]) if fragment.startswith(_COMPONENT[1:]) else None
        component = name if name is not None and "/" not in name else None
        resolved = _registry().resolver().lookup(ref).contents
        if not isinstance(resolved, dict):
            raise ContractError(f"$ref {ref} does not point to a schema object")
        schema = resolved
        seen += 1
        if seen > 50:
            raise ContractError(f"$ref cycle at {ref}")
    return schema, component


def undeclared_fields(schema: dict[str, Any], instance: object, where: str = "$") -> list[str]:
    """Locations of object keys in `instance` that `schema` (and its nested schemas) do not declare,
    but for the fields `SERVED_BEYOND_OPENAPI` allows on its component schema."""
    schema, component = _resolve(schema)
    allowed = SERVED_BEYOND_OPENAPI.get(component or "", {})
    for keyword in ("anyOf", "oneOf", "allOf", "if", "patternProperties", "prefixItems"):
        if keyword in schema:
            raise ContractError(f"undeclared-field check does not support {keyword!r} (at {where})")
    found: list[str] = []
    if isinstance(instance, dict):
        declared: dict[str, Any] = schema.get("properties", {})
        for key, value in instance.items():
            if key in allowed:
                if not jsonschema.Draft202012Validator(allowed[key]).is_valid(value):
                    found.append(f"{where}.{key} (not {allowed[key]})")
                continue
            if key not in declared:
                found.append(f"{where}.{key}")
            else:
                found.extend(undeclared_fields(declared[key], value, f"{where}.{key}"))
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(instance):
            found.extend(undeclared_fields(schema["items"], value, f"{where}[{index}]"))
    return found


def validate_response(method: str, path: str, body: object) -> None:
    """Raise if `body`, the 200 answer of `method path`, breaks Tradovate's official schema or adds fields.

    Schema violations raise `jsonschema.ValidationError`; undeclared fields and unknown paths raise
    ContractError. Both are AssertionError-like failures in a test.
    """
    schema = response_schema(method, path)
    validator = jsonschema.Draft202012Validator(schema, registry=_registry(), format_checker=format_checker())
    error = best_match(validator.iter_errors(body))
    if error is not None:
        raise error
    extra = undeclared_fields(schema, body)
    if extra:
        raise ContractError(f"{method.upper()} {path}: fields not in Tradovate's schema: {', '.join(extra)}")
