// Explore and Teach: a comment list from the query route (or the search route),
// one comment in detail, and keyboard-first labelling.
import {changeLabel, download, paths, post} from '../api.js';
import {bytes, h, messageText, replace} from '../dom.js';
import {canLabel, labelNames, loadDataset, predictionTree, versions} from './common.js';

const MODES = [
  ['recent', 'Recent'], ['sample', 'Shuffle'], ['low_confidence', 'Low confidence'],
  ['teach', 'Teach label'], ['check', 'Check label'], ['missed', 'Missed label'],
  ['rebalance', 'Rebalance'], ['by_label', 'By label probability']];
const LABEL_MODES = new Set(['teach', 'check', 'missed', 'by_label']);
const PAGE = 50;
const POLL_MS = 10000;

const KEYS = [
  ['j / ↓', 'next comment'], ['k / ↑', 'previous comment'], ['1–9', 'toggle label n'],
  ['Shift+1–9', 'dismiss label n'], ['/', 'search labels (Enter applies, creates new)'],
  ['s', 'toggle sentiment'], ['d', 'dismiss top unassigned prediction'], ['r', 'refresh predictions']];

export async function render(ctx) {
  const {main} = ctx;
  const base = paths.privateDataset(ctx.project, ctx.dataset);
  // The first page (recent, no filter: the form's defaults) is asked for at once, with the
  // dataset and its versions, rather than after them: one round trip less on first load.
  let firstPage = post(`${base}/query`, {filter: {}, attribute_filters: [], order: {kind: 'recent'}, limit: PAGE});
  firstPage.catch(() => {});  // load() reports its error
  const [first, known] = await Promise.all([loadDataset(ctx), versions(ctx)]);
  let dataset = first;
  const writable = canLabel(ctx);
  const st = {items: [], index: 0, continuation: null, sentiment: 'positive', shownVersion: 0, latest: 0};

  // --- the query form --------------------------------------------------------------
  const mode = h('select', {id: 'mode'}, MODES.map(([v, t]) => h('option', {value: v}, t)));
  const queueLabel = h('select', {id: 'queue-label'});
  const search = h('input', {id: 'search', type: 'search', placeholder: 'words or a question'});
  const searchKind = h('select', {id: 'search-kind'}, h('option', {value: 'keyword'}, 'Keyword'),
    h('option', {value: 'semantic'}, 'Semantic'));
  const reviewed = h('select', {id: 'reviewed'}, h('option', {value: ''}, 'All'),
    h('option', {value: 'only_reviewed'}, 'Reviewed'), h('option', {value: 'only_unreviewed'}, 'Unreviewed'));
  const labelFilter = h('select', {id: 'label-filter'});
  const source = h('select', {id: 'source-filter'}, h('option', {value: ''}, 'All sources'),
    dataset.source_ids.map((id) => h('option', {value: id}, id)));
  const propName = h('input', {id: 'prop-name', placeholder: 'string:Channel'});
  const propValue = h('input', {id: 'prop-value'});
  const from = h('input', {id: 'from', type: 'date'});
  const to = h('input', {id: 'to', type: 'date'});
  const lbl = (el, text) => h('label', {for: el.id}, text);
  const form = h('form', {'aria-label': 'Comment query', class: 'query',
    onSubmit: (e) => { e.preventDefault(); load(); }},
  h('div', {class: 'row'}, lbl(mode, 'Mode'), mode, lbl(queueLabel, 'Queue label'), queueLabel,
    lbl(search, 'Search'), search, lbl(searchKind, 'Search kind'), searchKind),
  h('div', {class: 'row'}, lbl(reviewed, 'Reviewed'), reviewed, lbl(labelFilter, 'Label filter'), labelFilter,
    lbl(source, 'Source'), source, lbl(propName, 'User property'), propName, lbl(propValue, 'Property value'), propValue,
    lbl(from, 'From'), from, lbl(to, 'To'), to, h('button', {type: 'submit'}, 'Show comments')));

  function fillLabelSelects() {
    const names = labelNames(dataset);
    replace(queueLabel, names.map((n) => h('option', {value: n}, n)));
    replace(labelFilter, h('option', {value: ''}, 'Any label'), names.map((n) => h('option', {value: n}, n)));
  }
  fillLabelSelects();

  function queryBody() {
    const filter = {};
    if (reviewed.value) filter.reviewed = reviewed.value;
    if (source.value) filter.sources = [source.value];
    if (from.value || to.value) {
      filter.timestamp = {};
      if (from.value) filter.timestamp.minimum = `${from.value}T00:00:00Z`;
      if (to.value) filter.timestamp.maximum = `${to.value}T23:59:59Z`;
    }
    if (propName.value.trim()) {
      const value = propName.value.startsWith('number:') ? Number(propValue.value) : propValue.value;
      filter.user_properties = {[propName.value.trim()]: {one_of: [value]}};
    }
    const attribute_filters = labelFilter.value
      ? [{attribute: 'labels', filter: {kind: 'string_any_of', any_of: [labelFilter.value]}}] : [];
    return {filter, attribute_filters};
  }

  // --- the list and the detail -----------------------------------------------------------
  const list = h('ol', {class: 'comments', 'aria-label': 'Comments'});
  const detail = h('article', {class: 'detail', 'aria-label': 'Comment'});
  const more = h('button', {type: 'button', hidden: true, onClick: () => load(true)}, 'Load more');
  const banner = h('div', {class: 'banner', hidden: true});
  const count = h('p', {class: 'muted', role: 'status'});
  const labelInput = h('input', {id: 'label-search', list: 'label-options', autocomplete: 'off',
    placeholder: 'Parent > Child', onKeydown: (e) => {
      if (e.key === 'Enter') { e.preventDefault(); applyTyped(); }
      if (e.key === 'Escape') { labelInput.value = ''; labelInput.blur(); }
    }});
  const datalist = h('datalist', {id: 'label-options'});
  const sentimentButton = h('button', {type: 'button', 'aria-pressed': 'false', onClick: () => toggleSentiment()},
    'Sentiment: positive');
  const palette = h('ol', {class: 'palette', 'aria-label': 'Labels'});

  async function load(append = false) {
    const body = queryBody();
    const initial = firstPage;  // only the very first call, made with the form's defaults
    firstPage = null;
    try {
      let results;
      let continuation = null;
      if (search.value.trim()) {
        ({results} = await post(`${base}/search`, {query: search.value.trim(), kind: searchKind.value,
          limit: PAGE, ...body}));
      } else {
        const order = {kind: mode.value};
        if (LABEL_MODES.has(mode.value)) order.label = queueLabel.value;
        if (mode.value === 'sample') order.seed = 1;
        const request = initial || post(`${base}/query`, {...body, order, limit: PAGE,
          ...(append && st.continuation ? {continuation: st.continuation} : {})});
        ({results, continuation} = await request);
      }
      st.items = append ? st.items.concat(results) : results;
      st.continuation = continuation || null;
      if (!append) st.index = 0;
      more.hidden = !st.continuation;
      st.shownVersion = st.latest;
      banner.hidden = true;
      replace(count, `${st.items.length}${st.continuation ? '+' : ''} comments`);
      drawList();
      drawDetail();
    } catch (err) {
      st.items = [];
      drawList();
      replace(detail, h('p', {role: 'alert', class: 'error'}, err.explanation || String(err)));
    }
  }

  function drawList() {
    replace(list, st.items.map((item, i) => {
      const assigned = groupOf(item).assigned || [];
      return h('li', {'aria-current': i === st.index ? 'true' : null},
        h('button', {type: 'button', class: 'item', onClick: () => go(i)},
          h('span', {class: 'snippet'}, messageText(item.comment.messages).slice(0, 160)),
          assigned.length ? h('span', {class: 'chips'}, assigned.map((l) => h('span', {class: 'chip'}, l.name))) : null));
    }));
  }

  const groupOf = (item) => (item.labelling || []).find((g) => g.group === 'default') || {};

  function drawDetail() {
    const item = st.items[st.index];
    if (!item) return replace(detail, h('p', {class: 'muted'}, 'No comment matches.'));
    const c = item.comment;
    const group = groupOf(item);
    const props = Object.entries(c.user_properties || {});
    replace(detail,
      h('h2', {}, `Comment ${st.index + 1} of ${st.items.length}`),
      h('p', {class: 'muted'}, `${c.id} · ${c.timestamp}`),
      h('section', {'aria-label': 'Thread'}, c.messages.map((m) => h('div', {class: 'message'},
        m.subject?.text ? h('h3', {}, m.subject.text) : null,
        m.from || m.to ? h('p', {class: 'muted'}, [m.from && `From ${m.from}`, m.to?.length && `to ${m.to.join(', ')}`,
          m.sent_at].filter(Boolean).join(' ')) : null,
        h('p', {class: 'body'}, m.body?.text || '')))),
      props.length ? h('section', {'aria-label': 'User properties'}, h('h3', {}, 'User properties'),
        h('dl', {}, props.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]))) : null,
      drawAttachments(c.attachments || []),
      h('section', {'aria-label': 'Assigned labels'}, h('h3', {}, 'Assigned labels'),
        (group.assigned || []).length ? h('ul', {class: 'chips'}, group.assigned.map((l) => h('li', {class: `chip ${l.sentiment}`},
          `${l.name} (${l.sentiment})`,
          writable ? h('button', {type: 'button', class: 'x', 'aria-label': `Remove label ${l.name}`,
            onClick: () => change(l.name, 'remove')}, '×') : null))) : h('p', {class: 'muted'}, 'None.'),
        (group.dismissed || []).length ? h('p', {class: 'muted'}, 'Dismissed: ',
          group.dismissed.map((l) => l.name).join(', ')) : null),
      h('section', {'aria-label': 'Predicted labels'}, h('h3', {}, 'Predictions'),
        predictionTree(group.predicted, dataset.has_sentiment)));
    drawPalette();
    list.querySelector('[aria-current]')?.scrollIntoView({block: 'nearest'});
  }

  // Name, size and type of each attachment; a download button when the server holds the
  // bytes (the entry then carries an attachment_reference, contract section 6.8).
  function drawAttachments(files) {
    if (!files.length) return null;
    return h('section', {'aria-label': 'Attachments'}, h('h3', {}, 'Attachments'),
      h('ul', {class: 'attachments'}, files.map((f) => h('li', {},
        h('span', {class: 'name'}, f.name), ' ',
        h('span', {class: 'muted'}, `${bytes(f.size)} · ${f.content_type}`), ' ',
        f.attachment_reference
          ? h('button', {type: 'button', 'aria-label': `Download ${f.name}`,
            onClick: () => download(paths.attachment(f.attachment_reference), f.name).catch(ctx.fail)}, 'Download')
          : h('span', {class: 'muted'}, '(content not uploaded)')))));
  }

  function drawPalette() {
    const item = st.items[st.index];
    const assigned = new Set((item ? groupOf(item).assigned || [] : []).map((l) => l.name));
    const names = labelNames(dataset);
    replace(datalist, names.map((n) => h('option', {value: n})));
    replace(palette, names.map((n, i) => h('li', {},
      h('button', {type: 'button', 'aria-pressed': assigned.has(n) ? 'true' : 'false', disabled: !item,
        'aria-label': `${assigned.has(n) ? 'Remove' : 'Apply'} label ${n}`,
        onClick: () => change(n, assigned.has(n) ? 'remove' : 'assign')},
      i < 9 ? h('kbd', {}, String(i + 1)) : null, ` ${n}`))));
  }

  async function change(name, action) {
    const item = st.items[st.index];
    if (!item || !writable) return;
    try {
      const out = await post(paths.labelling(ctx.project, ctx.dataset, item.comment.uid),
        changeLabel(item.labelling, name, action, st.sentiment));
      const predicted = groupOf(item).predicted;
      item.labelling = out.labelling.map((g) => (g.group === 'default' && predicted ? {...g, predicted} : g));
      if (!labelNames(dataset).includes(name)) {  // a new label: the server created its def
        dataset = await loadDataset(ctx);
        fillLabelSelects();
      }
      ctx.notify(`${action === 'assign' ? 'Applied' : action === 'dismiss' ? 'Dismissed' : 'Removed'} “${name}”.`);
      drawList();
      drawDetail();
    } catch (err) { ctx.fail(err); }
  }

  function applyTyped() {
    const typed = labelInput.value.trim().replace(/\s*>\s*/g, ' > ');
    if (!typed) return;
    const names = labelNames(dataset);
    const exact = names.find((n) => n.toLowerCase() === typed.toLowerCase());
    const partial = names.filter((n) => n.toLowerCase().includes(typed.toLowerCase()));
    const name = exact || (partial.length === 1 ? partial[0] : typed);
    labelInput.value = '';
    labelInput.blur();
    change(name, 'assign');
  }

  function toggleSentiment() {
    st.sentiment = st.sentiment === 'positive' ? 'negative' : 'positive';
    sentimentButton.setAttribute('aria-pressed', st.sentiment === 'negative' ? 'true' : 'false');
    replace(sentimentButton, `Sentiment: ${st.sentiment}`);
  }

  function go(i) {
    if (i < 0 || i >= st.items.length) return;
    st.index = i;
    drawList();
    drawDetail();
    if (i === st.items.length - 1 && st.continuation) load(true);
  }

  function dismissTop() {
    const item = st.items[st.index];
    if (!item) return;
    const group = groupOf(item);
    // Assigned labels imply their parents: those are not candidates for dismissal either.
    const taken = new Set((group.dismissed || []).map((l) => l.name));
    for (const l of group.assigned || []) {
      const parts = l.name.split(' > ');
      parts.forEach((_, i) => taken.add(parts.slice(0, i + 1).join(' > ')));
    }
    const top = (group.predicted || []).map((p) => (Array.isArray(p.name) ? p.name.join(' > ') : p.name))
      .find((n) => !taken.has(n));
    if (top) change(top, 'dismiss'); else ctx.notify('No prediction left to dismiss.');
  }

  function onKey(e) {
    const tag = e.target.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(tag)) return;
    const digit = /^Digit([1-9])$/.exec(e.code);
    if (digit && writable) {
      const name = labelNames(dataset)[Number(digit[1]) - 1];
      if (!name) return;
      e.preventDefault();
      const assigned = (groupOf(st.items[st.index] || {}).assigned || []).some((l) => l.name === name);
      change(name, e.shiftKey ? 'dismiss' : assigned ? 'remove' : 'assign');
      return;
    }
    const actions = {
      j: () => go(st.index + 1), ArrowDown: () => go(st.index + 1),
      k: () => go(st.index - 1), ArrowUp: () => go(st.index - 1),
      s: () => toggleSentiment(), '/': () => labelInput.focus(),
      d: () => writable && dismissTop(), r: () => load(),
    };
    if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
  }
  document.addEventListener('keydown', onKey);

  // A new model version trains in the background after labelling: say so, offer a refresh.
  async function poll() {
    try {
      const all = await versions(ctx);
      st.latest = all.length ? all[all.length - 1] : 0;
      if (st.latest > st.shownVersion && st.items.length) {
        replace(banner, `Model version ${st.latest} is ready. `,
          h('button', {type: 'button', onClick: () => load()}, 'Refresh predictions'), ' (or press r)');
        banner.hidden = false;
      }
    } catch { /* the next poll tries again */ }
  }
  st.latest = known.length ? known[known.length - 1] : 0;
  st.shownVersion = st.latest;
  const timer = setInterval(poll, POLL_MS);

  replace(main,
    h('h1', {}, 'Explore'), form, banner,
    h('div', {class: 'explore'},
      h('div', {class: 'listpane'}, count, list, more),
      detail,
      writable ? h('aside', {class: 'labelpane', 'aria-label': 'Labelling'},
        h('label', {for: 'label-search'}, 'Find or create a label'), labelInput, datalist,
        sentimentButton, palette) : null),
    h('details', {class: 'keys'}, h('summary', {}, 'Keyboard shortcuts'),
      h('dl', {}, KEYS.map(([k, t]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, t)]))));
  await load();
  return () => { clearInterval(timer); document.removeEventListener('keydown', onKey); };
}
