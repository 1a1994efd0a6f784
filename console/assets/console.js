// Floe console: every read and change goes through the HTTP API with the signed-in API key.
// Data is put on the page with textContent only, never as HTML.
'use strict';

const KEY = 'floe-api-key';
const $ = (sel) => document.querySelector(sel);
const apiKey = () => sessionStorage.getItem(KEY) || '';

// el builds an element: attributes (on* become listeners), then children (strings become text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function status(text, isError) {
  const s = $('#status');
  s.textContent = text || '';
  s.className = isError ? 'error' : 'ok';
}

class APIError extends Error {
  constructor(status, code, message) { super(code + ': ' + message); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const headers = {};
  if (apiKey()) headers['Authorization'] = 'Bearer ' + apiKey();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (r.status === 401) {
    location.href = '/console/login?next=' + encodeURIComponent(location.pathname);
    throw new APIError(401, 'UNAUTHENTICATED', 'sign in with an API key');
  }
  if (!r.ok) {
    const err = (data && data.error) || { code: 'HTTP_' + r.status, message: text.slice(0, 200) };
    throw new APIError(r.status, err.code, err.message);
  }
  return data;
}

const enc = encodeURIComponent;
const fmtTime = (t) => t ? new Date(t).toLocaleString() : '';
const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);

function table(headers, rows) {
  return el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', class: h.num ? 'num' : null }, h.label || h)))),
    el('tbody', {}, rows.length ? rows.map((r) => el('tr', {}, r.map((c, i) =>
      el('td', { class: headers[i].num ? 'num' : null }, c)))) : el('tr', {}, el('td', { colspan: headers.length, class: 'muted' }, 'none'))));
}

function card(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return el('section', { class: 'card', 'aria-labelledby': id }, el('h2', { id }, title), ...children);
}

// field is a labelled input.
function field(label, attrs) {
  return el('label', {}, label, el(attrs.tag || 'input', Object.assign({}, attrs, { tag: null })));
}

function form(label, fields, submit, onsubmit) {
  return el('form', { 'aria-label': label, onsubmit: async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(ev.target).entries());
    try { await onsubmit(data, ev.target); } catch (e) { status(e.message, true); }
  } }, fields, el('button', { type: 'submit' }, submit));
}

// ---- pages ----------------------------------------------------------------

const pages = {};

pages.login = async (root) => {
  const next = new URLSearchParams(location.search).get('next') || '/console/';
  root.append(card('Sign in',
    el('p', {}, 'Paste an API key (floe keys create). It stays in this browser tab and is sent only to this node as the API\'s bearer token. On a node without keys, leave it empty.'),
    form('Sign in', [field('API key', { type: 'password', name: 'key', id: 'key', autocomplete: 'off' })], 'Sign in', (d) => {
      if (d.key) sessionStorage.setItem(KEY, d.key); else sessionStorage.removeItem(KEY);
      location.href = next.startsWith('/console') ? next : '/console/';
    }),
    el('button', { class: 'secondary', type: 'button', onclick: () => { sessionStorage.removeItem(KEY); status('signed out'); } }, 'Sign out')));
  $('#key').focus();
};

// rate remembers the stored-message total between refreshes to show a rate.
let lastTotal = null;

