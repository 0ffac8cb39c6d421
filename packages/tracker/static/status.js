/* global document, location, URLSearchParams */
// The dist-tracker status page: polls api/swarms and redraws. No framework, no build step.
// Every value from the tracker reaches the page through textContent or an SVG attribute made
// of numbers, never through innerHTML: file names are whatever the origin's disk holds.

const POLL_MS = 2000;
const MAX_BACKOFF_MS = 30_000;
const SVG = 'http://www.w3.org/2000/svg';

const token = new URLSearchParams(location.search).get('token');
const headers = token ? { Authorization: `Bearer ${token}` } : {};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function formatRate(bytesPerSec) {
  return bytesPerSec > 0 ? `${formatBytes(bytesPerSec)}/s` : '–';
}

function formatAgo(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function formatTime(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A small line chart of completions (solid) and seeds (dashed) over time. */
function chart(history, width = 180, height = 36) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  const last = history.at(-1);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = last
    ? `${last.completed} completed, ${last.seeds} seeds at ${formatTime(last.t)}`
    : 'no announces yet';
  svg.append(title);
  const axis = document.createElementNS(SVG, 'line');
  axis.setAttribute('class', 'axis');
  for (const [k, v] of [
    ['x1', 0],
    ['y1', height - 1],
    ['x2', width],
    ['y2', height - 1],
  ]) {
    axis.setAttribute(k, String(v));
  }
  svg.append(axis);
  if (history.length === 0) return svg;
  const t0 = history[0].t;
  const span = Math.max(1, last.t - t0);
  const top = Math.max(1, ...history.map((p) => Math.max(p.completed, p.seeds)));
  const line = (pick, className) => {
    const points = history.map((p) => {
      const x = history.length === 1 ? width : ((p.t - t0) / span) * (width - 2) + 1;
      const y = height - 2 - (pick(p) / top) * (height - 4);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (points.length === 1) points.unshift(`0,${points[0].split(',')[1]}`);
    const polyline = document.createElementNS(SVG, 'polyline');
    polyline.setAttribute('class', className);
    polyline.setAttribute('points', points.join(' '));
    svg.append(polyline);
  };
  line((p) => p.seeds, 'seeds');
  line((p) => p.completed, 'completed');
  return svg;
}

function cell(className, text) {
  return el('td', className, text);
}

function swarmRow(swarm, now) {
  const row = el('tr', 'swarm');
  row.dataset.infoHash = swarm.infoHash;
  row.title = 'click for every machine';
  row.addEventListener('click', () => toggleDetail(swarm.infoHash));

  const file = el('td', 'file');
  file.append(el('div', 'path', swarm.path), el('div', 'root', `in ${swarm.root}`));
  file.title = swarm.name;
  const published = cell('published', formatTime(swarm.publishedAt));
  published.title = `modified ${formatTime(swarm.mtimeMs)}; lease ends in ${formatAgo(
    swarm.expiresAt - now,
  )}`;
  const hash = cell('hash', `${swarm.infoHash.slice(0, 12)}…`);
  hash.title = swarm.infoHash;
  const chartCell = el('td', 'history');
  chartCell.append(chart(swarm.history));
  const stuck = cell(`num stuck${swarm.stuckCount > 0 ? ' some' : ''}`, swarm.stuckCount);

  row.append(
    file,
    cell('num size', formatBytes(swarm.length)),
    published,
    hash,
    cell('num seeds', swarm.seeds),
    cell('num leechers', swarm.leechers),
    cell('num completed', swarm.completed),
    chartCell,
    cell('num rate', formatRate(swarm.downloadRate)),
    stuck,
  );
  return row;
}

function stuckRow(swarm, now) {
  const row = el('tr', 'stuck-list');
  row.dataset.infoHash = swarm.infoHash;
  const td = el('td');
  td.colSpan = 10;
  td.append(el('span', null, 'No progress from: '));
  const list = el('ul');
  for (const peer of swarm.stuck) {
    const done = swarm.length > 0 ? (1 - peer.left / swarm.length) * 100 : 0;
    const where = peer.location ? ` (${peer.location})` : '';
    list.append(
      el(
        'li',
        null,
        `${peer.address}${where}: ${done.toFixed(1)} % done, no change for ` +
          `${formatAgo(now - peer.lastProgressAt)}`,
      ),
    );
  }
  if (swarm.stuckCount > swarm.stuck.length) {
    list.append(el('li', null, `and ${swarm.stuckCount - swarm.stuck.length} more`));
  }
  td.append(list);
  row.append(td);
  return row;
}

// Info hashes whose machine list is open; their details are fetched on every poll.
const open = new Set();
const details = new Map();

function toggleDetail(infoHash) {
  if (open.has(infoHash)) open.delete(infoHash);
  else open.add(infoHash);
  void poll(false);
}

async function fetchDetails() {
  for (const infoHash of [...details.keys()]) if (!open.has(infoHash)) details.delete(infoHash);
  await Promise.all(
    [...open].map(async (infoHash) => {
      const res = await fetch(`api/swarms/${infoHash}`, { headers, cache: 'no-store' });
      if (res.status === 404) open.delete(infoHash);
      else if (res.ok) details.set(infoHash, await res.json());
    }),
  );
}

function machinesRow(detail, now) {
  const row = el('tr', 'machines');
  row.dataset.infoHash = detail.infoHash;
  const td = el('td');
  td.colSpan = 10;
  const table = el('table', 'machine-list');
  const head = el('tr');
  for (const name of ['machine', 'location', 'done', 'rate', 'uploaded', 'last announce']) {
    head.append(el('th', null, name));
  }
  table.append(head);
  for (const peer of detail.peers) {
    const done =
      peer.left === null ? '?' : `${((1 - peer.left / detail.length) * 100).toFixed(1)} %`;
    const row = el('tr', peer.stuck ? 'machine stuck' : 'machine');
    row.append(
      el('td', null, peer.address),
      el('td', null, peer.location ?? ''),
      el('td', 'num', peer.seed ? 'seed' : done),
      el('td', 'num', formatRate(peer.rate)),
      el('td', 'num', formatBytes(peer.uploaded)),
      el('td', null, `${formatAgo(now - peer.lastAnnounceAt)} ago`),
    );
    table.append(row);
  }
  if (detail.peers.length === 0)
    td.append(el('span', null, 'No machine announces to this tracker.'));
  else td.append(table);
  row.append(td);
  return row;
}

function setText(id, text) {
  document.getElementById(id).textContent = String(text);
}

function render(data) {
  const now = data.generatedAt;
  setText('total-files', data.totals.files);
  setText('total-seeds', data.totals.seeds);
  setText('total-leechers', data.totals.leechers);
  setText('total-completed', data.totals.completed);
  setText('total-rate', formatRate(data.totals.downloadRate));
  setText('total-stuck', data.totals.stuck);
  setText(
    'stuck-note',
    `Stuck: a downloading machine whose bytes left have not changed for ` +
      `${formatAgo(data.stuckAfterSec * 1000)} (${data.stuckAfterSec / data.interval} announce intervals).`,
  );

  const rows = [];
  for (const swarm of data.swarms) {
    const row = swarmRow(swarm, now);
    row.classList.toggle('open', open.has(swarm.infoHash));
    rows.push(row);
    if (swarm.stuck.length > 0) rows.push(stuckRow(swarm, now));
    const detail = details.get(swarm.infoHash);
    if (open.has(swarm.infoHash) && detail) rows.push(machinesRow(detail, now));
  }
  document.getElementById('swarm-rows').replaceChildren(...rows);
  document.getElementById('empty').hidden = data.swarms.length > 0;
}

function showConnection(text, error) {
  const node = document.getElementById('connection');
  node.textContent = text;
  node.classList.toggle('error', error);
}

let failures = 0;
let timer = null;

/** One refresh; `schedule` false for an extra refresh (a click) that keeps the timer. */
async function poll(schedule = true) {
  try {
    const res = await fetch('api/swarms', { headers, cache: 'no-store' });
    if (res.status === 401) {
      showConnection('This status page is private: open it as /?token=TOKEN.', true);
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    await fetchDetails();
    render(data);
    failures = 0;
    showConnection(`live · updated ${new Date().toLocaleTimeString()}`, false);
  } catch (err) {
    failures++;
    showConnection(`tracker unreachable (${err.message}); retrying…`, true);
  }
  if (!schedule) return;
  const delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** Math.min(failures, 4));
  clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

poll();
