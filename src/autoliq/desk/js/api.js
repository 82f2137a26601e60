// REST client: the access token lives in this module only (never in storage), is renewed before it
// expires, and penalty tickets (p-ticket / p-time) are waited out and the call resent with them.

const state = {
  token: null,
  expiresAt: 0,
  renewTimer: null,
  onSignedOut: null,
  onPenalty: null,
};

export class ApiError extends Error {
  constructor(status, errorText) {
    super(errorText);
    this.status = status;
    this.errorText = errorText;
  }
}

export const accessToken = () => state.token;

/** Called with (secondsLeft, path) while a penalty ticket is waited out; secondsLeft 0 when done. */
export function onPenalty(fn) {
  state.onPenalty = fn;
}

export function onSignedOut(fn) {
  state.onSignedOut = fn;
}

function buildUrl(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function send(method, path, { body, query, auth = true }) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(buildUrl(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  return { status: res.status, data };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitPenalty(seconds, path, report) {
  // The ticket is good only once its wait is over: a little margin beyond p-time.
  const until = Date.now() + seconds * 1000 + 250;
  for (;;) {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    report?.(left, path);
    if (Date.now() >= until) return;
    await sleep(Math.min(1000, until - Date.now()));
  }
}

/**
 * One call: {ok, status, data, errorText}. `ok` is a 2xx without an errorText. Network failures
 * throw (a TypeError from fetch).
 */
export async function call(method, path, opts = {}) {
  let ticket = null;
  for (let attempt = 0; ; attempt += 1) {
    let { body, query } = opts;
    if (ticket !== null) {
      if (method === 'GET') query = { ...query, 'p-ticket': ticket };
      else body = { ...(body ?? {}), 'p-ticket': ticket };
    }
    const r = await send(method, path, { body, query, auth: opts.auth !== false });
    const data = r.data;
    if (data && typeof data === 'object' && !Array.isArray(data) && 'p-ticket' in data && attempt < 8) {
      ticket = data['p-ticket'];
      await waitPenalty(Number(data['p-time']) || 1, path, opts.onPenalty ?? state.onPenalty);
      continue;
    }
    const errorText =
      data && typeof data === 'object' && !Array.isArray(data) && typeof data.errorText === 'string'
        ? data.errorText
        : r.status >= 300
          ? typeof data === 'string' && data ? data : `HTTP ${r.status}`
          : null;
    return { ok: r.status >= 200 && r.status < 300 && errorText === null, status: r.status, data, errorText };
  }
}

/** A read that must succeed: its data, or an ApiError carrying the server's errorText. */
export async function get(path, query) {
  const r = await call('GET', path, { query });
  if (!r.ok) throw new ApiError(r.status, r.errorText);
  return r.data;
}

export const post = (path, body) => call('POST', path, { body });
export const del = (path) => call('DELETE', path, {});

function adopt(answer) {
  state.token = answer.accessToken;
  state.expiresAt = Date.parse(answer.expirationTime);
  clearTimeout(state.renewTimer);
  const left = state.expiresAt - Date.now();
  // 5 minutes before expiry, or at half-life when the lifetime is short.
  const delay = left > 10 * 60e3 ? left - 5 * 60e3 : left / 2;
  state.renewTimer = setTimeout(renew, Math.max(1000, delay));
}

async function renew() {
  try {
    const r = await call('GET', '/v1/auth/renewaccesstoken');
    if (r.ok && r.data?.accessToken) {
      adopt(r.data);
      return;
    }
    if (r.status === 401) {
      signOut();
      return;
    }
  } catch {
    // the network: try again below
  }
  state.renewTimer = setTimeout(renew, 10e3);
}

/** Sign in; throws ApiError with the server's errorText exactly as sent. */
export async function signIn(name, password, penalty) {
  const r = await call('POST', '/v1/auth/accesstokenrequest', {
    body: { name, password },
    auth: false,
    onPenalty: penalty,
  });
  if (!r.ok || !r.data?.accessToken) throw new ApiError(r.status, r.errorText ?? 'Sign-in failed');
  adopt(r.data);
  return r.data;
}

export function signOut() {
  const wasSignedIn = state.token !== null;
  state.token = null;
  state.expiresAt = 0;
  clearTimeout(state.renewTimer);
  if (wasSignedIn) state.onSignedOut?.();
}
