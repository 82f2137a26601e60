// Tradovate's WebSocket protocol: `o` open, `h` heartbeat, `a[...]` messages, `c[code,reason]` close;
// requests are `endpoint\nid\nquery\nbody`. Follows the accounts the views ask for and reconnects by
// itself with backoff.

const HEARTBEAT_MS = 2500;
const MAX_IDS = 10000;
const ENTITY_TYPES = [
  'accountRiskStatus', 'accountRiskStatusLog', 'position', 'cashBalance', 'userAccountAutoLiq',
  'order', 'userAccountPositionLimit',
];

export class DeskSocket {
  /** token(): the current access token; onEvent(props.d); onStatus('connected' | 'lost' |
   * 'reconnected'); onSynced(ids): a syncrequest was answered: `ids`, newly followed, are live from now on (a
   * change committed between their first read and now came as no event: read them again). */
  constructor({ token, onEvent, onStatus, onSynced }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onSynced = onSynced;
    this.ws = null;
    this.seq = 1;
    this.authorized = false;
    this.everConnected = false;
    this.lost = false;
    this.stopped = true;
    this.attempt = 0;
    this.heartbeat = null;
    this.retryTimer = null;
    this.groups = new Map();
    this.syncedKey = '';
    this.requested = []; // the ids of the last syncrequest sent
    this.live = new Set(); // the ids its answer confirmed: their changes come as events
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.ws?.close(1000, 'bye');
    this.ws = null;
  }

  /** Follow `ids` under `key` (a view); the socket follows the union of every view's ids. */
  follow(key, ids) {
    this.groups.set(key, ids);
    this.sync();
  }

  ids() {
    const all = new Set();
    for (const ids of this.groups.values()) for (const id of ids) all.add(id);
    return [...all].sort((a, b) => a - b).slice(0, MAX_IDS);
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/v1/websocket`);
    this.ws = ws;
    this.authorized = false;
    this.syncedKey = '';
    this.live = new Set();
    ws.onmessage = (m) => {
      if (this.ws === ws) this.frame(typeof m.data === 'string' ? m.data : '');
    };
    ws.onclose = () => {
      if (this.ws === ws) this.closed();
    };
  }

  closed() {
    clearInterval(this.heartbeat);
    this.ws = null;
    this.authorized = false;
    if (this.stopped) return;
    if (!this.lost) {
      this.lost = true;
      this.onStatus('lost');
    }
    const delay = Math.min(10e3, 1000 * 2 ** this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  send(text) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  frame(text) {
    switch (text[0]) {
      case 'o':
        this.send(`authorize\n0\n\n${this.token() ?? ''}`);
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => this.send('[]'), HEARTBEAT_MS);
        break;
      case 'a':
        for (const message of JSON.parse(text.slice(1))) this.message(message);
        break;
      case 'c':
        this.ws?.close();
        break;
      default: // 'h': the server's heartbeat
    }
  }

  message(m) {
    if (m.e === 'props') {
      this.onEvent(m.d);
      return;
    }
    if (m.i === this.seq && m.i !== 0 && this.authorized) {
      // The syncrequest's answer: from now on every change of these accounts comes as an event.
      // One committed between the views' reads and this moment came as none: read them again.
      if (m.s === 200) {
        const added = this.requested.filter((id) => !this.live.has(id));
        this.live = new Set(this.requested);
        document.documentElement.dataset.synced = String(m.i);
        this.onSynced?.(added);
      }
      return;
    }
    if (m.i !== 0 || this.authorized) return;
    if (m.s !== 200) {
      this.ws?.close(); // a token refused: retry with backoff (it may be renewed meanwhile)
      return;
    }
    this.authorized = true;
    this.attempt = 0;
    const wasLost = this.lost;
    this.lost = false;
    this.everConnected = true;
    this.sync();
    this.onStatus(wasLost ? 'reconnected' : 'connected');
  }

  sync() {
    if (!this.authorized) return;
    const ids = this.ids();
    const key = ids.join(',');
    if (key === this.syncedKey) return;
    this.syncedKey = key;
    if (ids.length === 0) return; // an empty list would not narrow anything
    this.seq += 1;
    this.requested = ids;
    const body = JSON.stringify({ accounts: ids, entityTypes: ENTITY_TYPES });
    this.send(`user/syncrequest\n${this.seq}\n\n${body}`);
  }
}

/** The account an event is about (a status and its settings carry it as `id`, the rest as `accountId`). */
export function eventAccountId(d) {
  const entity = d?.entity ?? {};
  if (typeof entity.accountId === 'number') return entity.accountId;
  if (['accountRiskStatus', 'userAccountAutoLiq', 'cashBalance'].includes(d?.entityType)) return entity.id;
  return null;
}
