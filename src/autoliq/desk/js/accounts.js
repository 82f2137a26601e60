// The accounts table: a virtual list over /_autoliq/desk/accounts. Only the rows in view (and a
// small buffer) are in the DOM; pages of PAGE rows are fetched on demand and cached.

import * as api from './api.js';
import { ADMIN_ACTIONS, AUTO_LIQ_LAYERS, plural } from './constants.js';
import { debounce, field, h, select } from './dom.js';
import { briefDateTime, money, number, signClass } from './format.js';

const ROW_H = 36;
const PAGE = 200;
const BUFFER = 8;
const MAX_PAGES = 50;
const FOLLOW_PAGES = 2; // pages either side of the view whose accounts the socket follows
const SELECT_ALL_MAX = 10000;
const NOT_SORTABLE = 'Computed per row from live prices: the server cannot sort by it';

const COLUMNS = [
  { key: 'name', label: 'Name', sort: 'name' },
  { key: 'owner', label: 'Owner', sort: 'owner' },
  { key: 'adminAction', label: 'Admin action', sort: 'adminAction' },
  { key: 'autoLiq', label: 'Auto-liq layer', sort: 'autoLiq' },
  { key: 'netLiq', label: 'Net liq', num: true },
  { key: 'dayPnl', label: 'Day P&L', num: true },
  { key: 'distanceToFloor', label: 'To floor', num: true, title: 'Distance to the trailing-drawdown floor' },
  { key: 'openPositions', label: 'Positions', num: true },
];