pages.overview = async (root) => {
  const stats = el('div', { class: 'stats' });
  const topicsBox = el('div'), groupsBox = el('div');
  root.append(card('At a glance', stats),
    el('div', { class: 'grid' },
      card('Topics', topicsBox, form('Create a topic', [
        field('Name', { name: 'name', required: true, pattern: '[A-Za-z0-9_-]{1,127}' }),
        field('Type', { tag: 'select', name: 'type' }),
        field('Queues', { name: 'queues', type: 'number', min: 1, max: 1024, value: 4 })], 'Create topic', async (d) => {
        const body = { name: d.name, type: d.type };
        // A PRIORITY topic takes its default, one queue per priority level (0-9).
        if (d.type !== 'LITE' && d.type !== 'PRIORITY') body.queues = Number(d.queues);
        await api('POST', '/v1/topics', body);
        status('topic ' + d.name + ' created');
        await refresh();
      })),
      card('Consumer groups', groupsBox, form('Create a group', [
        field('Name', { name: 'name', required: true, pattern: '[A-Za-z0-9_-]{1,127}' }),
        field('Max delivery attempts', { name: 'max', type: 'number', min: 1, max: 1000, value: 16 })], 'Create group', async (d) => {
        await api('POST', '/v1/groups', { name: d.name, maxDeliveryAttempts: Number(d.max) });
        status('group ' + d.name + ' created');
        await refresh();
      }))));
  const sel = root.querySelector('select[name=type]');
  for (const t of ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE', 'PRIORITY']) sel.append(el('option', { value: t }, t));

  async function refresh() {
    const [{ topics }, { groups }] = await Promise.all([api('GET', '/v1/topics'), api('GET', '/v1/groups')]);
    const shown = topics.filter((t) => !t.name.startsWith('%'));
    const queues = await Promise.all(shown.map((t) => api('GET', '/v1/topics/' + enc(t.name) + '/queues').catch(() => ({ queues: [] }))));
    const lags = await Promise.all(groups.map((g) => api('GET', '/v1/groups/' + enc(g.name) + '/lag').catch(() => null)));
    const stored = queues.map((q) => sum(q.queues, (x) => x.maxOffset - x.minOffset));
    const total = sum(queues, (q) => sum(q.queues, (x) => x.maxOffset));
    const now = Date.now();
    let rate = '–';
    if (lastTotal) rate = ((total - lastTotal.total) / ((now - lastTotal.at) / 1000)).toFixed(1);
    lastTotal = { total, at: now };
    const lagTotal = sum(lags, (l) => l ? l.totals.ready + l.totals.inflight : 0);
    stats.replaceChildren(
      el('div', { class: 'stat' }, el('b', { id: 'stat-topics' }, shown.length), el('span', {}, 'topics')),
      el('div', { class: 'stat' }, el('b', {}, groups.length), el('span', {}, 'groups')),
      el('div', { class: 'stat' }, el('b', { id: 'stat-rate' }, rate), el('span', {}, 'messages stored / s')),
      el('div', { class: 'stat' }, el('b', { id: 'stat-lag' }, lagTotal), el('span', {}, 'total lag (ready + in flight)')));
    topicsBox.replaceChildren(table(['Name', 'Type', { label: 'Queues', num: true }, { label: 'Messages', num: true }, 'Retention'],
      shown.map((t, i) => [el('a', { href: '/console/topics/' + enc(t.name) }, t.name), t.type, t.queues, stored[i], t.retentionHours + ' h'])));
    groupsBox.replaceChildren(table(['Name', 'Order', 'Subscriptions', { label: 'Ready', num: true }, { label: 'In flight', num: true }],
      groups.map((g, i) => [el('a', { href: '/console/groups/' + enc(g.name) }, g.name), g.deliveryOrder,
        (g.subscriptions || []).map((s) => s.topic).join(', '), lags[i] ? lags[i].totals.ready : '?', lags[i] ? lags[i].totals.inflight : '?'])));
  }
  await refresh();
  setInterval(() => refresh().catch((e) => status(e.message, true)), 5000);
};

// bodyView shows a message body as text, hex or indented JSON.
function bodyView(b64) {
  const bytes = Uint8Array.from(atob(b64 || ''), (c) => c.charCodeAt(0));
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  let json = null;
  try { json = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { json = null; }
  const pre = el('pre', { id: 'body', 'aria-label': 'Message body' });
  const tabs = el('div', { class: 'tabs', role: 'group', 'aria-label': 'Body as' });
  const show = (mode) => {
    pre.textContent = mode === 'hex' ? hex : mode === 'json' ? json : text;
    for (const b of tabs.children) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
  };
  for (const m of ['text', 'hex', 'json']) {
    if (m === 'json' && json === null) continue;
    tabs.append(el('button', { type: 'button', 'data-mode': m, onclick: () => show(m) }, m.toUpperCase()));
  }
  show(json !== null ? 'json' : 'text');
  return el('div', {}, el('p', { class: 'muted' }, bytes.length + ' bytes'), tabs, pre);
}

async function openMessage(topic, id, box) {
  // Only the last message opened is shown: an earlier click whose answers arrive later
  // must not replace it.
  const seq = String(Number(box.dataset.opened || 0) + 1);
  box.dataset.opened = seq;
  const [m, tr, gs] = await Promise.all([
    api('GET', '/v1/topics/' + enc(topic) + '/messages/' + enc(id)),
    api('GET', '/v1/topics/' + enc(topic) + '/messages/' + enc(id) + '/trace'),
    // A key that may not list groups still sees the message; the picker is then empty.
    api('GET', '/v1/groups').catch(() => ({ groups: [] }))]);
  if (box.dataset.opened !== seq) return;
  const subscribed = gs.groups.filter((g) => (g.subscriptions || []).some((s) => s.topic === topic));
  const resend = form('Resend to group', [field('Group', { tag: 'select', name: 'group', required: true })], 'Resend to group…', async (d) => {
    const r = await api('POST', '/v1/groups/' + enc(d.group) + '/topics/' + enc(topic) + '/messages/' + enc(m.messageId) + '/resend');
    status('resent ' + r.messageId + ' to ' + r.group + ' (queue ' + r.queueId + ', offset ' + r.offset + ')');
  });
  const groupSel = resend.querySelector('select');
  for (const g of subscribed) groupSel.append(el('option', { value: g.name }, g.name));
  const t0 = tr.events.length ? new Date(tr.events[0].time).getTime() : 0;
  const props = Object.entries(m.properties || {});
  box.replaceChildren(card('Message ' + m.messageId,
    table(['Field', 'Value'], [['Queue', m.queueId], ['Offset', m.offset], ['Tag', m.tag || ''], ['Keys', (m.keys || []).join(', ')],
      ['Message group', m.messageGroup || ''], ['Born', fmtTime(m.bornTime)], ['Stored', fmtTime(m.storeTime)]]),
    el('h3', {}, 'Properties'), table(['Name', 'Value'], props),
    el('h3', {}, 'Body'), bodyView(m.body),
    el('h3', {}, 'Resend'),
    el('p', { class: 'muted' }, 'The group\'s next receive gets this message again as a new delivery; only for a message the group was already handed and does not hold now.'),
    subscribed.length ? resend : el('p', { class: 'muted' }, 'No group subscribes to this topic.'),
    el('h3', {}, 'Trace'),
    tr.events.length ? el('ol', { class: 'timeline', id: 'trace' }, tr.events.map((e) => el('li', {},
      el('b', {}, e.type), ' ', el('span', { class: 'when' }, fmtTime(e.time) + ' (+' + (new Date(e.time).getTime() - t0) + ' ms)'),
      ' ', el('span', { class: 'muted' }, [e.group && 'group ' + e.group, e.queueId !== undefined && 'queue ' + e.queueId,
        e.offset !== undefined && 'offset ' + e.offset, e.node && 'node ' + e.node, e.attempt && 'attempt ' + e.attempt].filter(Boolean).join(' · ')))))
      : el('p', { class: 'muted', id: 'trace' }, 'no trace events (yet: they are written about once a second)')));
  box.querySelector('h2').setAttribute('tabindex', '-1');
  box.querySelector('h2').focus();
}

const localInput = (d) => { const p = (n) => String(n).padStart(2, '0'); return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); };

pages.topic = async (root, topic) => {
  const [t, q] = await Promise.all([api('GET', '/v1/topics/' + enc(topic)), api('GET', '/v1/topics/' + enc(topic) + '/queues')]);
  const results = el('div', { id: 'results' }), detail = el('div', { id: 'detail' });
  const queuesBox = el('div');
  const drawQueues = (qs) => queuesBox.replaceChildren(table([{ label: 'Queue', num: true }, 'Lite topic', { label: 'Min offset', num: true }, { label: 'Max offset', num: true }],
    qs.map((x) => [x.queueId, x.liteTopic || '', x.minOffset, x.maxOffset])));
  drawQueues(q.queues);
  let cursor = '';
  const browse = async (d, more) => {
    const p = new URLSearchParams({ order: d.order, limit: '50' });
    if (d.from) p.set('from', new Date(d.from).toISOString());
    if (d.to) p.set('to', new Date(d.to).toISOString());
    for (const k of ['tag', 'key', 'property']) if (d[k]) p.set(k, d[k]);
    if (more && cursor) p.set('cursor', cursor);
    const r = await api('GET', '/v1/topics/' + enc(topic) + '/browse?' + p);
    cursor = r.nextCursor || '';
    const rows = r.messages.map((m) => [el('button', { type: 'button', class: 'secondary', onclick: () => openMessage(topic, m.messageId, detail).catch((e) => status(e.message, true)) }, m.messageId),
      m.queueId, m.offset, fmtTime(m.storeTime), m.tag || '', (m.keys || []).join(', ')]);
    const tbl = table(['Message', { label: 'Queue', num: true }, { label: 'Offset', num: true }, 'Stored', 'Tag', 'Keys'], rows);
    if (more) results.querySelector('tbody').append(...tbl.querySelector('tbody').children);
    else results.replaceChildren(tbl);
    results.append(cursor ? el('button', { type: 'button', class: 'secondary', onclick: () => browse(d, true).catch((e) => status(e.message, true)) }, 'More') : '');
    status(r.messages.length + ' messages');
  };
  const now = new Date();
  root.append(
    el('div', { class: 'grid' },
      card('Settings', table(['Setting', 'Value'], [['Type', t.type], ['Queues', t.queues], ['Retention', t.retentionHours + ' h'], ['Trace', String(t.trace)]]),
        form('Change settings', [field('Queues (add only)', { name: 'queues', type: 'number', min: t.queues, max: 1024, value: t.queues }),
          field('Retention hours', { name: 'retention', type: 'number', min: 1, value: t.retentionHours })], 'Save', async (d) => {
          await api('PATCH', '/v1/topics/' + enc(topic), { queues: Number(d.queues), retentionHours: Number(d.retention) });
          status('saved');
          drawQueues((await api('GET', '/v1/topics/' + enc(topic) + '/queues')).queues);
        })),
      card('Queues', queuesBox),
      card('Send a message', form('Send a message', [field('Body', { tag: 'textarea', name: 'body', required: true }),
        field('Tag', { name: 'tag' }), field('Keys (comma-separated)', { name: 'keys' })], 'Send', async (d, f) => {
        const m = { body: btoa(String.fromCharCode(...new TextEncoder().encode(d.body))) };
        if (d.tag) m.tag = d.tag;
        if (d.keys) m.keys = d.keys.split(',').map((s) => s.trim()).filter(Boolean);
        const r = await api('POST', '/v1/topics/' + enc(topic) + '/messages', { messages: [m] });
        status('sent ' + r.messages[0].messageId);
        f.reset();
        drawQueues((await api('GET', '/v1/topics/' + enc(topic) + '/queues')).queues);
      }))),
    card('Browse by time', form('Browse by time', [
      field('From', { name: 'from', type: 'datetime-local', value: localInput(new Date(now.getTime() - 3600e3)) }),
      field('To', { name: 'to', type: 'datetime-local' }),
      field('Order', { tag: 'select', name: 'order' }),
      field('Tag', { name: 'tag' }), field('Key', { name: 'key' }), field('Property (name=value)', { name: 'property' })], 'Browse', (d) => browse(d, false)), results),
    detail);
  const order = root.querySelector('select[name=order]');
  order.append(el('option', { value: 'newest' }, 'newest first'), el('option', { value: 'oldest' }, 'oldest first'));
};

// Chart draws one series on a canvas: the last hour of samples taken by this page.
function drawChart(canvas, points) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  const css = getComputedStyle(document.documentElement);
  g.clearRect(0, 0, w, h);
  g.font = '12px system-ui';
  g.fillStyle = css.getPropertyValue('--muted');
  if (points.length < 2) { g.fillText('collecting samples…', 10, 20); return; }
  const max = Math.max(1, ...points.map((p) => p.v));
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  const x = (t) => 40 + (w - 50) * (t - t0) / Math.max(1, t1 - t0);
  const y = (v) => h - 20 - (h - 30) * v / max;
  g.fillText(String(max), 4, 14); g.fillText('0', 4, h - 20);
  g.fillText(new Date(t0).toLocaleTimeString(), 40, h - 4);
  g.fillText(new Date(t1).toLocaleTimeString(), w - 80, h - 4);
  g.strokeStyle = css.getPropertyValue('--accent'); g.lineWidth = 2;
  g.beginPath();
  points.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.v)) : g.moveTo(x(p.t), y(p.v))));
  g.stroke();
}

