// Sign-in, the shell (header, navigation, connection banner) and hash routing:
// #/accounts, #/account/<id>, #/alerts, #/sandbox.

import { createAccountPage } from './account.js';
import { createAccountsView } from './accounts.js';
import { openActionDialog } from './actions.js';
import { createAlertsView } from './alerts.js';
import * as api from './api.js';
import { clear, field, h } from './dom.js';
import { createSandboxView } from './sandbox.js';
import { DeskSocket, eventAccountId } from './socket.js';

const app = document.getElementById('app');
const banner = document.getElementById('connection-banner');
const toast = document.getElementById('toast');

function notify(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { toast.hidden = true; }, 4000);
}

function setBanner(text) {
  banner.textContent = text ?? '';
  banner.hidden = !text;
}

api.onPenalty((left, path) => {
  if (left > 0) notify(`The server asks to wait (${path}): retrying in ${left} s…`);
});
api.onSignedOut(() => location.reload());

// -- sign-in --
function showLogin() {
  const name = h('input', { type: 'text', testid: 'login-name', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', testid: 'login-password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'login-submit' }, 'Sign in');
  const error = h('p', { class: 'error', role: 'alert', testid: 'login-error' });
  const wait = h('p', { class: 'penalty', testid: 'login-penalty', 'aria-live': 'polite', hidden: true });
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title', onsubmit: onSubmit },
    h('h1', { id: 'login-title' }, 'Risk desk'),
    h('p', { class: 'hint' }, 'Sign in with your autoliq user.'),
    field('Name', name), field('Password', password), error, wait,
    h('div', { class: 'buttons' }, submit));
  clear(app, h('main', { class: 'login-page' }, form));
  name.focus();

  async function onSubmit(e) {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await api.signIn(name.value, password.value, (left) => {
        wait.hidden = left <= 0;
        wait.textContent = `Too many failed sign-ins: trying again in ${left} s`;
      });
      password.value = '';
      await startDesk();
    } catch (err) {
      wait.hidden = true;
      error.textContent = err.errorText ?? `Network error: ${err.message}`;
      submit.disabled = false;
      password.select();
    }
  }
}

// -- the desk --
async function startDesk() {
  const session = await api.get('/_autoliq/desk/session');
  const main = h('main', { id: 'main', tabindex: '-1' });
  const alertsCount = h('span', { class: 'count-badge', testid: 'alerts-unseen', hidden: true });
  const nav = h('nav', { 'aria-label': 'Desk' }, h('ul', {},
    h('li', {}, h('a', { href: '#/accounts', testid: 'nav-accounts' }, 'Accounts')),
    h('li', {}, h('a', { href: '#/alerts', testid: 'nav-alerts' }, 'Alerts', alertsCount)),
    session.operator ? h('li', {}, h('a', { href: '#/sandbox', testid: 'nav-sandbox' }, 'Sandbox')) : null));
  const header = h('header', { class: 'top' },
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('p', { class: 'brand' }, 'autoliq risk desk'),
    h('p', { class: 'org', testid: 'session-org' }, session.organizationName,
      h('span', { class: 'env' }, ` ${session.environment ?? ''}`)),
    nav,
    h('p', { class: 'user', testid: 'session-user' }, session.name,
      h('span', { class: `role ${session.admin ? 'admin' : 'trader'}`, testid: 'session-role' }, session.admin ? 'admin' : 'read-only')),
    h('button', { type: 'button', testid: 'sign-out', onclick: () => api.signOut() }, 'Sign out'));
  clear(app, header, main);

  let accountPage = null;
  const socket = new DeskSocket({
    token: api.accessToken,
    onEvent: (d) => {
      const id = eventAccountId(d);
      accounts.touched(id);
      accountPage?.touched(id, d.entityType);
    },
    onSynced: (ids) => {
      if (ids.length) accounts.refresh(ids);
      accountPage?.refresh();
    },
    onStatus: (status) => {
      if (status === 'lost') setBanner('Connection lost — reconnecting…');
      else {
        setBanner(null);
        if (status === 'reconnected') {
          accounts.refreshAll();
          accountPage?.refresh();
        }
      }
    },
  });
  const openAction = (key, list) => openActionDialog(key, list, {
    notify,
    onDone: (ids) => {
      accounts.refresh(ids);
      accountPage?.refresh();
    },
  });
  const accounts = createAccountsView({ session, socket, openAccount: (id) => { location.hash = `#/account/${id}`; }, openAction });
  const alerts = createAlertsView();
  const sandbox = session.operator ? createSandboxView({
    onReset: () => {
      notify('Sandbox reset');
      alerts.reset();
      accounts.refreshAll();
    },
  }) : null;
  alerts.onCount((n) => {
    alertsCount.hidden = n === 0;
    alertsCount.textContent = ` ${n}`;
  });

  let accountsTop = 0;
  function route() {
    const hash = location.hash || '#/accounts';
    const match = /^#\/account\/(\d+)$/.exec(hash);
    if (accountPage && (!match || Number(match[1]) !== accountPage.accountId)) {
      accountPage.destroy();
      accountPage = null;
    }
    for (const a of nav.querySelectorAll('a')) {
      a.toggleAttribute('aria-current', a.getAttribute('href') === hash || (match && a.getAttribute('href') === '#/accounts'));
    }
    alerts.setVisible(hash === '#/alerts');
    let view;
    if (match) {
      accountPage ??= createAccountPage({ accountId: Number(match[1]), session, socket, openAction, notify });
      view = accountPage.el;
    } else if (hash === '#/alerts') {
      view = alerts.el;
      document.title = 'Alerts · Risk desk';
    } else if (hash === '#/sandbox' && sandbox) {
      view = sandbox.el;
      sandbox.shown();
      document.title = 'Sandbox · Risk desk';
    } else {
      view = accounts.el;
      document.title = 'Accounts · Risk desk';
    }
    // The accounts view is kept (detached) with its cache; a detached element forgets its scroll.
    const scroll = accounts.el.querySelector('.grid-body');
    if (main.contains(accounts.el)) accountsTop = scroll.scrollTop;
    main.replaceChildren(view);
    if (view === accounts.el) {
      scroll.scrollTop = accountsTop;
      accounts.shown();
    }
    if (view !== accounts.el || accountsTop === 0) window.scrollTo(0, 0);
  }

  window.addEventListener('hashchange', route);
  if (!location.hash) history.replaceState(null, '', '#/accounts');
  route();
  accounts.start();
  alerts.start();
  socket.start();
}

showLogin();
