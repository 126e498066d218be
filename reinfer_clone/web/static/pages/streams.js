// Streams: list, create with per-label thresholds, preview the next batch, reset.
import {can, get, paths, post, put} from '../api.js';
import {h, labelName, messageText, replace} from '../dom.js';
import {labelNames, loadDataset, versions} from './common.js';

export async function render(ctx) {
  const {main} = ctx;
  const base = paths.streams(ctx.project, ctx.dataset);
  const writer = can(ctx.user, ctx.project, 'streams-write');
  const consumer = can(ctx.user, ctx.project, 'streams-consume');
  const [dataset, all] = await Promise.all([loadDataset(ctx), versions(ctx)]);
  const listBox = h('div');
  const preview = h('section', {'aria-label': 'Preview', class: 'card', hidden: true});

  async function drawList() {
    const {streams} = await get(base);
    replace(listBox, streams.length ? h('table', {'aria-label': 'Streams'},
      h('thead', {}, h('tr', {}, ['Name', 'Title', 'Model version', 'Label thresholds', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, streams.map((s) => {
        const resetId = `reset-${s.name}`;
        const resetAt = h('input', {id: resetId, type: 'date', value: '2000-01-01'});
        return h('tr', {}, h('td', {}, s.name), h('td', {}, s.title),
          h('td', {}, s.model ? `v${s.model.version}` : '–'),
          h('td', {}, (s.model?.label_thresholds || []).map((t) => `${labelName(t.name)} ≥ ${t.threshold}`).join('; ')),
          h('td', {}, consumer ? h('div', {class: 'row tight'}, [
            h('button', {type: 'button', 'aria-label': `Preview stream ${s.name}`, onClick: () => show(s)}, 'Preview'),
            h('label', {for: resetId}, 'Reset to'), resetAt,
            h('button', {type: 'button', 'aria-label': `Reset stream ${s.name}`, onClick: async () => {
              try {
                await post(`${base}/${s.name}/reset`, {to_comment_created_at: `${resetAt.value}T00:00:00Z`});
                ctx.notify(`Stream ${s.name} reset to ${resetAt.value}.`);
              } catch (err) { ctx.fail(err); }
            }}, 'Reset')]) : null));
      }))) : h('p', {}, 'No stream yet.'));
  }

  // `fetch` never moves the cursor, so a preview changes nothing.
  async function show(s) {
    try {
      const batch = await post(`${base}/${s.name}/fetch`, {size: 20});
      preview.hidden = false;
      replace(preview, h('h2', {}, `Next batch of ${s.name}`),
        h('p', {class: 'muted'}, `${batch.results.length} results, ${batch.filtered} filtered out${batch.is_end_sequence ? ', end of the stream for now' : ''}.`),
        h('ol', {class: 'batch'}, batch.results.map((r) => h('li', {},
          h('span', {}, messageText(r.comment.messages).slice(0, 200)),
          h('span', {class: 'chips'}, (r.labels || []).map((l) => h('span', {class: 'chip'},
            `${labelName(l.name)} ${(100 * l.probability).toFixed(0)}%`)))))));
    } catch (err) { ctx.fail(err); }
  }

  function createForm() {
    if (!writer) return null;
    if (!all.length) return h('p', {}, 'Train a model before creating a stream.');
    const name = h('input', {id: 'stream-name', required: true, pattern: '[A-Za-z0-9_-]{1,256}'});
    const title = h('input', {id: 'stream-title'});
    const version = h('select', {id: 'stream-version'}, all.slice().reverse().map((n) => h('option', {value: n}, `v${n}`)));
    const thresholds = labelNames(dataset).map((n, i) => ({name: n,
      input: h('input', {id: `threshold-${i}`, type: 'number', min: 0, max: 1, step: 0.01, 'aria-label': `Threshold for ${n}`})}));
    const error = h('p', {role: 'alert', class: 'error'});
    return h('form', {'aria-label': 'Create stream', class: 'card', onSubmit: async (e) => {
      e.preventDefault();
      replace(error);
      const label_thresholds = thresholds.filter((t) => t.input.value !== '')
        .map((t) => ({name: t.name.split(' > '), threshold: Number(t.input.value)}));
      try {
        await put(base, {stream: {name: name.value, title: title.value,
          model: {version: Number(version.value), label_thresholds}}});
        ctx.notify(`Stream ${name.value} created.`);
        name.value = '';
        await drawList();
      } catch (err) { replace(error, err.explanation || String(err)); }
    }},
    h('h2', {}, 'Create a stream'),
    h('div', {class: 'row'}, h('label', {for: 'stream-name'}, 'Stream name'), name,
      h('label', {for: 'stream-title'}, 'Stream title'), title,
      h('label', {for: 'stream-version'}, 'Model version'), version),
    h('fieldset', {}, h('legend', {}, 'Label thresholds (leave empty to leave a label out)'),
      h('div', {class: 'thresholds'}, thresholds.map((t) => h('div', {}, h('label', {for: t.input.id}, t.name), t.input)))),
    h('button', {type: 'submit'}, 'Create stream'), error);
  }

  replace(main, h('h1', {}, 'Streams'), listBox, createForm(), preview);
  await drawList();
}
