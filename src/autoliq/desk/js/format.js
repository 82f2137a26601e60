const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
const when = new Intl.DateTimeFormat('en-US', {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  hour12: false, timeZone: 'UTC', timeZoneName: 'short',
});
const shortTime = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC' });
const shortDate = new Intl.DateTimeFormat('en-US', { month: 'short', day: '2-digit', timeZone: 'UTC' });

export const money = (v) => (v === null || v === undefined ? '—' : usd.format(v));
export const number = (v) => (v === null || v === undefined ? '—' : num.format(v));
const brief = new Intl.DateTimeFormat('en-US', {
  month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC',
});
export const briefDateTime = (iso) => (iso ? `${brief.format(new Date(iso))} UTC` : '—');
export const dateTime = (iso) => (iso ? when.format(new Date(iso)) : '—');
export const axisTime = (ms, spanMs) => (spanMs > 36 * 3600e3 ? shortDate.format(new Date(ms)) : shortTime.format(new Date(ms)));

/** The CSS class of a signed money value (gain / loss). */
export const signClass = (v) => (v > 0 ? 'gain' : v < 0 ? 'loss' : '');
