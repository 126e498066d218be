// A tiny hyperscript helper: h('button', {onClick, 'aria-label': 'x'}, 'text').
// Plain DOM, no framework: each page re-renders its own region when its data changes.
const SVG_NS = 'http://www.w3.org/2000/svg';
const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'indeterminate']);

export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPS.has(key) && !svg) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const pct = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
export function bytes(n) {
  if (n < 1024) return `${n} bytes`;
  const [size, unit] = n < 1024 ** 2 ? [n / 1024, 'KiB'] : n < 1024 ** 3 ? [n / 1024 ** 2, 'MiB'] : [n / 1024 ** 3, 'GiB'];
  return `${size.toFixed(1)} ${unit}`;
}
export const num = (x) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en'));

// An <select> with a visible label; options are [value, text] pairs or strings.
export function select(label, options, attrs = {}) {
  const id = attrs.id || `f-${label.replace(/\W+/g, '-').toLowerCase()}-${Math.random().toString(36).slice(2, 7)}`;
  const el = h('select', {id, ...attrs},
    options.map((o) => {
      const [value, text] = Array.isArray(o) ? o : [o, o];
      return h('option', {value, selected: String(value) === String(attrs.value ?? '')}, text);
    }));
  return [h('label', {for: id}, label), el];
}

export function field(label, attrs = {}) {
  const id = attrs.id || `f-${label.replace(/\W+/g, '-').toLowerCase()}-${Math.random().toString(36).slice(2, 7)}`;
  const el = h('input', {id, ...attrs});
  return [h('label', {for: id}, label), el];
}

export function messageText(messages) {
  return (messages || []).map((m) => [m.subject?.text, m.body?.text].filter(Boolean).join(' — ')).join(' / ');
}

export const labelName = (name) => (Array.isArray(name) ? name.join(' > ') : name);
