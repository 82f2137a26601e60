// One account: summary, actions, equity curve, audit timeline, alerts, positions, working orders,
// post-trade settings and position limits. Refreshed on the socket's events for the account.

import * as api from './api.js';
import { alertItem } from './alerts.js';
import { equityChart } from './chart.js';
import { ACTIONS } from './constants.js';
import { checkField, clear, debounce, field, h, select } from './dom.js';
import { dateTime, money, number, signClass } from './format.js';

const SETTINGS = [
  ['dailyLossAlert', 'Daily loss alert ($)'],
  ['dailyLossPercentageAlert', 'Daily loss alert (%)'],
  ['marginPercentageAlert', 'Margin alert (%)'],
  ['dailyLossLiqOnly', 'Daily loss liquidate-only ($)'],
  ['dailyLossPercentageLiqOnly', 'Daily loss liquidate-only (%)'],
  ['marginPercentageLiqOnly', 'Margin liquidate-only (%)'],
  ['dailyLossAutoLiq', 'Daily loss auto-liq ($)'],
  ['dailyLossPercentageAutoLiq', 'Daily loss auto-liq (%)'],
  ['marginPercentageAutoLiq', 'Margin auto-liq (%)'],
  ['dailyProfitAutoLiq', 'Daily profit auto-liq ($)'],
  ['weeklyLossAutoLiq', 'Weekly loss auto-liq ($)'],
  ['weeklyProfitAutoLiq', 'Weekly profit auto-liq ($)'],
  ['trailingMaxDrawdown', 'Trailing max drawdown ($)'],
  ['trailingMaxDrawdownLimit', 'Trailing drawdown floor cap ($)'],
];
const TOTAL_BY = ['Overall', 'Contract', 'Product', 'ProductType', 'Exchange', 'ContractGroup', 'DiscountGroup', 'FungibleProduct'];
const SCOPE_KEY = {
  Contract: 'contractId', Product: 'productId', Exchange: 'exchangeId', ContractGroup: 'contractGroupId',
  DiscountGroup: 'riskDiscountContractGroupId', FungibleProduct: 'fungibleProductId', ProductType: 'productType',
};

const userNames = new Map();
const contractNames = new Map();

async function loadUserNames() {
  if (userNames.size) return;
  try {
    for (const u of await api.get('/v1/user/list')) userNames.set(u.id, u.name);
  } catch {
    // ids are shown instead
  }
}

async function loadContractNames(ids) {
  const missing = [...new Set(ids)].filter((id) => !contractNames.has(id));
  if (!missing.length) return;
  try {
    for (const c of await api.get('/v1/contract/items', { ids: missing.join(',') })) contractNames.set(c.id, c.name);
  } catch {
    // ids are shown instead
  }
}

const contractName = (id) => contractNames.get(id) ?? `contract ${id}`;

function section(title, testid, ...children) {
  const id = `sec-${testid}`;
  return h('section', { class: 'panel', 'aria-labelledby': id, testid }, h('h2', { id }, title), ...children);
}

function table(caption, headers, rows, testid) {
  return h('table', { class: 'data', testid },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows));
}

