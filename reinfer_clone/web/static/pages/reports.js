// Reports: label volume over time (the statistics route's label time series),
// filterable by a user property, exportable as CSV.
import {paths, post} from '../api.js';
import {colour, lineChart} from '../chart.js';
import {h, replace} from '../dom.js';

const TOP = 6;

export async function render(ctx) {
  const {main} = ctx;
  const base = paths.privateDataset(ctx.project, ctx.dataset);
  const {summary} = await post(`${base}/summary`, {filter: {}});
  const props = summary.user_properties.string || [];
  const prop = h('select', {id: 'report-property'}, h('option', {value: ''}, 'No filter'),
    props.map((p) => h('option', {value: p.full_name}, p.full_name)));
  const value = h('select', {id: 'report-value'});
  const resolution = h('select', {id: 'report-resolution'}, ['day', 'week', 'month'].map((r) => h('option', {value: r, selected: r === 'week'}, r)));
  const fillValues = () => replace(value, (props.find((p) => p.full_name === prop.value)?.values || [])
    .map((v) => h('option', {value: v.value}, v.value)));
  prop.addEventListener('change', fillValues);
  const out = h('div');
  const form = h('form', {'aria-label': 'Report filter', class: 'row', onSubmit: (e) => { e.preventDefault(); draw(); }},
    h('label', {for: 'report-property'}, 'User property'), prop, h('label', {for: 'report-value'}, 'Value'), value,
    h('label', {for: 'report-resolution'}, 'Resolution'), resolution, h('button', {type: 'submit'}, 'Show report'));

  async function draw() {
    const comment_filter = prop.value && value.value ? {user_properties: {[prop.value]: {one_of: [value.value]}}} : {};
    const {statistics} = await post(`${base}/statistics`, {comment_filter, label_timeseries: true,
      time_resolution: resolution.value});
    const rows = statistics.label_timeseries || [];
    const labels = statistics.label_timeseries_labels || [];
    const periods = rows.map((r) => String(r[0]).slice(0, 10));
    const totals = labels.map((_, j) => rows.reduce((s, r) => s + r[2 + j], 0));
    const top = labels.map((n, j) => [n, j]).filter(([, j]) => totals[j] > 0).sort((a, b) => totals[b[1]] - totals[a[1]]).slice(0, TOP);
    const series = [{name: 'All comments', values: rows.map((r) => r[1])},
      ...top.map(([n, j]) => ({name: n, values: rows.map((r) => r[2 + j])}))];
    const csv = [['period', 'comments', ...labels], ...rows.map((r) => [periods[rows.indexOf(r)], ...r.slice(1)])]
      .map((r) => r.map((c) => `"${String(c).replace(/"/g, '""')}"`).join(',')).join('\n');
    const url = URL.createObjectURL(new Blob([csv + '\n'], {type: 'text/csv'}));
    replace(out,
      h('p', {}, `${statistics.num_comments} comments.`),
      rows.length ? h('figure', {class: 'card'}, lineChart('Label volume over time', periods, series),
        h('figcaption', {}, h('ul', {class: 'legend'}, series.map((s, k) => h('li', {},
          h('span', {class: 'swatch', style: null, 'data-colour': k, 'aria-hidden': 'true'}, '■'), ` ${s.name}`))))) : h('p', {}, 'No comments.'),
      h('a', {href: url, download: `${ctx.dataset}-label-volume.csv`, class: 'button'}, 'Export CSV'),
      h('table', {'aria-label': 'Label volume'},
        h('thead', {}, h('tr', {}, ['Period', 'Comments', ...top.map(([n]) => n)].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows.map((r, i) => h('tr', {}, h('td', {}, periods[i]), h('td', {}, r[1]),
          top.map(([, j]) => h('td', {}, r[2 + j])))))));
    out.querySelectorAll('[data-colour]').forEach((el) => { el.style.color = colour(Number(el.dataset.colour)); });
  }
  replace(main, h('h1', {}, 'Reports'), form, out);
  await draw();
}
