// Small SVG charts, drawn by hand: a line chart needs no library.
import {h} from './dom.js';

const W = 320;
const H = 220;
const PAD = {l: 40, r: 10, t: 10, b: 34};
const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7ea4', '#57606a'];

function axes(xLabel, yLabel, xTicks, yTicks, sx, sy) {
  return [
    h('svg:line', {x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis'}),
    h('svg:line', {x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: 'axis'}),
    xTicks.map(([v, t]) => h('svg:text', {x: sx(v), y: H - PAD.b + 13, 'text-anchor': 'middle', class: 'tick'}, t)),
    yTicks.map(([v, t]) => h('svg:text', {x: PAD.l - 4, y: sy(v) + 4, 'text-anchor': 'end', class: 'tick'}, t)),
    h('svg:text', {x: (PAD.l + W - PAD.r) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-label'}, xLabel),
    h('svg:text', {x: 10, y: (PAD.t + H - PAD.b) / 2, 'text-anchor': 'middle', class: 'axis-label',
      transform: `rotate(-90 10 ${(PAD.t + H - PAD.b) / 2})`}, yLabel),
  ];
}

// Precision (y) against recall (x); `marks` are {name, threshold}: each is drawn
// at the first curve point whose threshold is <= it (thresholds descend).
export function prCurve(title, curve, marks) {
  const sx = (r) => PAD.l + r * (W - PAD.l - PAD.r);
  const sy = (p) => H - PAD.b - p * (H - PAD.t - PAD.b);
  const ticks = [0, 0.5, 1].map((v) => [v, String(v)]);
  const points = curve.recalls.map((r, i) => `${sx(r).toFixed(1)},${sy(curve.precisions[i]).toFixed(1)}`).join(' ');
  const dots = marks.map((m, k) => {
    const i = curve.thresholds.findIndex((t) => t <= m.threshold);
    if (i < 0) return null;
    const x = sx(curve.recalls[i]);
    const y = sy(curve.precisions[i]);
    return h('svg:g', {class: `mark mark-${k}`},
      h('svg:circle', {cx: x, cy: y, r: 4}),
      // Labels stack in a corner box: thresholds often share one curve point.
      h('svg:text', {x: W - PAD.r - 4, y: H - PAD.b - 8 - 12 * (marks.length - 1 - k), 'text-anchor': 'end',
        class: 'mark-label'}, `● ${m.name.replace('_', ' ')} ≥ ${m.threshold.toFixed(2)}`));
  });
  return h('svg:svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title},
    h('svg:title', {}, title),
    axes('recall', 'precision', ticks, ticks, sx, sy),
    curve.recalls.length ? h('svg:polyline', {points, class: 'curve'}) : h('svg:text', {x: W / 2, y: H / 2,
      'text-anchor': 'middle', class: 'tick'}, 'no held-out examples'),
    dots);
}

// Several series over the same x positions (periods): [{name, values}].
export function lineChart(title, periods, series, width = 640) {
  const w = width;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const sx = (i) => PAD.l + (periods.length <= 1 ? 0.5 : i / (periods.length - 1)) * (w - PAD.l - PAD.r);
  const sy = (v) => H - PAD.b - (v / max) * (H - PAD.t - PAD.b);
  const step = Math.max(1, Math.ceil(periods.length / 6));
  const xTicks = periods.map((p, i) => [i, p]).filter(([i]) => i % step === 0);
  const yTicks = [0, Math.round(max / 2), max].map((v) => [v, String(v)]);
  return h('svg:svg', {viewBox: `0 0 ${w} ${H}`, width: w, height: H, role: 'img', 'aria-label': title},
    h('svg:title', {}, title),
    h('svg:g', {}, xTicks.map(([i, t]) => h('svg:text', {x: sx(i), y: H - PAD.b + 13, 'text-anchor': 'middle', class: 'tick'}, t))),
    h('svg:line', {x1: PAD.l, y1: H - PAD.b, x2: w - PAD.r, y2: H - PAD.b, class: 'axis'}),
    h('svg:line', {x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: 'axis'}),
    yTicks.map(([v, t]) => h('svg:text', {x: PAD.l - 4, y: sy(v) + 4, 'text-anchor': 'end', class: 'tick'}, t)),
    series.map((s, k) => h('svg:polyline', {class: 'series', stroke: COLORS[k % COLORS.length],
      points: s.values.map((v, i) => `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`).join(' ')})));
}

export const colour = (k) => COLORS[k % COLORS.length];
