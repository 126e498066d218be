// Validate: the model rating and its factors, per-label precision-recall curves,
// versions with their ratings, pinning tags, and training on demand.
import {can, get, paths, post, put} from '../api.js';
import {prCurve} from '../chart.js';
import {h, pct, replace} from '../dom.js';
import {validation, versions} from './common.js';

const TAGS = ['live', 'staging'];

export async function render(ctx) {
  const {main} = ctx;
  const base = paths.privateDataset(ctx.project, ctx.dataset);
  const admin = can(ctx.user, ctx.project, 'model-admin');
  const jobStatus = h('p', {role: 'status', id: 'job-status'});
  let pollTimer = null;

  async function train() {
    try {
      const {job} = await post(`${paths.dataset(ctx.project, ctx.dataset)}/train`, {});
      replace(jobStatus, `Training job ${job.status}…`);
      const check = async () => {
        try {
          const {job: now} = await get(`${paths.dataset(ctx.project, ctx.dataset)}/train/${job.id}`);
          if (now.status === 'succeeded') {
            await draw();  // first, so that the message means the page shows the new version
            replace(jobStatus, `Training succeeded: model version ${now.model_version}.`);
            return;
          }
          if (now.status === 'failed') { replace(jobStatus, `Training failed: ${now.error || 'unknown error'}`); return; }
          replace(jobStatus, `Training job ${now.status}…`);
          pollTimer = setTimeout(check, 1000);
        } catch (err) { ctx.fail(err); }
      };
      pollTimer = setTimeout(check, 500);
    } catch (err) { replace(jobStatus, err.explanation || String(err)); }
  }

  const body = h('div');
  async function draw(version = 'latest') {
    const [all, current, {model_tags: tags}] = await Promise.all([
      versions(ctx), validation(ctx, version), get(`${paths.dataset(ctx.project, ctx.dataset)}/model-tags`)]);
    const trainButton = admin ? h('button', {type: 'button', onClick: train}, 'Train now') : null;
    if (!current) {
      replace(body, h('p', {}, 'No model has been trained yet.'), trainButton, jobStatus);
      return;
    }
    const v = current.validation;
    const ratings = await Promise.all(all.map((n) => validation(ctx, n)));
    const tagsOf = (n) => tags.filter((t) => t.version === n).map((t) => t.name);
    const versionSelect = h('select', {id: 'pin-version'}, all.map((n) => h('option', {value: n, selected: n === v.version}, `v${n}`)));
    const tagSelect = h('select', {id: 'pin-tag'}, TAGS.map((t) => h('option', {value: t}, t)));
    const pin = admin ? h('form', {'aria-label': 'Pin a version', class: 'row',
      onSubmit: async (e) => {
        e.preventDefault();
        try {
          await put(`${paths.dataset(ctx.project, ctx.dataset)}/model-tags/${tagSelect.value}`, {version: Number(versionSelect.value)});
          ctx.notify(`Pinned version ${versionSelect.value} as ${tagSelect.value}.`);
          await draw(v.version);
        } catch (err) { ctx.fail(err); }
      }},
    h('label', {for: 'pin-version'}, 'Version to pin'), versionSelect,
    h('label', {for: 'pin-tag'}, 'Tag'), tagSelect, h('button', {type: 'submit'}, 'Pin')) : null;
    const curves = await Promise.all(v.labels.map((l) =>
      post(`${base}/labellers/${v.version}/label-validation`, {label: l.name}).then((r) => r.label_validation)));
    const factors = v.factors || current.factors;
    replace(body,
      h('section', {class: 'card', 'aria-label': 'Model rating'},
        h('h2', {}, `Model version ${v.version}`),
        h('p', {class: 'rating'}, h('strong', {}, v.model_rating.score.toFixed(1)), ` / 100 · ${v.model_rating.quality}`),
        h('p', {class: 'muted'}, `${v.reviewed_size} reviewed comments · train ${v.train_size} · test ${v.test_size} · mean average precision ${pct(v.mean_average_precision)}`),
        factors ? h('table', {'aria-label': 'Rating factors'},
          h('thead', {}, h('tr', {}, ['Factor', 'Score', 'Rating', 'Contribution', 'Details'].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, factors.map((f) => h('tr', {}, h('td', {}, f.kind), h('td', {}, Number(f.score).toFixed(0)),
            h('td', {}, f.rating), h('td', {}, Number(f.contribution).toFixed(1)),
            h('td', {class: 'details'}, JSON.stringify(f.details || {})))))) : null,
        trainButton, jobStatus),
      h('section', {class: 'card', 'aria-label': 'Versions'}, h('h2', {}, 'Versions'),
        h('table', {'aria-label': 'Model versions'},
          h('thead', {}, h('tr', {}, ['Version', 'Rating', 'Quality', 'Reviewed', 'Tags', ''].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, all.map((n, i) => {
            const r = ratings[i]?.validation;
            return h('tr', {'aria-current': n === v.version ? 'true' : null}, h('td', {}, `v${n}`),
              h('td', {}, r ? r.model_rating.score.toFixed(1) : '–'), h('td', {}, r ? r.model_rating.quality : '–'),
              h('td', {}, r ? r.reviewed_size : '–'), h('td', {}, tagsOf(n).join(', ')),
              h('td', {}, h('button', {type: 'button', 'aria-label': `Show version ${n}`, onClick: () => draw(n)}, 'Show')));
          }))),
        pin),
      h('section', {'aria-label': 'Labels'}, h('h2', {}, 'Precision and recall by label'),
        h('div', {class: 'charts'}, v.labels.map((l, i) => h('figure', {class: 'card'},
          prCurve(`Precision-recall curve for ${l.name}`, curves[i],
            Object.entries(l.auto_thresholds || {}).map(([name, threshold]) => ({name, threshold}))),
          h('figcaption', {}, h('strong', {}, l.name),
            ` · precision ${pct(l.precision)} · recall ${pct(l.recall)} · AP ${pct(l.average_precision)} · ${l.support} held-out`))))));
  }
  replace(main, h('h1', {}, 'Validate'), body);
  await draw();
  return () => clearTimeout(pollTimer);
}
