"""Fuzz: no route answers a 5xx, whatever numbers, nesting or text a request carries, on both engines.

Every operation the app serves (its own OpenAPI document: paths, methods, query and path parameters)
gets requests whose body fields are those of Tradovate's official request schema for that path
(autoliq's own schema for its `/_autoliq` paths and for the few `/v1` paths Tradovate's snapshot lacks),
each filled with a valid value or a hostile one: integers beyond int64, numbers beyond any price,
JSON nested 1,000 deep, wrong types, dates at and beyond 2000..2100, and odd text (NUL, lone
surrogates, 10,000 characters, JSON-looking and SQL-looking text). In process, as `autoliq serve`
runs (the sandbox clock, tokens by the machine's clock), bounded in examples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap
from tests.conftest import ADMIN_PW, World, bearer, login, make_settings
from tests.contract import tradovate_document  # the official schemas: read here only

EXAMPLES = 1000
"""Requests per engine (about 4 s in process on either engine)."""
ORDER_NUMBERS = {"orderQty", "price", "stopPrice"}
"""Order sizes and prices: drawn like any field in the first test; the second fuzzes only the order
routes, each request a valid order or price list with one hostile size or price (the caps and the
price bounds must refuse them without a 5xx)."""
ORDER_PATHS = {"/v1/order/placeorder", "/v1/order/modifyorder", "/_autoliq/prices"}


class Raw(str):
    """JSON text spliced into a body as is (numbers JSON can spell and Python cannot: `1e400`)."""


DEEP = Raw("[" * 50_000 + "]" * 50_000)
"""Deeper than any recursion limit: Hypothesis raises the interpreter's while it runs a test, so the
1,000 levels that fail under the default limit may decode here (100 KB, well under the 1 MiB limit)."""
HOSTILE_INTEGERS = [2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 2**31, 2**53 + 1, -1, 0]
HOSTILE_NUMBERS = [1e308, -1e308, 1e20, 5e-324, Raw("1e400"), Raw("-1e400"), Raw("1E+999999"), 2**63, 0.1]
ODD_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "\u202e\u0000",
    "😀" * 50,
    "x" * 10_000,
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2100-01-01T00:00:00.000001Z",
    "1999-12-31T23:59:59Z",
    "2026-12-02T17:00:00",
    "-1",
    "1e999",
    "NaN",
    "null",
    "{}",
    "' OR 1=1 --",
    "%s%n%x",
    "../../etc/passwd",
]
TIMES = ["2026-12-02T17:00:00Z", "2099-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "2000-01-01T00:00:00Z"]
WRONG_TYPES: list[Any] = [
    None,
    True,
    [],
    {},
    [1, 2],
    {"a": 1},
    DEEP,
    Raw('{"a":' * 50_000 + "1" + "}" * 50_000),
]


def _dump(value: Any) -> str:
    """`value` as JSON text, `Raw` parts spliced in as they are."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value)


@dataclass(frozen=True)
class Operation:
    """One route and method, with what may be sent to it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    """(name, `in`) of its parameters (`query` or `path`)."""
    body: dict[str, Any] | None
    """The request body's JSON Schema (properties resolved against `document`), None without one."""
    document: dict[str, Any]


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    for _ in range(20):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/components/schemas/"):
            break
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def operations(app_document: dict[str, Any]) -> list[Operation]:
    """Every operation of the app; body schemas from Tradovate's document where it has the path."""
    official = tradovate_document()
    found = []
    for path, methods in sorted(app_document["paths"].items()):
        if path.startswith("/_autoliq/docs") or path == "/v1/websocket":
            continue
        for method, operation in sorted(methods.items()):
            params = tuple(
                (p["name"], p["in"]) for p in operation.get("parameters", []) if p["in"] in ("query", "path")
            )
            body, document = _body_schema(operation), app_document
            theirs = (
                official["paths"].get(path.removeprefix("/v1"), {}).get(method)
                if path.startswith("/v1/")
                else None
            )
            if theirs is not None and _body_schema(theirs) is not None:
                body, document = _body_schema(theirs), official
            found.append(Operation(method.upper(), path, params, body, document))
    return found


def _values(
    schema: dict[str, Any], document: dict[str, Any], ids: list[int], depth: int
) -> st.SearchStrategy[Any]:
    """A valid-looking or hostile value for a field of `schema`."""
    schema = _resolve(schema, document)
    kind = schema.get("type")
    choices: list[st.SearchStrategy[Any]] = [st.sampled_from(WRONG_TYPES)]
    if "enum" in schema:
        choices.append(st.sampled_from(schema["enum"]))
    if kind == "integer":
        choices += [st.sampled_from(HOSTILE_INTEGERS), st.sampled_from(ids), st.integers()]
    elif kind == "number":
        choices += [st.sampled_from(HOSTILE_NUMBERS), st.floats(allow_nan=False, allow_infinity=False)]
    elif kind == "string":
        choices += [st.sampled_from(ODD_STRINGS), st.text(max_size=20)]
        if schema.get("format") == "date-time":
            choices.append(st.sampled_from(TIMES))
    elif kind == "boolean":
        choices.append(st.booleans())
    elif kind == "array" and depth < 3:
        items = schema.get("items", {})
        choices.append(st.lists(_values(items, document, ids, depth + 1), max_size=3))
    elif (kind == "object" or "properties" in schema) and depth < 3:
        choices.append(_objects(schema, document, ids, depth + 1))
    return st.one_of(choices)


