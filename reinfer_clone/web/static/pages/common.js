// Pieces several pages share: the dataset, its labels, the model versions.
import {can, get, paths, post} from '../api.js';
import {h, labelName} from '../dom.js';

export async function loadDataset(ctx) {
  return (await get(paths.dataset(ctx.project, ctx.dataset))).dataset;
}

export const labelNames = (dataset) => dataset.label_defs.map((d) => d.name);

export async function versions(ctx) {
  const {labellers} = await post(`${paths.privateDataset(ctx.project, ctx.dataset)}/labellers`, {});
  return labellers.map((l) => l.version).sort((a, b) => a - b);
}

export async function validation(ctx, version = 'latest') {
  try {
    return await get(`${paths.privateDataset(ctx.project, ctx.dataset)}/labellers/${version}/validation`);
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

export const canLabel = (ctx) => can(ctx.user, ctx.project, 'datasets-review') || can(ctx.user, ctx.project, 'voc');

// The label choice shared by the labelling bars: a text box with suggestions, and sentiment.
export function labelPicker(names, idPrefix) {
  const listId = `${idPrefix}-labels`;
  const input = h('input', {id: `${idPrefix}-label`, list: listId, autocomplete: 'off',
    placeholder: 'Parent > Child'});
  const sentiment = h('select', {id: `${idPrefix}-sentiment`},
    h('option', {value: 'positive'}, 'positive'), h('option', {value: 'negative'}, 'negative'));
  return {input, sentiment, nodes: [
    h('label', {for: input.id}, 'Label to apply'), input,
    h('datalist', {id: listId}, names.map((n) => h('option', {value: n}))),
    h('label', {for: sentiment.id}, 'Sentiment'), sentiment]};
}

// Predicted labels as a Parent > Child tree: parents first, children indented under them.
export function predictionTree(predicted, hasSentiment) {
  const items = (predicted || []).map((p) => ({...p, name: labelName(p.name)}));
  if (!items.length) return h('p', {class: 'muted'}, 'No predictions (no model yet).');
  const byName = new Map(items.map((p) => [p.name, p]));
  const roots = items.filter((p) => !p.name.includes(' > ') || !byName.has(p.name.split(' > ').slice(0, -1).join(' > ')));
  const children = (parent) => items.filter((p) => p.name.split(' > ').slice(0, -1).join(' > ') === parent.name);
  const row = (p) => h('li', {},
    h('span', {class: 'plabel'}, p.name.split(' > ').pop()),
    h('meter', {min: 0, max: 1, value: p.probability, 'aria-label': `Probability of ${p.name}`}),
    h('span', {class: 'prob'}, `${(100 * p.probability).toFixed(0)}%`),
    hasSentiment && typeof p.sentiment === 'number'
      ? h('span', {class: p.sentiment >= 0 ? 'sent pos' : 'sent neg', title: 'sentiment'},
        `${p.sentiment >= 0 ? '+' : ''}${p.sentiment.toFixed(2)}`) : null,
    children(p).length ? h('ul', {}, children(p).map(row)) : null);
  return h('ul', {class: 'ptree', 'aria-label': 'Predictions'}, roots.map(row));
}
