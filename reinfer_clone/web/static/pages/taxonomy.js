// Taxonomy: the label tree with, per label, reviewed count, predicted volume and
// the latest model's precision, recall and average precision.
import {paths, post} from '../api.js';
import {h, num, pct, replace} from '../dom.js';
import {labelNames, loadDataset, validation} from './common.js';

export async function render(ctx) {
  const {main} = ctx;
  const base = paths.privateDataset(ctx.project, ctx.dataset);
  const [dataset, current, stats] = await Promise.all([loadDataset(ctx), validation(ctx),
    post(`${base}/statistics`, {comment_filter: {}, label_counts: true})]);
  const names = labelNames(dataset);
  const metrics = new Map((current?.validation.labels || []).map((l) => [l.name, l]));
  const factors = current?.validation.factors || [];
  const warnings = new Map();
  for (const f of factors.filter((x) => x.kind === 'underperforming_labels')) {
    for (const l of f.details?.labels || []) warnings.set(l.name, l.reason || 'underperforming');
  }
  // Predicted volume: unreviewed comments the model gives the label (the query route's label filter).
  const predicted = await Promise.all(names.map((n) => post(`${base}/statistics`, {
    comment_filter: {reviewed: 'only_unreviewed'},
    attribute_filters: [{attribute: 'labels', filter: {kind: 'string_any_of', any_of: [n]}}]})
    .then((r) => r.statistics.num_comments).catch(() => null)));
  const counts = stats.statistics.label_counts || {};
  const rows = names.map((n, i) => {
    const depth = n.split(' > ').length - 1;
    const m = metrics.get(n);
    const c = counts[n] || {positive: 0, negative: 0};
    return h('tr', {},
      h('th', {scope: 'row', style: null, class: `depth-${Math.min(depth, 4)}`}, n.split(' > ').pop()),
      h('td', {}, num(c.positive + c.negative)), h('td', {}, num(predicted[i])),
      h('td', {}, m ? pct(m.precision) : '–'), h('td', {}, m ? pct(m.recall) : '–'),
      h('td', {}, m ? pct(m.average_precision) : '–'), h('td', {}, warnings.get(n) || ''));
  });
  replace(main, h('h1', {}, 'Taxonomy'),
    h('p', {class: 'muted'}, current ? `Metrics from model version ${current.validation.version}.` : 'No model yet: no metrics.'),
    names.length ? h('table', {'aria-label': 'Label tree'},
      h('thead', {}, h('tr', {}, ['Label', 'Reviewed', 'Predicted (unreviewed)', 'Precision', 'Recall', 'Average precision', 'Warnings']
        .map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, rows)) : h('p', {}, 'No label yet.'));
}