def _objects(
    schema: dict[str, Any], document: dict[str, Any], ids: list[int], depth: int
) -> st.SearchStrategy[Any]:
    schema = _resolve(schema, document)
    properties = schema.get("properties", {})
    return st.fixed_dictionaries(
        {},
        optional={name: _values(sub, document, ids, depth) for name, sub in properties.items()},
    )


@dataclass(frozen=True)
class Request:
    """A generated request."""

    method: str
    path: str
    query: dict[str, str]
    body: str | None

    def __str__(self) -> str:
        body = (
            self.body
            if self.body is None or len(self.body) < 300
            else f"{self.body[:300]}... ({len(self.body)} chars)"
        )
        return f"{self.method} {self.path} {self.query} {body}"


def requests(ops: list[Operation], ids: list[int], *, order_numbers: bool) -> st.SearchStrategy[Request]:
    """A request to one of `ops`: hostile parameters, a hostile body (or a hostile whole document)."""
    query_values = st.one_of(
        st.sampled_from([str(v) for v in HOSTILE_INTEGERS] + ["1e400", "1,2,x", "1," * 200, "-0"]),
        st.sampled_from([str(i) for i in ids]),
        st.sampled_from(["", "\x00", "a b", "😀", "x" * 1000, "%00", "%ff", "9999-12-31T23:59:59Z"]),
    )

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        op = draw(st.sampled_from(ops))
        path, query = op.path, {}
        for name, where in op.query:
            value = draw(query_values)
            if where == "path":
                # Percent-encoded as a client must send it (a raw NUL is not a URL at all).
                path = path.replace("{" + name + "}", quote(value, safe="") or "0")
            elif draw(st.booleans()):
                query[name] = value
        body = None
        if op.method in ("POST", "PUT", "PATCH"):
            if op.body is None:
                body = draw(st.sampled_from(["", "{}", str(DEEP)]))
            elif draw(st.integers(0, 9)) == 0:
                body = _dump(draw(st.sampled_from(WRONG_TYPES)))
            else:
                fields = draw(_objects(op.body, op.document, ids, 1))
                if order_numbers and op.path in ORDER_PATHS:
                    fields = _with_order_numbers(draw, op, fields)
                body = _dump(fields)
        return Request(op.method, path, query, body)

    return build()


def _with_order_numbers(draw: st.DrawFn, op: Operation, fields: Any) -> Any:
    """A valid order or price list whose size or price is out of range."""
    hostile = st.sampled_from(HOSTILE_INTEGERS + HOSTILE_NUMBERS)
    if op.path == "/_autoliq/prices":
        return {"prices": [{"symbol": "ESZ6", "price": draw(hostile)}]}
    order = {
        "accountId": 0,
        "action": "Buy",
        "symbol": "ESZ6",
        "orderType": "Limit",
        "orderQty": 1,
        "price": 5000.25,
    }
    if isinstance(fields, dict) and isinstance(fields.get("accountId"), int):
        order["accountId"] = fields["accountId"]
    order[draw(st.sampled_from(sorted(ORDER_NUMBERS)))] = draw(hostile)
    return order


# -- the app, as `autoliq serve` runs it --


@pytest.fixture
def served(world: World) -> Iterator[tuple[TestClient[Any], dict[str, str], list[Operation], list[int]]]:
    """The app over the seeded world with the sandbox clock (a fuzzed clock move or reset must not log
    the admin out), the admin's headers, the operations, and ids worth trying."""
    services: Services = bootstrap(make_settings(world.database_url), run_migrations=False)
    app = create_app(services)
    with TestClient(app=app) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        r = client.post(
            "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 5000.25}]}, headers=admin
        )
        assert r.status_code == 200, r.text
        ids = [*world.demo_account_ids[:3], world.other_account_ids[0], 1]
        yield client, admin, operations(app.openapi_schema.to_schema()), ids


def _send(client: TestClient[Any], headers: dict[str, str], request: Request) -> Any:
    content = None if request.body is None else request.body.encode("utf-8", "surrogatepass")
    extra = {} if content is None else {"content-type": "application/json"}
    r = client.request(
        request.method, request.path, params=request.query, content=content, headers={**headers, **extra}
    )
    if request.path == "/_autoliq/faults" and request.method == "POST":
        # A fault armed by the fuzz would answer later calls 500 on purpose: disarm it at once.
        assert client.delete("/_autoliq/faults", headers=headers).status_code == 200
    return r


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def test_every_route_when_fuzzed_with_out_of_range_numbers_deep_nesting_and_odd_text_then_no_server_error(
    served: tuple[TestClient[Any], dict[str, str], list[Operation], list[int]],
) -> None:
    client, admin, ops, ids = served
    assert len(ops) > 60, [o.path for o in ops]  # every route, not a few

    @FUZZ
    @given(request=requests(ops, ids, order_numbers=False))
    def run(request: Request) -> None:
        r = _send(client, admin, request)
        assert r.status_code < 500, f"{request!s}: {r.status_code} {r.text[:300]}"

    run()
    assert client.get("/_autoliq/clock", headers=admin).status_code == 200


def test_order_numbers_when_out_of_range_then_no_server_error(
    served: tuple[TestClient[Any], dict[str, str], list[Operation], list[int]],
) -> None:
    client, admin, ops, ids = served
    order_ops = [o for o in ops if o.path in ORDER_PATHS and o.method == "POST"]

    @settings(FUZZ, max_examples=60)
    @given(request=requests(order_ops, ids, order_numbers=True))
    def run(request: Request) -> None:
        r = _send(client, admin, request)
        assert r.status_code < 500, f"{request!s}: {r.status_code} {r.text[:300]}"

    run()