export function createAccountPage({ accountId, session, socket, openAction, notify }) {
  const admin = session.admin;
  const title = h('h1', { testid: 'account-name' }, `Account #${accountId}`);
  const summary = h('dl', { class: 'summary', testid: 'account-summary' });
  const actionBar = admin
    ? h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Act on this account' },
        Object.entries(ACTIONS).map(([key, a]) =>
          h('button', { type: 'button', testid: `action-${key}`, class: key === 'unlock' ? '' : 'danger-outline', onclick: () => act(key) },
            key === 'liquidate-only' ? 'Liquidate-only' : a.verb)))
    : null;
  const error = h('p', { class: 'error', role: 'alert', testid: 'account-error' });
  const chartBox = h('div', { class: 'chart-box' });
  const timeline = h('ol', { class: 'timeline', testid: 'timeline' });
  const alertsList = h('ol', { class: 'alerts compact', testid: 'account-alerts' });
  const positionsBox = h('div', {});
  const ordersBox = h('div', {});
  const settingsBox = h('div', {});
  const limitsBox = h('div', {});
  const el = h('section', { class: 'view account-view', testid: 'account-page', 'data-account-id': accountId },
    h('p', {}, h('a', { href: '#/accounts', testid: 'back-to-accounts' }, '← All accounts')),
    h('header', { class: 'account-head' }, title, actionBar),
    error,
    summary,
    h('div', { class: 'columns' },
      section('Equity curve', 'equity-section', chartBox),
      section('Alerts', 'account-alerts-section', alertsList)),
    h('div', { class: 'columns' },
      section('Positions', 'positions-section', positionsBox),
      section('Working orders', 'orders-section', ordersBox)),
    section('Audit log', 'timeline-section', timeline),
    h('div', { class: 'columns' },
      section('Post-trade settings', 'settings-section', settingsBox),
      section('Position limits', 'limits-section', limitsBox)),
  );
  let row = null;
  let destroyed = false;
  let settingsDirty = false;

  function act(key) {
    if (row) openAction(key, [{ id: row.id, name: row.name }]);
  }

  async function loadAll() {
    await Promise.all([loadSummary(), loadTimeline(), loadAlerts(), loadPositions(), loadEquity(), loadSettings(), loadLimits()]);
  }

  async function guard(what, fn) {
    try {
      await fn();
    } catch (err) {
      if (!destroyed) error.textContent = `${what}: ${err.errorText ?? err.message}`;
    }
  }

  const loadSummary = () => guard('Account', async () => {
    const answer = await api.get('/_autoliq/desk/accounts', { ids: String(accountId), limit: 1 });
    if (destroyed) return;
    row = answer.rows[0] ?? null;
    if (!row) {
      error.textContent = 'Not found';
      return;
    }
    title.textContent = row.name;
    document.title = `${row.name} · Risk desk`;
    const until = row.autoLiq === 'Normal' ? '' : row.autoLiqUntil ? ` until ${dateTime(row.autoLiqUntil)}` : ' until changed';
    const items = [
      ['Owner', row.owner],
      ['Admin action', h('span', { class: `state state-${row.adminAction}`, testid: 'account-admin-action' }, row.adminAction),
        row.adminTimestamp ? ` since ${dateTime(row.adminTimestamp)}` : ''],
      ['Auto-liq layer', h('span', { class: `layer layer-${row.autoLiq}`, testid: 'account-autoliq' }, row.autoLiq),
        row.autoLiqRule ? ` (${row.autoLiqRule})` : '', until],
      ['Net liquidation value', h('span', { testid: 'account-netliq' }, money(row.netLiq))],
      ['Balance', money(row.balance)],
      ['Day P&L', h('span', { class: signClass(row.dayPnl) }, money(row.dayPnl))],
      ['Trailing floor', money(row.floor)],
      ['Distance to floor', money(row.distanceToFloor)],
      ['Open positions', number(row.openPositions)],
    ];
    clear(summary, items.map(([k, ...v]) => h('div', {}, h('dt', {}, k), h('dd', {}, ...v))));
  });

  const loadTimeline = () => guard('Audit log', async () => {
    const [answer] = await Promise.all([api.get('/_autoliq/audit', { accountId }), loadUserNames()]);
    if (destroyed) return;
    let previous = 'Normal';
    const items = answer.entries.map((e) => {
      const from = previous;
      previous = e.adminAction;
      const who = e.actor === 'system'
        ? 'system'
        : `${userNames.get(e.actorUserId) ?? 'user'} (user #${e.actorUserId ?? '?'})`;
      return h('li', { class: `entry actor-${e.actor}`, testid: 'timeline-entry', 'data-entry-id': e.id },
        h('time', { datetime: e.timestamp }, dateTime(e.timestamp)),
        h('p', { class: 'change', testid: 'timeline-change' },
          from === e.adminAction ? `${e.adminAction} (unchanged)` : `${from} → ${e.adminAction}`),
        h('p', { class: 'who', testid: 'timeline-who' }, `By ${who}`),
        h('p', { class: 'why', testid: 'timeline-why' },
          e.reasonCode ? h('span', { class: 'code', testid: 'timeline-reason-code' }, e.reasonCode) : null,
          e.reasonCode && e.reason ? ': ' : '',
          h('span', { testid: 'timeline-reason' }, e.reason ?? '')));
    });
    items.reverse(); // newest on top
    clear(timeline, items.length ? items : h('li', { class: 'empty' }, 'No change recorded.'));
  });

  const loadAlerts = () => guard('Alerts', async () => {
    const alerts = await api.get('/_autoliq/alerts', { accountId, afterId: 0, limit: 1000 });
    if (destroyed) return;
    clear(alertsList, alerts.length ? alerts.reverse().map((a) => alertItem(a, row?.name)) : h('li', { class: 'empty' }, 'No alert.'));
  });

  const loadPositions = () => guard('Positions and orders', async () => {
    const [positions, orders] = await Promise.all([
      api.get('/v1/position/deps', { masterid: accountId }),
      api.get('/v1/order/deps', { masterid: accountId }),
    ]);
    const open = positions.filter((p) => p.netPos !== 0);
    const working = orders.filter((o) => o.ordStatus === 'Working' || o.ordStatus === 'Suspended');
    await loadContractNames([...open, ...working].map((x) => x.contractId));
    if (destroyed) return;
    clear(positionsBox, open.length
      ? table('Open positions', ['Contract', 'Net', 'Avg price', 'Bought', 'Sold'],
          open.map((p) => h('tr', { testid: 'position-row' }, h('td', {}, contractName(p.contractId)), h('td', { class: 'num' }, number(p.netPos)),
            h('td', { class: 'num' }, number(p.netPrice)), h('td', { class: 'num' }, number(p.bought)), h('td', { class: 'num' }, number(p.sold)))), 'positions')
      : h('p', { class: 'empty' }, 'No open position.'));
    clear(ordersBox, working.length
      ? table('Working orders', ['Order', 'Contract', 'Side', 'Status', 'Placed'],
          working.map((o) => h('tr', { testid: 'order-row' }, h('td', {}, `#${o.id}`), h('td', {}, contractName(o.contractId)), h('td', {}, o.action),
            h('td', {}, o.ordStatus), h('td', {}, dateTime(o.timestamp)))), 'orders')
      : h('p', { class: 'empty' }, 'No working order.'));
  });

  const loadEquity = () => guard('Equity', async () => {
    const answer = await api.get('/_autoliq/desk/equity', { accountId, limit: 2000 });
    if (destroyed) return;
    clear(chartBox, equityChart(answer.points));
  });

  // -- post-trade settings --
  const loadSettings = () => guard('Post-trade settings', async () => {
    if (settingsDirty) return;
    const r = await api.call('GET', '/v1/userAccountAutoLiq/item', { query: { id: accountId } });
    if (destroyed) return;
    const current = r.ok ? r.data : null;
    if (!r.ok && r.status !== 404) throw new api.ApiError(r.status, r.errorText);
    clear(settingsBox, admin ? settingsForm(current) : settingsList(current));
  });

  function settingsList(current) {
    if (!current) return h('p', { class: 'empty' }, 'No post-trade settings.');
    const rows = SETTINGS.filter(([k]) => current[k] !== undefined && current[k] !== null)
      .map(([k, label]) => h('div', {}, h('dt', {}, label), h('dd', {}, number(current[k]))));
    rows.push(h('div', {}, h('dt', {}, 'Drawdown mode'), h('dd', {}, current.trailingMaxDrawdownMode ?? 'RealTime')));
    rows.push(h('div', {}, h('dt', {}, 'Do not unlock'), h('dd', {}, current.doNotUnlock ? 'yes' : 'no')));
    return h('dl', { class: 'summary compact', testid: 'settings-view' }, rows);
  }

  function settingsForm(current) {
    const inputs = {};
    const fields = SETTINGS.map(([key, label]) => {
      inputs[key] = h('input', { type: 'number', min: '0', step: 'any', name: key, testid: `setting-${key}`, value: current?.[key] ?? '' });
      return field(label, inputs[key]);
    });
    const mode = select([{ value: '', label: 'RealTime (default)' }, 'RealTime', 'EOD'], { testid: 'setting-trailingMaxDrawdownMode' });
    mode.value = current?.trailingMaxDrawdownMode ?? '';
    const doNotUnlock = h('input', { type: 'checkbox', testid: 'setting-doNotUnlock', checked: Boolean(current?.doNotUnlock) });
    const changesLocked = h('input', { type: 'checkbox', testid: 'setting-changesLocked', checked: Boolean(current?.changesLocked) });
    const message = h('p', { class: 'error', role: 'alert', testid: 'settings-error' });
    const form = h('form', { class: 'settings-form', testid: 'settings-form', onsubmit: save },
      h('div', { class: 'field-grid' }, fields, field('Drawdown mode', mode),
        checkField('Do not unlock by itself', doNotUnlock),
        checkField('Owner may not change them', changesLocked)),
      message,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', testid: 'settings-save' }, current ? 'Save settings' : 'Create settings')));
    form.addEventListener('input', () => { settingsDirty = true; });

    async function save(e) {
      e.preventDefault();
      message.textContent = '';
      const body = { id: accountId, doNotUnlock: doNotUnlock.checked, changesLocked: changesLocked.checked };
      for (const [key] of SETTINGS) {
        const v = inputs[key].value.trim();
        if (v !== '') body[key] = Number(v);
      }
      if (mode.value) body.trailingMaxDrawdownMode = mode.value;
      const r = await api.post(`/v1/userAccountAutoLiq/${current ? 'update' : 'create'}`, body);
      if (!r.ok) {
        message.textContent = r.errorText;
        return;
      }
      settingsDirty = false;
      notify('Post-trade settings saved');
      loadSettings();
      loadSummary();
    }
    return form;
  }

  // -- position limits --
  const loadLimits = () => guard('Position limits', async () => {
    const limits = await api.get('/v1/userAccountPositionLimit/deps', { masterid: accountId });
    if (destroyed || limitsBox.contains(document.activeElement)) return;
    const rows = limits.map((l) => (admin ? limitRowEditable(l) : limitRow(l)));
    clear(limitsBox,
      limits.length
        ? table('Position limits', ['Scope', 'Long', 'Short', 'Exposed', 'Active', 'Description', admin ? 'Change' : null].filter(Boolean), rows, 'limits')
        : h('p', { class: 'empty' }, 'No position limit.'),
      admin ? newLimitForm() : null);
  });

  const scopeText = (l) => (l.totalBy === 'Overall' ? 'Overall' : `${l.totalBy} ${l[SCOPE_KEY[l.totalBy]] ?? ''}`);

  function limitRow(l) {
    return h('tr', { testid: 'limit-row' }, h('td', {}, scopeText(l)), h('td', { class: 'num' }, number(l.longLimit)),
      h('td', { class: 'num' }, number(l.shortLimit)), h('td', { class: 'num' }, number(l.exposedLimit)),
      h('td', {}, l.active ? 'yes' : 'no'), h('td', {}, l.description ?? ''));
  }

  function limitInput(l, key, label) {
    return h('input', { type: 'number', min: '0', step: '1', value: l[key] ?? '', 'aria-label': `${label} of ${scopeText(l)}`, class: 'narrow', testid: `limit-${key}` });
  }

  function limitRowEditable(l) {
    const long = limitInput(l, 'longLimit', 'Long limit');
    const short = limitInput(l, 'shortLimit', 'Short limit');
    const exposed = limitInput(l, 'exposedLimit', 'Exposed limit');
    const active = h('input', { type: 'checkbox', checked: l.active, 'aria-label': `Active: ${scopeText(l)}`, testid: 'limit-active' });
    const description = h('input', { type: 'text', maxlength: '64', value: l.description ?? '', 'aria-label': `Description of ${scopeText(l)}`, testid: 'limit-description' });
    const message = h('span', { class: 'error', role: 'alert' });
    const num = (input) => (input.value.trim() === '' ? undefined : Number(input.value));
    async function save() {
      message.textContent = '';
      const body = { ...l, longLimit: num(long), shortLimit: num(short), exposedLimit: num(exposed), active: active.checked, description: description.value || undefined };
      const r = await api.post('/v1/userAccountPositionLimit/update', body);
      if (!r.ok) message.textContent = r.errorText;
      else { notify('Position limit saved'); document.activeElement?.blur(); loadLimits(); }
    }
    async function remove() {
      const r = await api.post('/v1/userAccountPositionLimit/deleteuseraccountpositionlimit', { userAccountPositionLimitId: l.id });
      if (!r.ok || r.data?.success === false) message.textContent = r.errorText ?? r.data?.errorText ?? 'Not deleted';
      else { notify('Position limit deleted'); document.activeElement?.blur(); loadLimits(); }
    }
    return h('tr', { testid: 'limit-row' }, h('td', {}, scopeText(l)), h('td', {}, long), h('td', {}, short), h('td', {}, exposed),
      h('td', {}, active), h('td', {}, description),
      h('td', {}, h('button', { type: 'button', class: 'small', onclick: save, testid: 'limit-save' }, 'Save'), ' ',
        h('button', { type: 'button', class: 'small', onclick: remove, testid: 'limit-delete' }, 'Delete'), message));
  }

  function newLimitForm() {
    const totalBy = select(TOTAL_BY, { testid: 'new-limit-totalBy' });
    const scope = h('input', { type: 'text', testid: 'new-limit-scope', placeholder: 'id, or Futures' });
    const long = h('input', { type: 'number', min: '0', step: '1', testid: 'new-limit-long' });
    const short = h('input', { type: 'number', min: '0', step: '1', testid: 'new-limit-short' });
    const message = h('p', { class: 'error', role: 'alert', testid: 'new-limit-error' });
    async function create(e) {
      e.preventDefault();
      message.textContent = '';
      const body = { accountId, active: true, totalBy: totalBy.value };
      const key = SCOPE_KEY[totalBy.value];
      if (key && scope.value.trim()) body[key] = key === 'productType' ? scope.value.trim() : Number(scope.value);
      if (long.value !== '') body.longLimit = Number(long.value);
      if (short.value !== '') body.shortLimit = Number(short.value);
      const r = await api.post('/v1/userAccountPositionLimit/create', body);
      if (!r.ok) message.textContent = r.errorText;
      else { notify('Position limit created'); document.activeElement?.blur(); loadLimits(); }
    }
    return h('form', { class: 'inline-form', onsubmit: create, testid: 'new-limit-form' },
      h('h3', {}, 'New limit'),
      h('div', { class: 'field-grid' }, field('Total by', totalBy), field('Scope key', scope, 'For all but Overall'),
        field('Long limit', long), field('Short limit', short)),
      message, h('div', { class: 'buttons' }, h('button', { type: 'submit', testid: 'new-limit-create' }, 'Add limit')));
  }

  const refreshLive = debounce(() => {
    if (destroyed) return;
    loadSummary();
    loadTimeline();
    loadAlerts();
    loadPositions();
    loadEquity();
  }, 150);

  socket.follow('account', [accountId]);
  loadAll();

  return {
    el,
    accountId,
    touched(id, entityType) {
      if (id !== accountId) return;
      if (entityType === 'userAccountAutoLiq') loadSettings();
      if (entityType === 'userAccountPositionLimit') loadLimits();
      refreshLive();
    },
    refresh() { refreshLive(); },
    destroy() {
      destroyed = true;
      socket.follow('account', []);
    },
  };
}
