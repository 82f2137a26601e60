"""The row-by-row liquidation the set-based one (`service/risk_engine.liquidate_account`) is checked
against: the same rows written one order at a time through execution's per-order steps. A test
oracle, kept out of src (production has one liquidation)."""

from __future__ import annotations

from datetime import datetime

from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.orders import OrdStatus
from autoliq.service.execution import TEXT_LIQUIDATED, close_position, interrupt_strategies
from autoliq.service.ports import Store


def liquidate_account(
    store: Store, account_id: int, contracts: dict[int, ContractSpec], now: datetime
) -> None:
    """A liquidation row by row, over the per-order port (no post-trade rules): cancel every working
    and suspended order (no bracket wakes after a liquidation) and interrupt the running
    strategies, then close every position with an admin market order through the gate. Without a
    price the closing order stays working until a price arrives. The risk engine's
    `liquidate_account` writes the same rows set-based."""
    interrupt_strategies(store, account_id, now, TEXT_LIQUIDATED)
    for order_id, _contract_id in store.live_orders_of_account(account_id):
        store.set_order_status(order_id, OrdStatus.CANCELED, now)
        store.emit(TradingEntityChanged("order", "Updated", account_id, order_id))
    # Oldest contract id first, on both engines (as the set-based liquidation closes them).
    for contract_id, _ in sorted(store.open_positions(account_id)):
        contract = contracts.get(contract_id)
        if contract is None:
            continue  # an expired contract: nothing trades it any more
        close_position(store, account_id, contract, True, now)
