// Taxonomy: the label tree with, per label, reviewed count, predicted volume and
// the latest model's precision, recall and average precision; rename, move, delete.
import {can, del, paths, post} from '../api.js';
import {h, num, pct, replace} from '../dom.js';
import {labelNames, loadDataset, validation} from './common.js';

export async function render(ctx) {
  const {main} = ctx;
  const base = paths.privateDataset(ctx.project, ctx.dataset);
  const editor = can(ctx.user, ctx.project, 'voc');
  const [dataset, current, stats] = await Promise.all([loadDataset(ctx), validation(ctx),
    post(`${base}/statistics`, {comment_filter: {}, label_counts: true})]);
  const names = labelNames(dataset).slice().sort();  // sorted paths: children follow their parent
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
  const editRow = h('div');

  async function act(request, done) {
    try {
      const result = await request();
      ctx.notify(`${done} (${result.updated_comments} comment${result.updated_comments === 1 ? '' : 's'} updated).`);
      await render(ctx);
    } catch (err) { ctx.fail(err); }
  }

  function edit(name) {
    const input = h('input', {id: 'new-path', value: name, size: 40});
    const error = h('p', {role: 'alert', class: 'error'});
    replace(editRow, h('form', {'aria-label': `Rename or move ${name}`, class: 'card row', onSubmit: (e) => {
      e.preventDefault();
      const target = input.value.trim().replace(/\s*>\s*/g, ' > ');
      act(() => post(`${base}/labels/default/rename`, {name, new_name: target}), `Renamed “${name}” to “${target}”`);
    }},
    h('label', {for: 'new-path'}, `New path for ${name} (Parent > Child moves it)`), input,
    h('button', {type: 'submit'}, 'Save'),
    h('button', {type: 'button', onClick: () => replace(editRow)}, 'Cancel'), error));
    input.focus();
  }

  function remove(button, name) {
    // Two steps instead of a modal dialog: the first press asks, the second deletes.
    if (button.dataset.armed) {
      act(() => del(`${base}/labels/default?name=${encodeURIComponent(name)}`), `Deleted “${name}”`);
      return;
    }
    button.dataset.armed = 'yes';
    button.setAttribute('aria-label', `Confirm delete ${name} and its children from every comment`);
    replace(button, 'Confirm delete');
  }

  const rows = names.map((n, i) => {
    const depth = n.split(' > ').length - 1;
    const m = metrics.get(n);
    const c = counts[n] || {positive: 0, negative: 0};
    const deleteButton = h('button', {type: 'button', 'aria-label': `Delete ${n}`}, 'Delete');
    deleteButton.addEventListener('click', () => remove(deleteButton, n));
    return h('tr', {},
      h('th', {scope: 'row', class: `depth-${Math.min(depth, 4)}`}, n.split(' > ').pop()),
      h('td', {}, num(c.positive + c.negative)), h('td', {}, num(predicted[i])),
      h('td', {}, m ? pct(m.precision) : '–'), h('td', {}, m ? pct(m.recall) : '–'),
      h('td', {}, m ? pct(m.average_precision) : '–'), h('td', {}, warnings.get(n) || ''),
      editor ? h('td', {}, h('div', {class: 'row tight'},
        h('button', {type: 'button', 'aria-label': `Rename or move ${n}`, onClick: () => edit(n)}, 'Rename / move'),
        deleteButton)) : null);
  });
  replace(main, h('h1', {}, 'Taxonomy'),
    h('p', {class: 'muted'}, current ? `Metrics from model version ${current.validation.version}.` : 'No model yet: no metrics.'),
    editRow,
    names.length ? h('table', {'aria-label': 'Label tree'},
      h('thead', {}, h('tr', {}, ['Label', 'Reviewed', 'Predicted (unreviewed)', 'Precision', 'Recall', 'Average precision',
        'Warnings', editor ? 'Actions' : null].filter(Boolean).map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, rows)) : h('p', {}, 'No label yet.'));
}
