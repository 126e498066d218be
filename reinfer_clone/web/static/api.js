// The only way the interface talks to the server: the public HTTP API, with the
// signed-in user's token. A script with the same token can do everything the pages do.
const KEY = 'reinfer-clone.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  // The sentence shown to the user: the server's own message, with what the status means.
  get explanation() {
    if (this.status === 401) return `Your token was refused (401): ${this.message} Sign in again.`;
    if (this.status === 403) return `Permission denied (403): ${this.message}`;
    return this.status ? `Error ${this.status}: ${this.message}` : this.message;
  }
}

let onUnauthorized = () => {};
export const setUnauthorizedHandler = (fn) => { onUnauthorized = fn; };

export async function api(method, path, body) {
  const headers = {Authorization: `Bearer ${token.get() || ''}`};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    throw new ApiError(0, `The server could not be reached (${e.message}).`);
  }
  let data;
  try {
    data = await response.json();
  } catch {
    data = {status: 'error', message: `${response.status} ${response.statusText}`};
  }
  if (!response.ok || data.status !== 'ok') {
    const error = new ApiError(response.status, data.message || `${response.status} ${response.statusText}`);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return data;
}

// Raw bytes (an attachment) saved as a file. A plain link cannot carry the token, so the
// page fetches them with it and hands the browser an object URL to save.
export async function download(path, filename) {
  let response;
  try {
    response = await fetch(path, {headers: {Authorization: `Bearer ${token.get() || ''}`}});
  } catch (e) {
    throw new ApiError(0, `The server could not be reached (${e.message}).`);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).message || message; } catch { /* not JSON */ }
    const error = new ApiError(response.status, message);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), {href: url, download: filename});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body = {}) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

const e = encodeURIComponent;
export const paths = {
  dataset: (p, d) => `/api/v1/datasets/${e(p)}/${e(d)}`,
  privateDataset: (p, d) => `/api/_private/datasets/${e(p)}/${e(d)}`,
  labelling: (p, d, uid) => `/api/_private/datasets/${e(p)}/${e(d)}/labellings/${e(uid)}`,
  streams: (p, d) => `/api/v1/datasets/${e(p)}/${e(d)}/streams`,
  attachment: (reference) => `/api/v1/attachments/${e(reference)}`,
};

// Project-scoped permission codes, as the server checks them (contract section 2).
export function can(user, project, code) {
  if (!user) return false;
  if (user.global_permissions.includes('root')) return true;
  return (user.organisation_permissions[project] || []).includes(code);
}

// The current group's labels with one changed: assigned (with a sentiment), dismissed, or cleared.
export function changeLabel(labelling, name, action, sentiment = 'positive') {
  const group = (labelling || []).find((g) => g.group === 'default') || {assigned: [], dismissed: []};
  const assigned = (group.assigned || []).filter((l) => l.name !== name);
  const dismissed = (group.dismissed || []).filter((l) => l.name !== name);
  if (action === 'assign') assigned.push({name, sentiment});
  if (action === 'dismiss') dismissed.push({name, sentiment});
  return {labelling: [{group: 'default', assigned, dismissed}]};
}

// Assign one label to many comments, keeping their other labels: read the
// current labellings by uid (the same route a script would use), then write each.
export async function assignToMany(project, dataset, uids, name, sentiment) {
  const current = new Map();
  for (let i = 0; i < uids.length; i += 100) {
    const query = uids.slice(i, i + 100).map((u) => `id=${e(u)}`).join('&');
    const {results} = await get(`${paths.privateDataset(project, dataset)}/labellings?${query}`);
    for (const item of results) current.set(item.comment.uid, item.labelling);
  }
  let done = 0;
  const queue = [...uids];
  const worker = async () => {
    while (queue.length) {
      const uid = queue.shift();
      await post(paths.labelling(project, dataset, uid), changeLabel(current.get(uid), name, 'assign', sentiment));
      done += 1;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return done;
}
