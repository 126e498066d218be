// Discover: the dataset's clusters (the discover route), with size, terms and
// samples; select samples and apply a label to them in one action.
import {assignToMany, paths, post} from '../api.js';
import {h, messageText, replace} from '../dom.js';
import {canLabel, labelNames, labelPicker, loadDataset} from './common.js';

export async function render(ctx) {
  const {main} = ctx;
  const dataset = await loadDataset(ctx);
  const results = h('div', {id: 'clusters'});
  const [nLabel, n] = [h('label', {for: 'n-clusters'}, 'Number of clusters (empty: automatic)'),
    h('input', {id: 'n-clusters', type: 'number', min: 2, max: 200})];
  const unreviewed = h('input', {id: 'unreviewed-only', type: 'checkbox'});
  const run = h('form', {'aria-label': 'Discover settings', class: 'row',
    onSubmit: (e) => { e.preventDefault(); load(); }},
  nLabel, n, unreviewed, h('label', {for: 'unreviewed-only'}, 'Unreviewed comments only'),
  h('button', {type: 'submit'}, 'Find clusters'));
  const selected = new Set();
  const picker = labelPicker(labelNames(dataset), 'discover');
  const count = h('span', {role: 'status'}, '0 selected');
  const apply = h('button', {type: 'button', onClick: () => applyTo([...selected])}, 'Apply label to selected');
  const bar = canLabel(ctx) ? h('form', {'aria-label': 'Apply a label', class: 'row sticky',
    onSubmit: (e) => { e.preventDefault(); applyTo([...selected]); }}, ...picker.nodes, apply, count) : null;

  async function applyTo(uids) {
    const name = picker.input.value.trim();
    if (!name) return ctx.notify('Type a label first.');
    if (!uids.length) return ctx.notify('Select some comments first.');
    try {
      const done = await assignToMany(ctx.project, ctx.dataset, uids, name, picker.sentiment.value);
      ctx.notify(`Applied “${name}” to ${done} comment${done === 1 ? '' : 's'}.`);
      await load();
    } catch (err) { ctx.fail(err); }
  }

  async function load() {
    replace(results, h('p', {class: 'muted'}, 'Clustering…'));
    selected.clear();
    replace(count, '0 selected');
    const body = {samples: 5, include_uids: true, unreviewed_only: unreviewed.checked};
    if (n.value) body.n_clusters = Number(n.value);
    const {clusters, num_comments: total} = await post(`${paths.privateDataset(ctx.project, ctx.dataset)}/discover`, body);
    replace(results, h('p', {}, `${total} comments in ${clusters.length} clusters.`),
      clusters.map((c) => cluster(c)));
  }

  function cluster(c) {
    const title = `Cluster ${c.id + 1}`;
    const boxes = [];
    const samples = c.samples.map((item, i) => {
      const uid = item.comment.uid;
      const id = `c${c.id}-s${i}`;
      const assigned = ((item.labelling || []).find((g) => g.group === 'default')?.assigned || []).map((l) => l.name);
      const box = canLabel(ctx) ? h('input', {type: 'checkbox', id, onChange: (e) => {
        if (e.target.checked) selected.add(uid); else selected.delete(uid);
        replace(count, `${selected.size} selected`);
      }}) : null;
      if (box) boxes.push([box, uid]);
      return h('li', {}, box, h('label', {for: id}, messageText(item.comment.messages)),
        assigned.length ? h('span', {class: 'chips'}, assigned.map((a) => h('span', {class: 'chip'}, a))) : null);
    });
    const all = canLabel(ctx) ? h('button', {type: 'button', 'aria-label': `Select all samples of ${title}`,
      onClick: () => { for (const [box, uid] of boxes) { box.checked = true; selected.add(uid); } replace(count, `${selected.size} selected`); }},
    'Select samples') : null;
    const whole = canLabel(ctx) && c.uids ? h('button', {type: 'button', 'aria-label': `Apply label to all ${c.size} comments of ${title}`,
      onClick: () => applyTo(c.uids)}, `Label all ${c.size}`) : null;
    return h('section', {class: 'card cluster', 'aria-label': title},
      h('h2', {}, `${title} · ${c.size} comments`),
      h('p', {class: 'terms'}, 'Terms: ', c.terms.join(', ')),
      h('ul', {class: 'samples'}, samples), h('div', {class: 'row'}, all, whole));
  }

  replace(main, h('h1', {}, 'Discover'), run, bar, results);
  await load();
}