pages.group = async (root, group) => {
  const g = await api('GET', '/v1/groups/' + enc(group));
  const settingsBox = el('div', { id: 'settings' });
  const drawSettings = (x) => settingsBox.replaceChildren(table(['Setting', 'Value'], [['Delivery order', x.deliveryOrder],
    ['Max delivery attempts', x.maxDeliveryAttempts], ['Retry backoff', ((x.retryPolicy && x.retryPolicy.backoffSeconds) || []).join(', ') + ' s']]));
  drawSettings(g);
  const lagBox = el('div', { id: 'lag' }), dlqBox = el('div', { id: 'dlq' }), progressBox = el('div', { id: 'redrive' });
  const clientsBox = el('div', { id: 'clients' });
  const canvas = el('canvas', { id: 'lag-chart', role: 'img', 'aria-label': 'Lag over time' });
  const samples = [];
  const subs = g.subscriptions || [];
  root.append(
    el('div', { class: 'grid' },
      card('Settings', settingsBox,
        form('Change settings', [field('Delivery order', { tag: 'select', name: 'order' }),
          field('Max delivery attempts', { name: 'max', type: 'number', min: 1, max: 1000, value: g.maxDeliveryAttempts }),
          field('Retry backoff (seconds before attempt 2, 3, …; comma-separated, the last repeats)', { name: 'backoff', required: true,
            value: ((g.retryPolicy && g.retryPolicy.backoffSeconds) || []).join(', ') })], 'Save', async (d) => {
          const parts = d.backoff.split(/[\s,]+/).filter(Boolean);
          if (!parts.length || parts.some((p) => !/^\d+$/.test(p))) throw new Error('Retry backoff: whole seconds, comma-separated');
          drawSettings(await api('PATCH', '/v1/groups/' + enc(group), { deliveryOrder: d.order, maxDeliveryAttempts: Number(d.max),
            retryPolicy: { backoffSeconds: parts.map(Number) } }));
          status('saved');
        })),
      card('Subscriptions', table(['Topic', 'Filter'], subs.map((s) => [el('a', { href: '/console/topics/' + enc(s.topic) }, s.topic), (s.filterType || 'TAG') + ' ' + (s.filter || '*')])),
        form('Subscribe', [field('Topic', { name: 'topic', required: true }), field('Filter', { name: 'filter', value: '*' })], 'Subscribe', async (d) => {
          await api('PUT', '/v1/groups/' + enc(group) + '/subscriptions/' + enc(d.topic), { filter: d.filter || '*' });
          location.reload();
        }))),
    card('Lag', el('div', { class: 'stats' }, el('div', { class: 'stat' }, el('b', { id: 'lag-total' }, '…'), el('span', {}, 'ready')),
      el('div', { class: 'stat' }, el('b', { id: 'inflight-total' }, '…'), el('span', {}, 'in flight'))),
      canvas, el('p', { class: 'muted' }, 'Ready messages over the last hour: the node\'s own samples, then every 2 s while this page is open.'), lagBox),
    card('Connected clients', clientsBox, el('p', { class: 'muted' },
      'Consumers seen by any node in the last minute, over HTTP and gRPC; lists are gathered every 10 s. In flight is an estimate.')),
    el('div', { class: 'grid' },
      card('Dead letters', dlqBox,
        form('Redrive dead letters', [field('Rate (messages/s)', { name: 'rate', type: 'number', min: 1, max: 10000, value: 100 }),
          field('To topic (default: the only subscription)', { name: 'to' })], 'Redrive all', async (d) => {
          const body = { ratePerSecond: Number(d.rate) };
          if (d.to) body.targetTopic = d.to;
          const task = await api('POST', '/v1/groups/' + enc(group) + '/dead-letters/redrive', body);
          watchTask(task);
        }), progressBox),
      card('Offsets', form('Reset to a time', [field('Topic', { tag: 'select', name: 'topic' }), field('Time', { name: 'time', type: 'datetime-local', required: true })], 'Reset', async (d) => {
        await api('POST', '/v1/groups/' + enc(group) + '/topics/' + enc(d.topic) + '/reset', { timestamp: new Date(d.time).toISOString() });
        status('reset ' + d.topic + ' to ' + d.time);
        await refreshLag();
      }), form('Set a queue\'s offset', [field('Topic', { tag: 'select', name: 'topic' }),
        field('Queue', { name: 'queue', type: 'number', min: 0, required: true, value: 0 }),
        field('Offset', { name: 'offset', type: 'number', min: 0, required: true })], 'Set offset', async (d) => {
        await api('PUT', '/v1/groups/' + enc(group) + '/topics/' + enc(d.topic) + '/queues/' + enc(d.queue) + '/offset', { offset: Number(d.offset) });
        status('queue ' + d.queue + ' of ' + d.topic + ' set to offset ' + d.offset);
        await refreshLag();
      }), form('Copy offsets from a group', [field('From group', { tag: 'select', name: 'from', required: true })], 'Copy offsets', async (d) => {
        const r = await api('POST', '/v1/groups/' + enc(group) + '/copy-offsets/' + enc(d.from));
        status('copied the offsets of ' + d.from + ' (' + r.queues.length + ' queues moved)');
        await refreshLag();
      }), el('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await api('POST', '/v1/groups/' + enc(group) + '/skip-backlog', {}); status('backlog skipped'); await refreshLag(); } catch (e) { status(e.message, true); }
      } }, 'Skip the backlog'))));
  for (const sel of root.querySelectorAll('form[aria-label="Reset to a time"] select, form[aria-label="Set a queue\'s offset"] select')) {
    for (const s of subs) sel.append(el('option', { value: s.topic }, s.topic));
  }
  // Any other group may be copied from; the API answers which queues both consume.
  const fromSel = root.querySelector('form[aria-label="Copy offsets from a group"] select');
  const others = await api('GET', '/v1/groups').then((r) => r.groups.filter((x) => x.name !== group)).catch(() => []);
  for (const o of others) fromSel.append(el('option', { value: o.name }, o.name));

  function watchTask(task) {
    const bar = el('progress', { max: Math.max(1, task.total), value: task.moved + task.skipped, 'aria-label': 'Redrive progress' });
    const text = el('span', { id: 'redrive-text' });
    progressBox.replaceChildren(bar, ' ', text);
    const tick = async () => {
      const t = await api('GET', '/v1/groups/' + enc(group) + '/dead-letters/redrive/' + enc(task.id));
      bar.max = Math.max(1, t.total); bar.value = t.moved + t.skipped;
      text.textContent = t.state + ': ' + t.moved + ' moved of ' + t.total + (t.skipped ? ' (' + t.skipped + ' gone)' : '');
      if (t.state === 'RUNNING') setTimeout(() => tick().catch((e) => status(e.message, true)), 500);
      else refreshDLQ();
    };
    tick().catch((e) => status(e.message, true));
  }

  async function refreshDLQ() {
    let n = 0;
    try {
      const q = await api('GET', '/v1/topics/' + enc('%DLQ%' + group) + '/queues');
      n = sum(q.queues, (x) => x.maxOffset - x.minOffset);
    } catch (e) { if (e.status !== 404) throw e; }
    dlqBox.replaceChildren(el('p', {}, el('b', { id: 'dlq-size' }, n), ' dead letters'));
  }

  async function refreshLag() {
    const lag = await api('GET', '/v1/groups/' + enc(group) + '/lag');
    $('#lag-total').textContent = lag.totals.ready;
    $('#inflight-total').textContent = lag.totals.inflight;
    samples.push({ t: Date.now(), v: lag.totals.ready });
    while (samples.length && samples[0].t < Date.now() - 3600e3) samples.shift();
    canvas.dataset.points = samples.length;
    drawChart(canvas, samples);
    const rows = [];
    for (const t of lag.topics) for (const q of t.queues) rows.push([t.topic, q.queueId, q.maxOffset, q.consumedOffset, q.inflight, q.ready]);
    lagBox.replaceChildren(table(['Topic', { label: 'Queue', num: true }, { label: 'Max offset', num: true }, { label: 'Consumed', num: true },
      { label: 'In flight', num: true }, { label: 'Ready', num: true }], rows));
  }
  async function refreshClients() {
    const { clients } = await api('GET', '/v1/groups/' + enc(group) + '/clients');
    const ago = (t) => Math.max(0, Math.round((Date.now() - new Date(t)) / 1000)) + ' s ago';
    clientsBox.replaceChildren(clients.length ? table(['Client id', 'Protocol', 'Address', 'SDK / user agent', 'Last seen', 'Subscriptions',
      { label: 'Delivered', num: true }, { label: 'Acked', num: true }, { label: 'Nacked', num: true }, { label: 'In flight', num: true }],
    clients.map((c) => [c.clientId, c.protocol, c.address, [c.language, c.version].filter(Boolean).join(' ') || c.userAgent || '', ago(c.lastSeen),
      (c.subscriptions || []).map((s) => s.topic + ' (' + (s.filter || '*') + ')').join(', '), c.delivered, c.acked, c.nacked, c.inFlight]))
      : el('p', {}, 'No client in the last minute.'));
  }
  const order = $('select[name=order]');
  for (const o of ['CONCURRENT', 'ORDERLY']) order.append(el('option', { value: o, selected: o === g.deliveryOrder ? '' : null }, o));
  // The last hour as the node sampled it; the live samples follow.
  try {
    const h = await api('GET', '/v1/groups/' + enc(group) + '/lag/history');
    for (const p of h.points) samples.push({ t: new Date(p.time).getTime(), v: sum(p.topics, (x) => x.ready) });
  } catch (e) { status('lag history: ' + e.message, true); }
  await Promise.all([refreshLag(), refreshDLQ(), refreshClients()]);
  setInterval(() => refreshClients().catch((e) => status(e.message, true)), 5000);
  const tasks = await api('GET', '/v1/groups/' + enc(group) + '/dead-letters/redrive');
  if (tasks.tasks.length) watchTask(tasks.tasks[0]);
  setInterval(() => refreshLag().catch((e) => status(e.message, true)), 2000);
};

