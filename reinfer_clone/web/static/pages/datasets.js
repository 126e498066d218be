// Projects and datasets: pick one, see its counts and latest rating, create a dataset over sources.
import {can, get, paths, post, put} from '../api.js';
import {field, h, num, replace} from '../dom.js';

async function counts(ds) {
  const base = paths.privateDataset(ds.owner, ds.name);
  const [all, reviewed, rating] = await Promise.all([
    post(`${base}/statistics`, {comment_filter: {}}),
    post(`${base}/statistics`, {comment_filter: {reviewed: 'only_reviewed'}}),
    get(`${base}/labellers/latest/validation`).catch((e) => (e.status === 404 ? null : Promise.reject(e))),
  ]);
  return {comments: all.statistics.num_comments, reviewed: reviewed.statistics.num_comments,
    rating: rating && rating.validation.model_rating};
}

export async function render(ctx) {
  const {main, user} = ctx;
  const [{projects}, {datasets}, {sources}] = await Promise.all([
    get('/api/_private/projects'), get('/api/v1/datasets'), get('/api/v1/sources')]);
  const tbody = h('tbody');
  const table = h('table', {'aria-label': 'Datasets'},
    h('thead', {}, h('tr', {}, ['Project', 'Dataset', 'Comments', 'Reviewed', 'Labels', 'Latest model rating']
      .map((t) => h('th', {scope: 'col'}, t)))), tbody);
  for (const ds of datasets) {
    const cells = [h('td'), h('td'), h('td')];
    tbody.append(h('tr', {},
      h('td', {}, ds.owner),
      h('td', {}, h('a', {href: ctx.datasetPath(ds.owner, ds.name, 'explore'),
        onClick: (e) => { e.preventDefault(); ctx.navigate(ctx.datasetPath(ds.owner, ds.name, 'explore')); }},
      ds.title || ds.name)),
      cells[0], cells[1], h('td', {}, num(ds.label_defs.length)), cells[2]));
    counts(ds).then((c) => {
      replace(cells[0], num(c.comments));
      replace(cells[1], num(c.reviewed));
      replace(cells[2], c.rating ? `${c.rating.score.toFixed(1)} (${c.rating.quality})` : 'no model yet');
    }).catch(ctx.fail);
  }
  replace(main,
    h('h1', {}, 'Projects and datasets'),
    h('section', {'aria-label': 'Projects'}, h('h2', {}, 'Projects'),
      projects.length ? h('ul', {}, projects.map((p) => h('li', {}, `${p.name}${p.title ? ` — ${p.title}` : ''}`)))
        : h('p', {}, 'No project is visible to you.')),
    h('section', {'aria-label': 'Dataset list'}, h('h2', {}, 'Datasets'),
      datasets.length ? table : h('p', {}, 'No dataset yet.')),
    createForm(ctx, projects.filter((p) => can(user, p.name, 'voc')), sources));
}

function createForm(ctx, projects, sources) {
  if (!projects.length) return null;  // no 'voc' anywhere: nothing to create with
  const error = h('p', {role: 'alert', class: 'error'});
  const [projectLabel, project] = [h('label', {for: 'new-project'}, 'Project'),
    h('select', {id: 'new-project'}, projects.map((p) => h('option', {value: p.name}, p.name)))];
  const [nameLabel, name] = field('Dataset name', {required: true, pattern: '[A-Za-z0-9_-]{1,256}'});
  const [titleLabel, title] = field('Title');
  const [sentimentLabel, sentiment] = field('Has sentiment', {type: 'checkbox', checked: true});
  const boxes = sources.map((s) => {
    const id = `src-${s.id}`;
    return {s, box: h('input', {type: 'checkbox', id, value: s.id})};
  });
  const form = h('form', {'aria-label': 'Create dataset', class: 'card',
    onSubmit: async (e) => {
      e.preventDefault();
      replace(error);
      const body = {dataset: {title: title.value, has_sentiment: sentiment.checked,
        source_ids: boxes.filter((b) => b.box.checked).map((b) => b.s.id)}};
      try {
        await put(paths.dataset(project.value, name.value), body);
        ctx.navigate(ctx.datasetPath(project.value, name.value, 'discover'));
      } catch (err) {
        replace(error, err.explanation || String(err));
      }
    }},
  h('h2', {}, 'Create a dataset'),
  h('div', {class: 'row'}, projectLabel, project, nameLabel, name, titleLabel, title),
  h('fieldset', {}, h('legend', {}, 'Sources'),
    boxes.length ? boxes.map(({s, box}) => h('div', {}, box, h('label', {for: box.id}, `${s.owner}/${s.name}`)))
      : h('p', {}, 'No source is visible to you.')),
  h('div', {class: 'row'}, sentiment, sentimentLabel),
  h('button', {type: 'submit'}, 'Create dataset'), error);
  return form;
}
