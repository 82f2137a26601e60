"""No sequence of orders, fills and limit changes leaves an account beyond an active position limit
through an order the limits accepted (`domain/position_limits.py`).

The model: an account trades three contracts (two months of one product, one of another); orders
are market orders that fill at once, or resting orders that fill later, when they are judged again
at the fill (as the gate does); between them the limit rows change (new caps, switched off or on).
After every fill the rules let in, each active row that applies to the filled contract holds in the
fill's direction: a buy never ends the scope's position above `longLimit`, a sell never below
`-shortLimit`. (`exposedLimit`, a check at acceptance only, has its cases in
tests/unit/test_position_limits.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from autoliq.domain.position_limits import (
    Holding,
    Instrument,
    PositionLimit,
    Scope,
    TotalBy,
    in_scope,
    limit_refusal,
)

INSTRUMENTS = (
    Instrument(contract_id=1, product_id=10, exchange_id=100, contract_group_id=1000),
    Instrument(contract_id=2, product_id=10, exchange_id=100, contract_group_id=1000, months_after_front=1),
    Instrument(contract_id=3, product_id=20, exchange_id=200, contract_group_id=2000),
)
SCOPES = (
    (TotalBy.CONTRACT, Scope(contract_id=1)),
    (TotalBy.CONTRACT, Scope(contract_id=3)),
    (TotalBy.PRODUCT, Scope(product_id=10)),
    (TotalBy.EXCHANGE, Scope(exchange_id=200)),
    (TotalBy.OVERALL, Scope()),
)
caps = st.one_of(st.none(), st.integers(0, 6))
limits_strategy = st.builds(
    lambda i, scope, long, short, exposed, active: PositionLimit(
        i, 1, scope[0], scope[1], active=active, long_limit=long, short_limit=short, exposed_limit=exposed
    ),
    st.integers(1, 3),
    st.sampled_from(SCOPES),
    caps,
    caps,
    caps,
    st.booleans(),
)
orders = st.tuples(
    st.just("order"), st.integers(0, 2), st.sampled_from((1, -1)), st.integers(1, 4), st.booleans()
)
fills = st.tuples(st.just("fill"), st.integers(0, 20))
changes = st.tuples(st.just("limit"), limits_strategy)


@dataclass
class Account:
    net: dict[int, int] = field(default_factory=dict)
    working: list[tuple[int, int, int]] = field(default_factory=list)
    """(contract index, side sign, qty) of the resting orders, oldest first."""
    limits: dict[int, PositionLimit] = field(default_factory=dict)

    def holdings(self, skip: int | None = None) -> dict[int, tuple[Instrument, Holding]]:
        out = {}
        for index, instrument in enumerate(INSTRUMENTS):
            buys = sum(q for n, (i, s, q) in enumerate(self.working) if i == index and s > 0 and n != skip)
            sells = sum(q for n, (i, s, q) in enumerate(self.working) if i == index and s < 0 and n != skip)
            out[instrument.contract_id] = (instrument, Holding(self.net.get(index, 0), buys, sells))
        return out

    def scope_net(self, limit: PositionLimit) -> int:
        return sum(self.net.get(i, 0) for i, inst in enumerate(INSTRUMENTS) if in_scope(limit, inst))

    def judge(self, index: int, side: int, qty: int, skip: int | None = None) -> bool:
        rows = list(self.limits.values())
        return limit_refusal(rows, [], INSTRUMENTS[index], side, qty, self.holdings(skip)) is None

    def fill(self, index: int, side: int, qty: int) -> None:
        self.net[index] = self.net.get(index, 0) + side * qty
        for limit in self.limits.values():
            if not (limit.active and in_scope(limit, INSTRUMENTS[index])):
                continue
            position = self.scope_net(limit)
            if side > 0 and limit.long_limit is not None:
                assert position <= limit.long_limit, (limit, self.net)
            if side < 0 and limit.short_limit is not None:
                assert -position <= limit.short_limit, (limit, self.net)


@settings(max_examples=300, deadline=None)
@given(st.lists(limits_strategy, max_size=3), st.lists(st.one_of(orders, fills, changes), max_size=40))
def test_limits_when_any_sequence_then_no_accepted_order_ends_beyond_an_active_limit(
    initial: list[PositionLimit], steps: list[tuple[object, ...]]
) -> None:
    account = Account(limits={limit.id: limit for limit in initial})
    for step in steps:
        if step[0] == "limit":
            limit = step[1]
            assert isinstance(limit, PositionLimit)
            account.limits[limit.id] = limit
        elif step[0] == "order":
            _, index, side, qty, rests = step
            assert isinstance(index, int) and isinstance(side, int) and isinstance(qty, int)
            if not account.judge(index, side, qty):
                continue
            if rests:
                account.working.append((index, side, qty))
            else:
                account.fill(index, side, qty)
        else:  # a price reaches the resting order at this position (if any): judged again, then fills
            position = step[1]
            assert isinstance(position, int)
            if not account.working:
                continue
            n = position % len(account.working)
            index, side, qty = account.working[n]
            if account.judge(index, side, qty, skip=n):
                account.working.pop(n)
                account.fill(index, side, qty)


def test_model_when_a_limit_is_switched_off_then_orders_pass_again() -> None:
    account = Account(limits={1: PositionLimit(1, 1, TotalBy.OVERALL, long_limit=0)})
    assert not account.judge(0, 1, 1)
    account.limits[1] = replace(account.limits[1], active=False)
    assert account.judge(0, 1, 1)
