"""The webhooks' HTTP client (the deliverer's `Post`): one httpx connection pool per process, made on
first use in the running event loop; no proxy from the environment, no redirects followed."""

from __future__ import annotations

import httpx

TIMEOUT_SECONDS = 5.0


class WebhookPoster:
    """`await poster(url, body, headers)`: the HTTP status of the POST."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False, follow_redirects=False)
        answer = await self._client.post(url, content=body, headers=headers)
        return answer.status_code

    async def close(self) -> None:
        """Close the pool (at the app's shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