pages.keys = async (root) => {
  const box = el('div'), secret = el('div', { role: 'status' });
  const refresh = async () => {
    const { keys } = await api('GET', '/v1/keys');
    box.replaceChildren(table(['Id', 'Name', 'Namespace', 'Permissions', 'Created', ''], keys.map((k) => [k.id, k.name, k.namespace || '',
      (k.permissions || []).map((p) => p.action + ':' + p.resource).join(' '), fmtTime(k.createdAt),
      el('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (!confirm('Revoke ' + k.name + '?')) return;
        try { await api('DELETE', '/v1/keys/' + enc(k.id)); await refresh(); } catch (e) { status(e.message, true); }
      } }, 'Revoke')])));
  };
  root.append(card('API keys', box), card('Create a key', form('Create a key', [field('Name', { name: 'name', required: true }),
    field('Permissions (ACTION:RESOURCE, space-separated)', { name: 'perms', required: true, value: 'read:topic:*' })], 'Create', async (d) => {
    const permissions = d.perms.trim().split(/\s+/).map((p) => { const i = p.indexOf(':'); return { action: p.slice(0, i), resource: p.slice(i + 1) }; });
    const k = await api('POST', '/v1/keys', { name: d.name, permissions });
    secret.replaceChildren(el('p', {}, 'Key ' + k.id + ' created. Its secret is shown this once:'), el('pre', {}, k.secret));
    await refresh();
  }), secret));
  try { await refresh(); } catch (e) {
    if (e.status === 403) box.replaceChildren(el('p', {}, 'Managing keys needs a key with admin on key:*.')); else throw e;
  }
};

document.addEventListener('DOMContentLoaded', async () => {
  const page = document.body.dataset.page, name = document.body.dataset.name;
  $('#who').textContent = apiKey() ? 'signed in with a key' : 'no key';
  try { await pages[page]($('#page'), name); } catch (e) { status(e.message, true); }
});
