// The sandbox operator's panel: prices, clock, faults, reset. Every answer or errorText is shown.

import * as api from './api.js';
import { field, h, select } from './dom.js';

const FAULT_KINDS = ['penaltyTicket', 'tooManyRequests', 'serverError', 'serverErrorAfterCommit', 'delay'];

export function createSandboxView({ onReset }) {
  const output = h('pre', { class: 'output', testid: 'sandbox-result', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', testid: 'sandbox-error' });

  function show(r) {
    error.textContent = r.ok ? '' : r.errorText;
    output.textContent = JSON.stringify(r.data, null, 2);
    return r.ok;
  }

  async function run(fn) {
    try {
      return show(await fn());
    } catch (err) {
      error.textContent = `Network error: ${err.message}`;
      return false;
    }
  }

  // prices
  const symbol = h('input', { type: 'text', testid: 'sandbox-symbol', value: 'ESZ6', required: true, autocomplete: 'off' });
  const price = h('input', { type: 'number', step: 'any', min: '0', testid: 'sandbox-price', required: true });
  const pricesList = h('ul', { class: 'plain', testid: 'sandbox-prices' });
  async function listPrices() {
    const r = await api.call('GET', '/_autoliq/prices');
    if (r.ok) pricesList.replaceChildren(...r.data.prices.map((p) => h('li', {}, `${p.symbol}: ${p.price}`)));
  }
  const pricesForm = h('form', {
    testid: 'sandbox-prices-form',
    onsubmit: async (e) => {
      e.preventDefault();
      await run(() => api.post('/_autoliq/prices', { prices: [{ symbol: symbol.value.trim(), price: Number(price.value) }] }));
      listPrices();
    },
  }, h('h2', {}, 'Prices'), h('div', { class: 'field-grid' }, field('Symbol', symbol), field('Price', price)),
  h('div', { class: 'buttons' }, h('button', { type: 'submit', testid: 'sandbox-set-price' }, 'Set price')), pricesList);

  // clock
  const clockNow = h('output', { testid: 'sandbox-clock-now' }, '…');
  const advance = h('input', { type: 'number', min: '1', step: '1', value: '3600', testid: 'sandbox-advance' });
  const setTime = h('input', { type: 'text', testid: 'sandbox-now', placeholder: '2026-12-07T22:00:00Z' });
  async function readClock() {
    const r = await api.call('GET', '/_autoliq/clock');
    if (r.ok) clockNow.textContent = `${r.data.now} (trade date ${r.data.tradeDate}, market ${r.data.marketOpen ? 'open' : 'shut'})`;
  }
  const clockForm = h('div', { class: 'stack' }, h('h2', {}, 'Clock'), h('p', {}, 'Sandbox time: ', clockNow),
    h('form', { class: 'inline-form', onsubmit: async (e) => { e.preventDefault(); await run(() => api.post('/_autoliq/clock', { advanceSeconds: Number(advance.value) })); readClock(); } },
      field('Advance (seconds)', advance), h('button', { type: 'submit', testid: 'sandbox-advance-submit' }, 'Advance')),
    h('form', { class: 'inline-form', onsubmit: async (e) => { e.preventDefault(); await run(() => api.post('/_autoliq/clock', { now: setTime.value.trim() })); readClock(); } },
      field('Set time (ISO, with offset)', setTime), h('button', { type: 'submit', testid: 'sandbox-now-submit' }, 'Set time')));

  // faults
  const path = h('input', { type: 'text', value: '/v1/order/placeorder', testid: 'fault-path', required: true });
  const kind = select(FAULT_KINDS, { testid: 'fault-kind' });
  const countInput = h('input', { type: 'number', min: '1', max: '10000', value: '1', testid: 'fault-count' });
  const pTime = h('input', { type: 'number', min: '0', max: '3600', value: '1', testid: 'fault-ptime' });
  const delayMs = h('input', { type: 'number', min: '1', max: '60000', value: '500', testid: 'fault-delay' });
  const faultsList = h('ul', { class: 'plain', testid: 'fault-list' });
  async function listFaults() {
    const r = await api.call('GET', '/_autoliq/faults');
    if (r.ok) {
      faultsList.replaceChildren(...(r.data.faults.length
        ? r.data.faults.map((f) => h('li', { testid: 'fault-entry' }, `${f.kind} on ${f.path}: ${f.remaining} left`))
        : [h('li', { class: 'empty' }, 'No pending fault.')]));
    }
  }
  const faultsForm = h('form', {
    testid: 'sandbox-faults-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { path: path.value.trim(), kind: kind.value, count: Number(countInput.value) };
      if (kind.value === 'penaltyTicket') body.pTime = Number(pTime.value);
      if (kind.value === 'delay') body.delayMs = Number(delayMs.value);
      await run(() => api.post('/_autoliq/faults', body));
      listFaults();
    },
  }, h('h2', {}, 'Faults'),
  h('div', { class: 'field-grid' }, field('Path', path), field('Kind', kind), field('Count', countInput),
    field('p-time (s)', pTime, 'penaltyTicket only'), field('Delay (ms)', delayMs, 'delay only')),
  h('div', { class: 'buttons' },
    h('button', { type: 'submit', testid: 'fault-add' }, 'Add fault'),
    h('button', { type: 'button', testid: 'fault-clear', onclick: async () => { await run(() => api.del('/_autoliq/faults')); listFaults(); } }, 'Clear faults')),
  faultsList);

  // reset
  const resetDialog = h('dialog', { class: 'confirm-dialog', testid: 'reset-dialog', 'aria-labelledby': 'reset-title' },
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        resetDialog.close();
        if (await run(() => api.post('/_autoliq/reset', {}))) onReset();
        listPrices(); readClock(); listFaults();
      },
    },
    h('h2', { id: 'reset-title' }, 'Reset the sandbox?'),
    h('p', {}, 'Every account goes back to its seeded state: statuses Normal, orders, fills, positions, post-trade settings, alerts and prices deleted, the clock back to real time. The audit log is kept.'),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', onclick: () => resetDialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary danger', testid: 'reset-confirm' }, 'Reset the sandbox'))));
  const resetBox = h('div', { class: 'stack' }, h('h2', {}, 'Reset'),
    h('button', { type: 'button', class: 'danger-outline', testid: 'sandbox-reset', onclick: () => resetDialog.showModal() }, 'Reset the sandbox…'));

  const el = h('section', { class: 'view sandbox-view', testid: 'sandbox-panel', 'aria-labelledby': 'sandbox-title' },
    h('h1', { id: 'sandbox-title' }, 'Sandbox'),
    h('div', { class: 'columns' }, h('div', { class: 'panel' }, pricesForm), h('div', { class: 'panel' }, clockForm)),
    h('div', { class: 'columns' }, h('div', { class: 'panel' }, faultsForm), h('div', { class: 'panel' }, resetBox)),
    h('div', { class: 'panel' }, h('h2', {}, 'Answer'), error, output),
    resetDialog);

  return {
    el,
    shown() {
      listPrices();
      readClock();
      listFaults();
    },
  };
}
