"""`FakeRiskApi`: Tradovate's risk API in memory, behind `httpx.MockTransport`, for the operator CLI's
unit tests (the SDK accepts any httpx transport). It answers what the CLI uses: login, account and
risk status lists, `accountRiskStatus/deps` and `items`, setadminautoliqaction, the status log and
(optionally) autoliq's `/_autoliq/audit` and bulk setadminautoliqaction, and records every request.
Faults are scripted per account, and met by an account in a bulk request as in a single one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "fake-admin-pw"
TOKEN = "fake-token"

# Scripted faults of a setadminautoliqaction call, consumed in order per account:
FAULT_500 = "500"
"""HTTP 500, the action NOT applied."""
FAULT_500_APPLIED = "500-applied"
"""HTTP 500 although the action WAS applied (the answer is what failed)."""
FAULT_DENIED = "401"
"""HTTP 401 Access is denied."""
FAULT_TICKET = "ticket"
"""A penalty ticket (p-time 0): not processed; the SDK resends with the ticket."""


SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
BULK_SET_ACTION = "/_autoliq/bulk/setadminautoliqaction"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    status: int = 0
    """The status answered (bulk requests: 200 when processed)."""


@dataclass
class FakeRiskApi:
    """An organization of `accounts` accounts (ids 1..n, names ACC0001...), all `Normal`."""

    accounts: int = 5
    audit: bool = True
    """Serve `/_autoliq/audit` (autoliq); False plays Tradovate, which answers 404 there."""
    bulk: bool = True
    """Serve `/_autoliq/bulk/setadminautoliqaction` (autoliq); False plays Tradovate (404)."""
    statuses: dict[int, str] = field(default_factory=dict)
    faults: dict[int, list[str]] = field(default_factory=dict)
    """Per account, the faults its next setadminautoliqaction calls meet, in order."""
    read_faults: dict[int, int] = field(default_factory=dict)
    """Per account, how many of its next `accountRiskStatus/deps` reads answer HTTP 500."""
    requests: list[Request] = field(default_factory=list)
    log: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for account_id in range(1, self.accounts + 1):
            self.statuses.setdefault(account_id, "Normal")
            self.log.setdefault(account_id, [])

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- what was asked --

    def writes(self) -> list[tuple[int, str]]:
        """(accountId, adminAction) of every setadminautoliqaction received, each account of a bulk
        request served included, in its order."""
        out = []
        for r in self.requests:
            if r.path == SET_ACTION:
                out.append((r.body["accountId"], r.body["adminAction"]))
            elif r.path == BULK_SET_ACTION and self.bulk and r.status == 200:
                out.extend((a, r.body["adminAction"]) for a in r.body["accountIds"])
        return out

    def bulk_requests(self) -> list[list[int]]:
        """The accountIds of every bulk setadminautoliqaction received."""
        return [r.body["accountIds"] for r in self.requests if r.path == BULK_SET_ACTION]

    def posts(self) -> list[str]:
        """Paths of every POST but the login."""
        return [r.path for r in self.requests if r.method == "POST" and "accesstokenrequest" not in r.path]

    # -- the API --

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        params = dict(request.url.params)
        path = request.url.path
        self.requests.append(Request(request.method, path, params, body))
        if path == "/v1/auth/accesstokenrequest":
            if body == {"name": "admin", "password": PASSWORD}:
                return _json(
                    {
                        "accessToken": TOKEN,
                        "expirationTime": "2099-01-01T00:00:00Z",
                        "userId": 1,
                        "name": "admin",
                    }
                )
            return _json({"errorText": "Incorrect username or password. Please try again."})
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"errorText": "Access is denied"}, 401)
        if path == "/v1/account/list":
            return _json([self._account(a) for a in self.statuses])
        if path == "/v1/account/item":
            account_id = int(params["id"])
            return _json(self._account(account_id)) if account_id in self.statuses else _not_found()
        if path == "/v1/accountRiskStatus/list":
            return _json([self._status(a) for a in self.statuses])
        if path == "/v1/accountRiskStatus/deps":
            account_id = int(params["masterid"])
            if self.read_faults.get(account_id, 0) > 0:
                self.read_faults[account_id] -= 1
                return _json({"errorText": "Internal error"}, 500)
            return _json([self._status(account_id)] if account_id in self.statuses else [])
        if path == "/v1/accountRiskStatus/items":
            ids = [int(i) for i in params["ids"].split(",")]
            if any(self.read_faults.get(a, 0) > 0 for a in ids):
                for a in ids:
                    if self.read_faults.get(a, 0) > 0:
                        self.read_faults[a] -= 1
                return _json({"errorText": "Internal error"}, 500)
            return _json([self._status(a) for a in ids if a in self.statuses])
        if path == SET_ACTION:
            return self._set(body)
        if path == BULK_SET_ACTION and self.bulk:
            return self._bulk(body)
        if path == "/v1/accountRiskStatusLog/deps":
            return _json(self.log.get(int(params["masterid"]), []))
        if path == "/_autoliq/audit" and self.audit:
            account_id = int(params["accountId"])
            if account_id not in self.statuses:
                return _not_found()
            entries = [
                {**row, "actor": "user", "reasonCode": "Other", "reason": "r"} for row in self.log[account_id]
            ]
            return _json({"accountId": account_id, "entries": entries})
        return _not_found()

    def _set(self, body: dict[str, Any]) -> httpx.Response:
        account_id = body["accountId"]
        if body.get("adminActionReasonCode") == "Other" and not body.get("adminActionReason"):
            return _json({"errorText": "Admin Action Reason should be specified"})
        if account_id not in self.statuses:
            return _not_found()
        fault = self._next_fault(account_id)
        if fault == FAULT_TICKET:
            if "p-ticket" not in body:
                return _json({"p-ticket": f"ticket-{account_id}", "p-time": 0, "p-captcha": False})
            fault = self._next_fault(account_id)
        if fault == FAULT_DENIED:
            return _json({"errorText": "Access is denied"}, 401)
        if fault == FAULT_500:
            return _json({"errorText": "Internal error"}, 500)
        self.statuses[account_id] = body["adminAction"]
        self.log[account_id].append(
            {
                "id": sum(map(len, self.log.values())) + 1,
                "accountId": account_id,
                "timestamp": "2026-12-03T12:00:00Z",
                "adminAction": body["adminAction"],
            }
        )
        if fault == FAULT_500_APPLIED:
            return _json({"errorText": "Internal error"}, 500)
        return _json({"accountRiskStatus": self._status(account_id)})

    def _bulk(self, body: dict[str, Any]) -> httpx.Response:
        """Each account as `_set` answers it alone (its faults met alike; a penalty ticket for any
        account: the whole request not processed)."""
        ids = body["accountIds"]
        if "p-ticket" not in body:
            for account_id in ids:
                script = self.faults.get(account_id)
                if script and script[0] == FAULT_TICKET:
                    script.pop(0)
                    return _json({"p-ticket": f"ticket-{account_id}", "p-time": 0, "p-captcha": False})
        self.requests[-1].status = 200
        results = []
        for account_id in ids:
            single = {k: v for k, v in body.items() if k not in ("accountIds", "p-ticket")}
            answer = self._set({**single, "accountId": account_id, "p-ticket": "-"})
            results.append(
                {"accountId": account_id, "httpStatus": answer.status_code, **json.loads(answer.content)}
            )
        return _json({"results": results})

    def _next_fault(self, account_id: int) -> str | None:
        script = self.faults.get(account_id)
        return script.pop(0) if script else None

    def _account(self, account_id: int) -> dict[str, Any]:
        return {"id": account_id, "name": f"ACC{account_id:04d}", "userId": 1, "closed": False}

    def _status(self, account_id: int) -> dict[str, Any]:
        return {"id": account_id, "adminAction": self.statuses[account_id], "userTriggeredLiqOnly": False}


def _json(value: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=value)


def _not_found() -> httpx.Response:
    return _json({"errorText": "Not found"}, 404)
