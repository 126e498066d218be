// The shell: sign-in, navigation and the client-side router. Pages live in pages/.
import {ApiError, get, setUnauthorizedHandler, token} from './api.js';
import {h, replace} from './dom.js';
import * as datasets from './pages/datasets.js';
import * as discover from './pages/discover.js';
import * as explore from './pages/explore.js';
import * as taxonomy from './pages/taxonomy.js';
import * as validate from './pages/validate.js';
import * as reports from './pages/reports.js';
import * as streams from './pages/streams.js';

const PAGES = {discover, explore, taxonomy, validate, reports, streams};
const TITLES = {discover: 'Discover', explore: 'Explore', taxonomy: 'Taxonomy', validate: 'Validate',
  reports: 'Reports', streams: 'Streams'};
const root = document.getElementById('app');
const state = {user: null, cleanup: null};

// URLs: /ui (projects and datasets), /ui/<project>/<dataset>/<page>.
function parseLocation() {
  const parts = location.pathname.replace(/^\/(ui\/?)?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length >= 2) return {project: parts[0], dataset: parts[1], page: PAGES[parts[2]] ? parts[2] : 'explore'};
  return {page: 'datasets'};
}

export function navigate(path) {
  history.pushState(null, '', path);
  render();
}

export const datasetPath = (project, dataset, page) =>
  `/ui/${encodeURIComponent(project)}/${encodeURIComponent(dataset)}/${page}`;

function link(href, text, current) {
  return h('a', {href, 'aria-current': current ? 'page' : null,
    onClick: (e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); navigate(href); } }}, text);
}

function signIn(message) {
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  state.user = null;
  document.title = 'Sign in · reinfer-clone';
  const input = h('input', {id: 'token', type: 'password', autocomplete: 'off', required: true});
  const error = h('p', {role: 'alert', class: 'error'}, message || '');
  const form = h('form', {class: 'signin', 'aria-label': 'Sign in',
    onSubmit: async (e) => {
      e.preventDefault();
      token.set(input.value.trim());
      try {
        state.user = (await get('/auth/user')).user;
        render();
      } catch (err) {
        token.clear();
        replace(error, err instanceof ApiError ? err.explanation : String(err));
      }
    }},
  h('h1', {}, 'reinfer-clone'),
  h('p', {}, 'Sign in with an API token. It is kept in this tab’s session storage only, and cleared when you sign out.'),
  h('label', {for: 'token'}, 'API token'), input,
  h('button', {type: 'submit'}, 'Sign in'), error);
  replace(root, h('main', {}, form));
  input.focus();
}

function signOut() {
  token.clear();
  signIn('You are signed out.');
}

setUnauthorizedHandler((error) => {
  token.clear();
  signIn(error.explanation);
});

async function render() {
  if (!token.get()) return signIn();
  if (!state.user) {
    try {
      state.user = (await get('/auth/user')).user;
    } catch (err) {
      if (err.status !== 401) signIn(err.explanation || String(err));
      return;
    }
  }
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  const route = parseLocation();
  const nav = h('nav', {'aria-label': 'Main'},
    h('ul', {},
      h('li', {}, link('/ui', 'Datasets', route.page === 'datasets')),
      route.dataset && Object.keys(PAGES).map((page) =>
        h('li', {}, link(datasetPath(route.project, route.dataset, page), TITLES[page], route.page === page)))));
  const main = h('main', {id: 'main'});
  const status = h('div', {id: 'notice', role: 'status', 'aria-live': 'polite'});
  replace(root,
    h('header', {},
      h('a', {class: 'brand', href: '/ui', onClick: (e) => { e.preventDefault(); navigate('/ui'); }}, 'reinfer-clone'),
      route.dataset ? h('span', {class: 'crumb'}, `${route.project} / ${route.dataset}`) : null,
      nav,
      h('span', {class: 'user'}, state.user.username),
      h('button', {type: 'button', onClick: signOut}, 'Sign out')),
    status, main);
  const ctx = {user: state.user, ...route, main, navigate, datasetPath,
    notify: (text) => replace(status, text),
    fail: (err) => showError(main, err)};
  document.title = `${route.page === 'datasets' ? 'Datasets' : TITLES[route.page]} · reinfer-clone`;
  const page = route.page === 'datasets' ? datasets : PAGES[route.page];
  try {
    state.cleanup = (await page.render(ctx)) || null;
  } catch (err) {
    ctx.fail(err);
  }
}

export function showError(where, err) {
  if (err instanceof ApiError && err.status === 401) return;
  const text = err instanceof ApiError ? err.explanation : String(err && err.message ? err.message : err);
  const box = h('p', {role: 'alert', class: 'error'}, text);
  where.prepend(box);
  console.error(err);
}

window.addEventListener('popstate', render);
render();