export function createAccountsView({ session, socket, openAccount, openAction }) {
  const admin = session.admin;
  const query = { name: '', adminAction: '', autoLiq: '', sort: 'name', desc: false };
  let total = null;
  let generation = 0;
  const pages = new Map(); // page number -> rows
  const loading = new Map(); // page number -> generation
  const rendered = new Map(); // row index -> element
  const selected = new Map(); // account id -> name
  let anchor = null; // last checkbox index, for shift-click ranges
  let selectingAll = false;

  // -- filters --
  const nameInput = h('input', { type: 'search', testid: 'accounts-filter-name', placeholder: 'e.g. DEMO*0042', autocomplete: 'off' });
  const actionSelect = select([{ value: '', label: 'Any' }, ...ADMIN_ACTIONS], { testid: 'accounts-filter-admin-action' });
  const layerSelect = select([{ value: '', label: 'Any' }, ...AUTO_LIQ_LAYERS], { testid: 'accounts-filter-autoliq' });
  const count = h('output', { testid: 'accounts-total', 'aria-live': 'polite' }, '…');
  const filters = h(
    'form',
    { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); applyFilters(); } },
    field('Name', nameInput, 'Contains; * and ? are wildcards'),
    field('Admin action', actionSelect),
    field('Auto-liq layer', layerSelect),
    h('p', { class: 'count' }, count),
  );
  nameInput.addEventListener('input', debounce(applyFilters, 250));
  actionSelect.addEventListener('change', applyFilters);
  layerSelect.addEventListener('change', applyFilters);

  // -- toolbar (admins only) --
  const selectionText = h('span', { testid: 'selection-count', 'aria-live': 'polite' }, 'No account selected');
  const bulkButtons = admin
    ? ['lock', 'unlock', 'liquidate', 'liquidate-only'].map((key) =>
        h('button', { type: 'button', testid: `bulk-action-${key}`, disabled: true, onclick: () => actOnSelection(key) }, bulkLabel(key)),
      )
    : [];
  const toolbar = admin
    ? h(
        'div',
        { class: 'toolbar', role: 'toolbar', 'aria-label': 'Act on the selected accounts' },
        selectionText,
        ...bulkButtons,
        h('button', { type: 'button', class: 'link', testid: 'selection-clear', onclick: () => setSelection(new Map()) }, 'Clear selection'),
      )
    : null;

  // -- grid --
  const selectAll = admin
    ? h('input', { type: 'checkbox', testid: 'select-all', 'aria-label': 'Select every account matching the filter', onchange: onSelectAll })
    : null;
  const headerCells = COLUMNS.map((col) => {
    const attrs = { role: 'columnheader', class: `cell ${col.num ? 'num' : ''}`, 'data-col': col.key };
    if (!col.sort) {
      return h('div', { ...attrs, title: col.title ? `${col.title}. ${NOT_SORTABLE}` : NOT_SORTABLE }, col.label);
    }
    return h(
      'div',
      { ...attrs, 'aria-sort': 'none' },
      h('button', { type: 'button', class: 'sort', testid: `sort-${col.key}`, onclick: () => sortBy(col.sort) }, col.label, h('span', { class: 'arrow', 'aria-hidden': 'true' })),
    );
  });
  const head = h(
    'div',
    { class: 'grid-row grid-head', role: 'row' },
    admin ? h('div', { role: 'columnheader', class: 'cell check' }, selectAll) : null,
    headerCells,
    admin ? h('div', { role: 'columnheader', class: 'cell act' }, h('span', { class: 'visually-hidden' }, 'Action')) : null,
  );
  const spacer = h('div', { class: 'grid-spacer', role: 'rowgroup' });
  const body = h('div', { class: 'grid-body', testid: 'accounts-scroll' }, spacer);
  const empty = h('p', { class: 'empty', hidden: true, testid: 'accounts-empty' }, 'No account matches.');
  const grid = h(
    'div',
    { class: `grid ${admin ? 'with-actions' : 'read-only'}`, role: 'grid', 'aria-label': 'Accounts', testid: 'accounts-grid', 'aria-rowcount': '0' },
    h('div', { role: 'rowgroup' }, head),
    body,
    empty,
  );
  const el = h('section', { class: 'view accounts-view', 'aria-labelledby': 'accounts-title' },
    h('h1', { id: 'accounts-title' }, 'Accounts'), filters, toolbar, grid);

  body.addEventListener('scroll', () => scheduleRender(), { passive: true });
  window.addEventListener('resize', () => scheduleRender());
  body.addEventListener('keydown', onKey);

  // -- data --
  function params(extra) {
    return {
      name: query.name, adminAction: query.adminAction, autoLiq: query.autoLiq,
      sort: query.sort, desc: query.desc ? 'true' : undefined, ...extra,
    };
  }

  async function loadPage(page) {
    if (pages.has(page) || loading.get(page) === generation) return;
    const gen = generation;
    loading.set(page, gen);
    try {
      const answer = await api.get('/_autoliq/desk/accounts', params({ offset: page * PAGE, limit: PAGE }));
      if (gen !== generation) return;
      pages.set(page, answer.rows);
      setTotal(answer.total);
      evict(page);
      scheduleRender();
      followSoon();
    } catch (err) {
      if (gen === generation) showError(err);
    } finally {
      if (loading.get(page) === gen) loading.delete(page);
    }
  }

  function evict(keep) {
    if (pages.size <= MAX_PAGES) return;
    const center = Math.floor(body.scrollTop / ROW_H / PAGE);
    const far = [...pages.keys()].filter((p) => p !== keep).sort((a, b) => Math.abs(b - center) - Math.abs(a - center));
    for (const p of far.slice(0, pages.size - MAX_PAGES)) pages.delete(p);
  }

  function setTotal(n) {
    if (n === total) return;
    total = n;
    spacer.style.height = `${n * ROW_H}px`;
    grid.setAttribute('aria-rowcount', String(n + 1));
    count.textContent = plural(n, 'account');
    empty.hidden = n !== 0;
  }

  function rowAt(index) {
    return pages.get(Math.floor(index / PAGE))?.[index % PAGE] ?? null;
  }

  function showError(err) {
    count.textContent = `Could not load accounts: ${err.errorText ?? err.message}`;
  }

  const fetchVisible = debounce(() => {
    const [first, last] = range();
    if (last < first) return;
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p += 1) loadPage(p);
  }, 30);

  // -- rendering --
  let frame = 0;
  function scheduleRender() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  }

  function range() {
    if (total === null) return [0, 0];
    const first = Math.max(0, Math.floor(body.scrollTop / ROW_H) - BUFFER);
    const last = Math.min(total - 1, Math.ceil((body.scrollTop + body.clientHeight) / ROW_H) + BUFFER);
    return [first, last];
  }

  function render() {
    const [first, last] = range();
    for (const [index, rowEl] of rendered) {
      if (index < first || index > last) {
        rowEl.remove();
        rendered.delete(index);
      }
    }
    let missing = false;
    for (let i = first; i <= last; i += 1) {
      const row = rowAt(i);
      if (!row) missing = true;
      const key = row ? `${row.id}:${row._v ?? 0}` : 'loading';
      const current = rendered.get(i);
      if (current && current.dataset.key === key) continue;
      const fresh = row ? buildRow(row, i) : buildPlaceholder(i);
      fresh.dataset.key = key;
      if (current) {
        const hadFocus = current.contains(document.activeElement);
        current.replaceWith(fresh);
        if (hadFocus) fresh.focus({ preventScroll: true });
      } else {
        spacer.append(fresh);
      }
      rendered.set(i, fresh);
    }
    if (missing || total === null) fetchVisible();
    followSoon();
  }

  function buildPlaceholder(index) {
    const rowEl = h('div', { class: 'grid-row placeholder', role: 'row', testid: 'accounts-row-loading', 'aria-rowindex': index + 2 },
      h('div', { class: 'cell', role: 'gridcell' }, 'Loading…'));
    place(rowEl, index);
    return rowEl;
  }

  function buildRow(row, index) {
    const isSelected = selected.has(row.id);
    const rowEl = h('div', {
      class: `grid-row${isSelected ? ' selected' : ''}`,
      role: 'row',
      tabindex: '0',
      testid: 'accounts-row',
      'data-account-id': row.id,
      'data-index': index,
      'aria-rowindex': index + 2,
      'aria-selected': admin ? String(isSelected) : null,
    });
    place(rowEl, index);
    if (admin) {
      const box = h('input', { type: 'checkbox', testid: 'row-select', checked: isSelected, 'aria-label': `Select ${row.name}` });
      box.addEventListener('click', (e) => {
        e.stopPropagation();
        toggle(row, index, box.checked, e.shiftKey);
      });
      rowEl.append(h('div', { class: 'cell check', role: 'gridcell' }, box));
    }
    const until = row.autoLiq !== 'Normal' ? (row.autoLiqUntil ? `until ${briefDateTime(row.autoLiqUntil)}` : 'until changed') : '';
    const cells = {
      name: h('span', { class: 'name' }, row.name, row.archived ? h('span', { class: 'tag' }, ' archived') : null),
      owner: row.owner,
      adminAction: h('span', { class: `state state-${row.adminAction}`, testid: 'cell-admin-action' }, row.adminAction),
      autoLiq: h('span', { class: `layer layer-${row.autoLiq}`, testid: 'cell-autoliq', title: [row.autoLiqRule, until].filter(Boolean).join(' ') || null },
        row.autoLiq, until ? h('small', { class: 'until' }, ` ${until}`) : null),
      netLiq: money(row.netLiq),
      dayPnl: h('span', { class: signClass(row.dayPnl) }, money(row.dayPnl)),
      distanceToFloor: row.distanceToFloor === null ? h('span', { title: 'No trailing drawdown set' }, '—') : money(row.distanceToFloor),
      openPositions: number(row.openPositions),
    };
    for (const col of COLUMNS) {
      rowEl.append(h('div', { class: `cell ${col.num ? 'num' : ''}`, role: 'gridcell', 'data-col': col.key }, cells[col.key]));
    }
    if (admin) {
      const key = row.adminAction === 'Normal' ? 'lock' : 'unlock';
      rowEl.append(h('div', { class: 'cell act', role: 'gridcell' },
        h('button', {
          type: 'button', class: 'small', testid: `row-action-${key}`,
          'aria-label': `${key === 'lock' ? 'Lock' : 'Unlock'} ${row.name}`,
          onclick: (e) => { e.stopPropagation(); openAction(key, [{ id: row.id, name: row.name }]); },
        }, key === 'lock' ? 'Lock' : 'Unlock')));
    }
    rowEl.addEventListener('click', (e) => {
      if (e.target.closest('button, input')) return;
      openAccount(row.id);
    });
    return rowEl;
  }

  function onKey(e) {
    const rowEl = e.target.closest?.('.grid-row[data-index]');
    if (!rowEl || e.target !== rowEl) return;
    const index = Number(rowEl.dataset.index);
    if (e.key === 'Enter') {
      e.preventDefault();
      openAccount(Number(rowEl.dataset.accountId));
    } else if (e.key === ' ' && admin) {
      e.preventDefault();
      const row = rowAt(index);
      if (row) toggle(row, index, !selected.has(row.id), e.shiftKey);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      focusIndex(index + (e.key === 'ArrowDown' ? 1 : -1));
    }
  }

  function focusIndex(index) {
    if (total === null || index < 0 || index >= total) return;
    const top = index * ROW_H;
    if (top < body.scrollTop) body.scrollTop = top;
    else if (top + ROW_H > body.scrollTop + body.clientHeight) body.scrollTop = top + ROW_H - body.clientHeight;
    render();
    rendered.get(index)?.focus({ preventScroll: true });
  }

  // -- sorting and filtering --
  function sortBy(key) {
    query.desc = query.sort === key ? !query.desc : false;
    query.sort = key;
    for (const cell of headerCells) {
      const col = cell.dataset.col;
      if (!COLUMNS.find((c) => c.key === col)?.sort) continue;
      const on = COLUMNS.find((c) => c.key === col).sort === key;
      cell.setAttribute('aria-sort', on ? (query.desc ? 'descending' : 'ascending') : 'none');
      cell.querySelector('.arrow').textContent = on ? (query.desc ? ' ▼' : ' ▲') : '';
    }
    reload();
  }

  function applyFilters() {
    const next = { name: nameInput.value.trim(), adminAction: actionSelect.value, autoLiq: layerSelect.value };
    if (next.name === query.name && next.adminAction === query.adminAction && next.autoLiq === query.autoLiq) return;
    Object.assign(query, next);
    reload();
  }

  function reload() {
    generation += 1;
    pages.clear();
    loading.clear();
    for (const rowEl of rendered.values()) rowEl.remove();
    rendered.clear();
    total = null;
    count.textContent = 'Loading…';
    body.scrollTop = 0;
    if (selectAll) selectAll.checked = false;
    loadPage(0);
  }

  // -- selection --
  function setSelection(next) {
    selected.clear();
    for (const [id, name] of next) selected.set(id, name);
    selectionChanged();
  }

  function toggle(row, index, on, range) {
    if (range && anchor !== null) {
      const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
      for (let i = a; i <= b; i += 1) {
        const r = rowAt(i);
        if (!r) continue;
        if (on) selected.set(r.id, r.name);
        else selected.delete(r.id);
      }
    } else if (on) {
      selected.set(row.id, row.name);
    } else {
      selected.delete(row.id);
    }
    anchor = index;
    selectionChanged();
  }

  function selectionChanged() {
    const n = selected.size;
    if (selectionText) selectionText.textContent = n ? `${plural(n, 'account')} selected` : 'No account selected';
    for (const b of bulkButtons) b.disabled = n === 0;
    for (const rowEl of rendered.values()) {
      const id = Number(rowEl.dataset.accountId);
      if (!id) continue;
      const on = selected.has(id);
      rowEl.classList.toggle('selected', on);
      rowEl.setAttribute('aria-selected', String(on));
      const box = rowEl.querySelector('input[type=checkbox]');
      if (box) box.checked = on;
    }
    if (selectAll && selected.size === 0) selectAll.checked = false;
  }

  async function onSelectAll() {
    if (!selectAll.checked) {
      setSelection(new Map());
      return;
    }
    if (total > SELECT_ALL_MAX) {
      selectAll.checked = false;
      selectionText.textContent = `${plural(total, 'account')} match: narrow the filter to at most ${SELECT_ALL_MAX.toLocaleString('en-US')} to select them all`;
      return;
    }
    if (selectingAll) return;
    selectingAll = true;
    selectionText.textContent = 'Selecting…';
    const gen = generation;
    try {
      const next = new Map(selected);
      for (let offset = 0; offset < total; offset += 1000) {
        const answer = await api.get('/_autoliq/desk/accounts', params({ offset, limit: 1000 }));
        if (gen !== generation) return;
        for (const r of answer.rows) next.set(r.id, r.name);
        if (answer.rows.length < 1000) break;
      }
      setSelection(next);
    } catch (err) {
      selectionText.textContent = `Could not select: ${err.errorText ?? err.message}`;
    } finally {
      selectingAll = false;
    }
  }

  function actOnSelection(key) {
    const accounts = [...selected].map(([id, name]) => ({ id, name }));
    if (accounts.length) openAction(key, accounts);
  }

  // -- live updates --
  const followSoon = debounce(() => {
    if (total === null) return;
    const center = Math.floor(body.scrollTop / ROW_H / PAGE);
    const ids = [];
    for (let p = center - FOLLOW_PAGES; p <= center + FOLLOW_PAGES; p += 1) {
      for (const r of pages.get(p) ?? []) ids.push(r.id);
    }
    socket.follow('table', ids);
  }, 200);

  const pending = new Set();
  const flush = debounce(async () => {
    const ids = [...pending];
    pending.clear();
    const gen = generation;
    for (let i = 0; i < ids.length; i += 1000) {
      try {
        const answer = await api.get('/_autoliq/desk/accounts', { ids: ids.slice(i, i + 1000).join(','), limit: 1000 });
        if (gen !== generation) return;
        replaceRows(answer.rows);
      } catch {
        // the next event or reconnect refreshes again
      }
    }
    // A filter or sort on what changed: the pages themselves may now hold other accounts.
    if (query.adminAction || query.autoLiq || ['adminAction', 'autoLiq', 'balance'].includes(query.sort)) refreshPages();
  }, 100);

  function replaceRows(rows) {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const list of pages.values()) {
      for (let i = 0; i < list.length; i += 1) {
        const fresh = byId.get(list[i].id);
        if (fresh) list[i] = { ...fresh, _v: (list[i]._v ?? 0) + 1 };
      }
    }
    scheduleRender();
  }

  async function refreshPages() {
    const [first, last] = range();
    const gen = generation;
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p += 1) {
      try {
        const answer = await api.get('/_autoliq/desk/accounts', params({ offset: p * PAGE, limit: PAGE }));
        if (gen !== generation) return;
        const old = pages.get(p) ?? [];
        pages.set(p, answer.rows.map((r, i) => ({ ...r, _v: (old[i]?._v ?? 0) + 1 })));
        setTotal(answer.total);
      } catch {
        return;
      }
    }
    scheduleRender();
  }

  function isLoaded(id) {
    for (const list of pages.values()) if (list.some((r) => r.id === id)) return true;
    return false;
  }

  return {
    el,
    start() { loadPage(0); },
    /** An event about `accountId`: refresh its row if it is loaded. */
    touched(accountId) {
      if (accountId && isLoaded(accountId)) {
        pending.add(accountId);
        flush();
      }
    },
    refresh(ids) {
      for (const id of ids) pending.add(id);
      flush();
    },
    /** After a reconnect or a reset: events may have been missed; pages out of view are dropped. */
    refreshAll() {
      const [first, last] = range();
      for (const p of [...pages.keys()]) {
        if (p < Math.floor(first / PAGE) || p > Math.floor(last / PAGE)) pages.delete(p);
      }
      refreshPages();
    },
    shown() { scheduleRender(); },
  };
}

// Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
function place(rowEl, index) {
  rowEl.style.transform = `translateY(${index * ROW_H}px)`;
}

function bulkLabel(key) {
  return { lock: 'Lock', unlock: 'Unlock', liquidate: 'Liquidate', 'liquidate-only': 'Liquidate-only' }[key];
}
