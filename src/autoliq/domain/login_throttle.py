"""Failed logins per user name and per client address, and the penalty tickets they earn (no I/O;
times are seconds of a monotonic clock, given by the caller).

After `free_failures` failed logins of one name (`free_failures_per_address` from one address)
without a pause of `window` seconds (after the last `p-time`), every further login of that name (or
from that address) is answered with a penalty ticket (Tradovate's `p-ticket`, `p-time`) instead of
being checked: no password is hashed for it. The request sent again with the ticket once `p-time`
has passed is checked (once per ticket). Each further failure doubles `p-time`, from `base_backoff`
up to `max_backoff`; a refused attempt (no ticket, an early or unknown one) gets a new ticket at the
current `p-time` without raising it, so a flood of ticketless guesses costs no hashing and does not
lock the name's owner out for longer. A success clears its name's failures, not its address's (an
attacker holding one account must not clear the address it guesses from).

State is bounded: names are kept as 16-byte digests; at most `max_keys` names and addresses and
`max_tickets` tickets, the least recently used dropped first, and idle ones swept. It is one
process's memory: each worker counts the logins it serves.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from autoliq.domain.sandbox import PenaltyTicket


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """When failed logins start earning penalty tickets, and how long they make a client wait."""

    free_failures: int = 5
    """Failures of one name answered normally before tickets are needed."""
    free_failures_per_address: int = 10
    """Failures from one address answered normally before tickets are needed (more than a name's:
    several people may share an address behind a NAT)."""
    window: float = 3600.0
    """Seconds without a failure, after the last one's `p-time`, after which a name's or address's
    failures are forgotten."""
    base_backoff: float = 15.0
    """First `p-time`: Tradovate's back-off for accesstokenrequest."""
    max_backoff: float = 3600.0
    """Longest `p-time` (Tradovate's lockouts last an hour)."""
    ticket_lifetime: float = 600.0
    """Seconds after its `p-time` during which a ticket can be used."""
    busy_p_time: int = 1
    """`p-time` of the ticket handed out when the hashing queue is full."""
    max_keys: int = 100_000
    """Names and addresses tracked at most (least recently used dropped beyond)."""
    max_tickets: int = 100_000
    """Outstanding tickets at most (oldest dropped beyond)."""

    def __post_init__(self) -> None:
        if min(self.free_failures, self.free_failures_per_address) < 1:
            raise ValueError("login policy: free failures must be at least 1")
        if self.window <= 0 or self.base_backoff < 0:
            raise ValueError("login policy: window > 0 and base_backoff >= 0")
        if self.max_keys < 1 or self.max_tickets < 1 or self.max_backoff < self.base_backoff:
            raise ValueError("login policy: bounds must be positive")


@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    pending: int = 0
    """Attempts admitted and not yet decided: they count as failures until they are not, so that a
    burst of concurrent guesses cannot all pass before the first one is counted."""


@dataclass(frozen=True, slots=True)
class _Ticket:
    pair: tuple[bytes, str]
    valid_after: float
    expires: float


_SWEEP_EVERY = 1000


