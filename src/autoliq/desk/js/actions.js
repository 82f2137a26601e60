// The action dialog: reason code + reason, a confirmation saying exactly what will happen, then one
// request (one account) or chunks of the bulk route with a progress bar and per-account results.

import * as api from './api.js';
import { ACTIONS, REASON_CODES, plural } from './constants.js';
import { field, h, select } from './dom.js';

// Accounts per bulk request: about 100 steps of the progress bar, 25 to 1,000 accounts each.
const MIN_CHUNK = 25;
const MAX_CHUNK = 1000;

export function confirmationText(key, count) {
  const action = ACTIONS[key];
  return `${action.verb} ${plural(count, 'account')}: ${action.effect}`;
}

/** Open the dialog for `key` (lock, unlock, liquidate, liquidate-only) on `accounts` [{id, name}]. */
export function openActionDialog(key, accounts, { onDone, notify }) {
  const action = ACTIONS[key];
  const many = accounts.length > 1;
  const title = `${action.verb} ${many ? plural(accounts.length, 'account') : accounts[0].name}`;

  const code = select([{ value: '', label: 'Choose a reason code…' }, ...REASON_CODES], { testid: 'reason-code', required: true });
  const reason = h('input', { type: 'text', testid: 'reason-text', maxlength: '8192', autocomplete: 'off' });
  const error = h('p', { class: 'error', role: 'alert', testid: 'action-error' });
  const confirmButton = h('button', { type: 'submit', class: `primary ${key === 'unlock' ? '' : 'danger'}`, testid: 'confirm-action' }, title);
  const cancelButton = h('button', { type: 'button', testid: 'cancel-action', onclick: () => dialog.close() }, 'Cancel');
  const progress = h('progress', { max: String(accounts.length), value: '0', testid: 'bulk-progress', 'aria-label': 'Accounts done' });
  const progressText = h('span', { 'aria-live': 'polite', testid: 'bulk-progress-text' });
  const progressBox = h('div', { class: 'progress', hidden: true }, progress, ' ', progressText);
  const results = h('ol', { class: 'results', testid: 'bulk-results', hidden: true, 'aria-label': 'Results per account' });
  let running = false;

  const form = h(
    'form',
    { novalidate: true, onsubmit: submit },
    h('h2', { id: 'action-title' }, title),
    h('p', { class: 'confirm-text', testid: 'action-confirm-text' }, confirmationText(key, accounts.length)),
    many ? h('p', { class: 'hint' }, `Accounts: ${accounts.slice(0, 5).map((a) => a.name).join(', ')}${accounts.length > 5 ? ', …' : ''}`) : null,
    field('Reason code', code),
    field('Reason', reason, 'Required when the code is Other'),
    error,
    progressBox,
    results,
    h('div', { class: 'buttons' }, cancelButton, confirmButton),
  );
  const dialog = h('dialog', { class: 'action-dialog', testid: 'action-dialog', 'aria-labelledby': 'action-title' }, form);
  dialog.addEventListener('cancel', (e) => {
    if (running) e.preventDefault(); // Escape closes, but not while requests are in flight
  });
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  code.focus();

  async function submit(e) {
    e.preventDefault();
    if (running) return;
    error.textContent = '';
    if (!code.value) {
      error.textContent = 'Choose a reason code';
      code.focus();
      return;
    }
    // The server's own rule and wording (setadminautoliqaction check 7).
    if (code.value === 'Other' && !reason.value.trim()) {
      error.textContent = 'Admin Action Reason should be specified';
      reason.focus();
      return;
    }
    const body = { adminAction: action.adminAction, adminActionReasonCode: code.value, adminActionReason: reason.value };
    running = true;
    confirmButton.disabled = true;
    code.disabled = true;
    reason.disabled = true;
    try {
      if (many) await runBulk(body);
      else await runOne(body);
    } finally {
      running = false;
    }
  }

  async function runOne(body) {
    const account = accounts[0];
    try {
      const r = await api.post('/v1/accountRiskStatus/setadminautoliqaction', { accountId: account.id, ...body });
      if (r.ok) {
        dialog.close();
        notify(`${account.name}: ${r.data.accountRiskStatus?.adminAction ?? action.adminAction}`);
        onDone([account.id]);
        return;
      }
      error.textContent = r.errorText;
    } catch (err) {
      error.textContent = `Network error: ${err.message}`;
    }
    confirmButton.disabled = false;
    code.disabled = false;
    reason.disabled = false;
  }

  async function runBulk(body) {
    progressBox.hidden = false;
    results.hidden = false;
    cancelButton.disabled = true;
    let done = 0;
    let ok = 0;
    const size = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(accounts.length / 100)));
    for (let i = 0; i < accounts.length; i += size) {
      const chunk = accounts.slice(i, i + size);
      let answers;
      try {
        const r = await api.post('/_autoliq/bulk/setadminautoliqaction', { accountIds: chunk.map((a) => a.id), ...body });
        answers = r.ok
          ? r.data.results
          : chunk.map((a) => ({ accountId: a.id, httpStatus: r.status, errorText: r.errorText }));
      } catch (err) {
        answers = chunk.map((a) => ({ accountId: a.id, httpStatus: 0, errorText: `Network error: ${err.message}` }));
      }
      for (const [j, answer] of answers.entries()) {
        const account = chunk[j];
        const good = answer.httpStatus === 200 && !answer.errorText;
        if (good) ok += 1;
        results.append(
          h('li', { class: good ? 'ok' : 'failed', testid: 'bulk-result', 'data-account-id': account.id, 'data-ok': String(good) },
            h('span', { class: 'account' }, account.name), ' ',
            h('span', { class: 'outcome' }, good ? 'OK' : answer.errorText ?? `HTTP ${answer.httpStatus}`)),
        );
      }
      done += chunk.length;
      progress.value = done;
      progressText.textContent = `${done} of ${accounts.length} done (${Math.round((done / accounts.length) * 100)}%)`;
    }
    progressText.textContent = `Done: ${ok} OK, ${accounts.length - ok} refused, of ${accounts.length}`;
    confirmButton.hidden = true;
    cancelButton.disabled = false;
    cancelButton.textContent = 'Close';
    cancelButton.focus();
    onDone(accounts.map((a) => a.id));
  }
}
