// The equity curve: net liquidation value over time, the trailing-drawdown floor under it.

import { h } from './dom.js';
import { axisTime, money } from './format.js';

const W = 560;
const H = 250;
const PAD = { top: 30, right: 14, bottom: 30, left: 78 };

function niceTicks(min, max, count) {
  const span = max - min || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) ticks.push(v);
  return ticks;
}

export function equityChart(points) {
  const svg = h('svg:svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'equity-chart', role: 'img', testid: 'equity-chart',
    'data-points': points.length, 'aria-labelledby': 'equity-title equity-desc',
  });
  const last = points.at(-1);
  svg.append(
    h('svg:title', { id: 'equity-title' }, 'Equity curve'),
    h('svg:desc', { id: 'equity-desc' },
      points.length
        ? `${points.length} points; latest net liquidation value ${money(last.netLiq)}, floor ${last.floor === null ? 'none' : money(last.floor)}`
        : 'No points yet'),
  );
  if (points.length === 0) {
    svg.append(h('svg:text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'No equity points yet (the account needs post-trade settings)'));
    return svg;
  }
  const times = points.map((p) => Date.parse(p.timestamp));
  const values = points.flatMap((p) => (p.floor === null ? [p.netLiq] : [p.netLiq, p.floor]));
  let [t0, t1] = [Math.min(...times), Math.max(...times)];
  if (t1 === t0) [t0, t1] = [t0 - 60e3, t1 + 60e3];
  let [v0, v1] = [Math.min(...values), Math.max(...values)];
  const margin = (v1 - v0) * 0.08 || Math.max(1, Math.abs(v0) * 0.001);
  [v0, v1] = [v0 - margin, v1 + margin];
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - v0) / (v1 - v0)) * (H - PAD.top - PAD.bottom);

  const axes = h('svg:g', { class: 'axes' });
  for (const v of niceTicks(v0, v1, 5)) {
    axes.append(
      h('svg:line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid-line' }),
      h('svg:text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, money(v)),
    );
  }
  const span = t1 - t0;
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + (span * i) / 4;
    axes.append(h('svg:text', { x: x(t), y: H - 10, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, axisTime(t, span)));
  }
  axes.append(
    h('svg:line', { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom, class: 'axis' }),
    h('svg:line', { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, class: 'axis' }),
  );
  svg.append(axes);

  // The floor is a step line: it holds its value until the next point moves it.
  let floorPath = '';
  let prev = null;
  points.forEach((p, i) => {
    if (p.floor === null) {
      prev = null;
      return;
    }
    const px = x(times[i]);
    const py = y(p.floor);
    floorPath += prev === null ? `M${px},${py}` : `H${px}V${py}`;
    prev = py;
  });
  if (floorPath) {
    if (prev !== null) floorPath += `H${x(t1)}`;
    svg.append(h('svg:path', { d: floorPath, class: 'floor-line', testid: 'equity-floor' }));
  }
  const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(times[i])},${y(p.netLiq)}`).join('');
  svg.append(h('svg:path', { d: line, class: 'netliq-line', testid: 'equity-netliq' }));
  for (const [i, p] of points.entries()) {
    svg.append(h('svg:circle', { cx: x(times[i]), cy: y(p.netLiq), r: 2.5, class: 'netliq-dot' }));
  }
  const legend = h('svg:g', { class: 'legend', transform: `translate(${PAD.left + 8},8)` },
    h('svg:line', { x1: 0, x2: 18, y1: 6, y2: 6, class: 'netliq-line' }),
    h('svg:text', { x: 24, y: 10 }, 'Net liquidation value'),
    h('svg:line', { x1: 168, x2: 186, y1: 6, y2: 6, class: 'floor-line' }),
    h('svg:text', { x: 194, y: 10 }, 'Trailing-drawdown floor'));
  svg.append(legend);
  return svg;
}