class LoginThrottle:
    """The failure counters and outstanding login tickets of one process."""

    def __init__(self, policy: LoginPolicy | None = None) -> None:
        self.policy = policy or LoginPolicy()
        self._failures: OrderedDict[tuple[str, object], _Failures] = OrderedDict()
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()
        self._since_sweep = 0

    def admit(self, name: str, address: str, ticket: str | None, now: float) -> PenaltyTicket | None:
        """None: check this login's password. Else the ticket to answer with, unchecked: the name or
        the address has failed too often and `ticket` is not a valid one of this name and address."""
        self._tick(now)
        pair = (_digest(name), address)
        level = max(self._level(("name", pair[0]), now), self._level(("address", address), now))
        admitted = level < 0
        if not admitted and ticket is not None:
            held = self._tickets.pop(ticket, None)
            admitted = held is not None and held.pair == pair and held.valid_after <= now < held.expires
        if not admitted:
            return self._issue(pair, self._backoff(level), now)
        for key in (("name", pair[0]), ("address", address)):
            self._entry(key, now).pending += 1
        self._bound()
        return None

    def busy(self, name: str, address: str, now: float) -> PenaltyTicket:
        """An admitted login that could not be checked (the hashing queue is full): not a failure;
        the ticket to answer with."""
        self._settle(("name", _digest(name)))
        self._settle(("address", address))
        return self._issue((_digest(name), address), float(self.policy.busy_p_time), now)

    def failed(self, name: str, address: str, now: float) -> None:
        """Count a wrong password against the name and the address."""
        for key in (("name", _digest(name)), ("address", address)):
            found = self._entry(key, now)
            found.pending = max(0, found.pending - 1)
            found.count += 1
            found.last = now
        self._bound()

    def abandoned(self, name: str, address: str) -> None:
        """An admitted login that ended without an answer (an error, the client gone): not counted."""
        self._settle(("name", _digest(name)))
        self._settle(("address", address))

    def succeeded(self, name: str, address: str) -> None:
        """A right password: the name's failures are forgotten (the address's are kept)."""
        self._failures.pop(("name", _digest(name)), None)
        self._settle(("address", address))

    def sweep(self, now: float) -> None:
        """Drop the counters idle for longer than the window and the tickets past their use."""
        self._since_sweep = 0
        for key, found in list(self._failures.items()):
            if self._forgotten(key, found, now):
                del self._failures[key]
        for ticket, held in list(self._tickets.items()):
            if held.expires <= now:
                del self._tickets[ticket]

    @property
    def size(self) -> tuple[int, int]:
        """(names and addresses tracked, tickets outstanding)."""
        return len(self._failures), len(self._tickets)

    # -- internals --
    def _entry(self, key: tuple[str, object], now: float) -> _Failures:
        """The key's counters (new ones when none are current), as the most recently used."""
        found = self._current(key, now)
        if found is None:
            found = self._failures[key] = _Failures(0, now)
        else:
            self._failures.move_to_end(key)
        return found

    def _settle(self, key: tuple[str, object]) -> None:
        """An admitted attempt decided without a failure: no longer pending (dropped when empty)."""
        found = self._failures.get(key)
        if found is not None:
            found.pending = max(0, found.pending - 1)
            if found.count == 0 and found.pending == 0:
                del self._failures[key]

    def _bound(self) -> None:
        while len(self._failures) > self.policy.max_keys:
            self._failures.popitem(last=False)

    def _tick(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self.sweep(now)

    def _current(self, key: tuple[str, object], now: float) -> _Failures | None:
        found = self._failures.get(key)
        if found is not None and self._forgotten(key, found, now):
            del self._failures[key]
            return None
        return found

    def _free(self, key: tuple[str, object]) -> int:
        p = self.policy
        return p.free_failures if key[0] == "name" else p.free_failures_per_address

    def _forgotten(self, key: tuple[str, object], found: _Failures, now: float) -> bool:
        """Quiet for the window, counted from when the last failure's penalty allowed a new try."""
        level = found.count - self._free(key)
        wait = self._backoff(level) if level >= 0 else 0.0
        return now - found.last >= self.policy.window + wait

    def _level(self, key: tuple[str, object], now: float) -> int:
        """How many failures past the free ones (-1: still free)."""
        found = self._current(key, now)
        if found is None:
            return -1
        return found.count + found.pending - self._free(key)

    def _backoff(self, level: int) -> float:
        p = self.policy
        return float(min(p.max_backoff, p.base_backoff * 2 ** min(level, 32)))

    def _issue(self, pair: tuple[bytes, str], p_time: float, now: float) -> PenaltyTicket:
        ticket = secrets.token_urlsafe(24)
        seconds = math.ceil(p_time)  # p-time is whole seconds on the wire
        valid_after = now + seconds
        self._tickets[ticket] = _Ticket(pair, valid_after, valid_after + self.policy.ticket_lifetime)
        while len(self._tickets) > self.policy.max_tickets:
            self._tickets.popitem(last=False)
        return PenaltyTicket(ticket, seconds)


def _digest(name: str) -> bytes:
    """A name as kept here: fixed size whatever its length, and not the text (it may be a password
    typed in the wrong field)."""
    return hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=16).digest()
