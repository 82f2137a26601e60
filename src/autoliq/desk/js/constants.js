export const ADMIN_ACTIONS = [
  'Normal', 'LockTradingImmediately', 'LiquidateImmediately', 'LiquidateOnlyModeImmediately',
  'PlaceAutoLiqOnHold', 'DisableAutoLiq', 'AgreedOnLiqOnlyModeByAutoLiq', 'AgreedOnLiquidationByAutoLiq',
];

export const AUTO_LIQ_LAYERS = ['Normal', 'LiquidateOnly', 'Locked'];

export const REASON_CODES = [
  'CloseAMLDecision', 'CloseComplianceDecision', 'CloseCustomerRequest', 'CloseDeceased',
  'CloseEscheatment', 'CloseFraud', 'CloseInactiveUnfundedAccount', 'FullBalanceWithdrawal', 'Other',
  'RestrictedAMLRequest', 'RestrictedAccountsRequest', 'RestrictedComplianceRequest',
  'RestrictedRiskRestriction', 'RestrictedTreasuryRequest', 'RestrictedW8Expired',
];

/** The four actions the desk offers: key (test ids, buttons), adminAction, wording. */
export const ACTIONS = {
  lock: {
    adminAction: 'LockTradingImmediately',
    verb: 'Lock',
    effect: 'every new order will be rejected (TradingLocked) until unlocked; positions and working orders stay as they are.',
  },
  unlock: {
    adminAction: 'Normal',
    verb: 'Unlock',
    effect: 'the admin action goes back to Normal and new orders are accepted again (an auto-liq lock is cleared too).',
  },
  liquidate: {
    adminAction: 'LiquidateImmediately',
    verb: 'Liquidate',
    effect: 'every working order will be cancelled, every position closed at market, and new orders rejected.',
  },
  'liquidate-only': {
    adminAction: 'LiquidateOnlyModeImmediately',
    verb: 'Set liquidate-only on',
    effect: 'only orders that reduce a position will be accepted; every other new order is rejected (LiquidationOnly).',
  },
};

export const plural = (n, word) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
