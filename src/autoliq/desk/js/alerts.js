// Alerts: breaches and auto-liquidations, polled every second with afterId, newest on top.

import * as api from './api.js';
import { h } from './dom.js';
import { dateTime } from './format.js';

const POLL_MS = 1000;
const KEEP = 500;

export function alertItem(alert, accountName) {
  const name = accountName ?? `#${alert.accountId}`;
  return h(
    'li',
    { class: `alert level-${alert.level}`, testid: 'alert-entry', 'data-level': alert.level, 'data-account-id': alert.accountId, 'data-alert-id': alert.id },
    h('span', { class: `badge level-${alert.level}` }, alert.level),
    h('time', { datetime: alert.timestamp }, dateTime(alert.timestamp)),
    h('a', { href: `#/account/${alert.accountId}` }, name),
    h('span', { class: 'rule' }, alert.rule),
    h('p', { class: 'message' }, alert.message),
  );
}

export function createAlertsView() {
  const list = h('ol', { class: 'alerts', testid: 'alerts-feed', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const empty = h('p', { class: 'empty', testid: 'alerts-empty' }, 'No alert yet.');
  const status = h('p', { class: 'hint', role: 'status' });
  const el = h('section', { class: 'view alerts-view', 'aria-labelledby': 'alerts-title' },
    h('h1', { id: 'alerts-title' }, 'Alerts'),
    h('p', { class: 'hint' }, 'Breaches and auto-liquidations across the organization, newest first.'),
    status, empty, list);
  const names = new Map();
  let afterId = 0;
  let timer = null;
  let stopped = true;
  let unseen = 0;
  let visible = false;
  let onCount = () => {};

  async function resolveNames(ids) {
    const missing = [...new Set(ids)].filter((id) => !names.has(id));
    if (!missing.length) return;
    try {
      const answer = await api.get('/_autoliq/desk/accounts', { ids: missing.slice(0, 1000).join(','), limit: 1000 });
      for (const r of answer.rows) names.set(r.id, r.name);
    } catch {
      // names are a nicety: ids are shown instead
    }
  }

  async function poll() {
    try {
      const batch = await api.get('/_autoliq/alerts', { afterId, limit: 1000 });
      if (batch.length) {
        await resolveNames(batch.map((a) => a.accountId));
        for (const alert of batch) {
          list.prepend(alertItem(alert, names.get(alert.accountId)));
          afterId = Math.max(afterId, alert.id);
        }
        while (list.childElementCount > KEEP) list.lastElementChild.remove();
        empty.hidden = true;
        if (!visible) {
          unseen += batch.length;
          onCount(unseen);
        }
      }
      status.textContent = '';
    } catch (err) {
      status.textContent = `Alerts could not be read: ${err.errorText ?? err.message}`;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  return {
    el,
    start() {
      stopped = false;
      poll();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    onCount(fn) { onCount = fn; },
    setVisible(on) {
      visible = on;
      if (on) {
        unseen = 0;
        onCount(0);
      }
    },
    /** After a sandbox reset: alert ids start again. */
    reset() {
      afterId = 0;
      list.replaceChildren();
      empty.hidden = false;
    },
  };
}
