// The review console's page (docs/console.md): the summary, the rows at 2
// (parked), 4 (a consumer failed) and 5 (closed), one row in full, requeue
// and close, and the action log. Plain JS, no framework, no build step.
//
// Safety rules this file keeps (the server's CSP backs them up):
// - Text from the API reaches the DOM only through textContent,
//   createTextNode or setAttribute on inert attributes (title, data-*):
//   never innerHTML and friends, so a payload or last_error holding markup
//   is shown literally.
// - The token lives in sessionStorage (this tab only) and travels as
//   `Authorization: Bearer`; fetch sends no cookies (credentials: 'omit').
// - No inline styles: looks are classes in app.css, visibility the
//   `hidden` attribute.
//
// data-test attributes (tests/browser/console_browser.py relies on them):
//   token-form token-input token-use token-forget access error-banner
//   summary-version summary-role summary-role-detail summary-broker
//   summary-postgres summary-pending summary-oldest summary-sent
//   summary-parked summary-consumer-failed summary-closed summary-unconfirmed
//   chart legend-pending legend-sent chart-from chart-to
//   filters status-select filter-topic filter-key filter-reason
//   filter-consumer filter-older apply filter-clear rows-info
//   selection-count requeue-selected close-selected requeue-filter
//   close-filter message
//   rows (tbody; data-state idle|loading|ready|error, data-loaded counter)
//   row (tr; data-id, data-status) row-select open-row row-status row-topic
//   row-key row-attempts row-created row-last-error select-all
//   first-page next-page page-info
//   detail (aside; data-id, data-state) detail-id detail-status
//   detail-close-panel detail-requeue detail-close detail-fields
//   detail-last-error detail-payload detail-payload-meta detail-headers
//   detail-actions
//   actions (tbody; data-state, data-loaded) action (tr; data-id)
//   action-note actions-first actions-next
//   dialog dialog-title dialog-count dialog-scope dialog-note
//   dialog-note-hint dialog-error dialog-confirm dialog-cancel
'use strict';

(() => {
  const TOKEN_KEY = 'outboxd.token';
  const SUMMARY_EVERY_MS = 5000;
  const PAGE_SIZE = 50;
  const ACTIONS_PAGE_SIZE = 20;
  const FILTER_ACTION_MAX = 100000; // rows one action by filter changes
  const ACTIONABLE = [2, 4];        // statuses requeue and close change
  const STATUS_NAMES = {0: 'pending', 1: 'sent', 2: 'parked', 3: 'confirmed',
                        4: 'consumer failed', 5: 'closed'};

  const $ = (name) => document.querySelector('[data-test="' + name + '"]');
  const numberFormat = new Intl.NumberFormat('en-US');

  const state = {
    filter: {status: '2,4'}, // the filter the table shows (applied)
    cursor: null,            // this page's cursor (null: first page)
    next: null,              // the next page's cursor
    page: 1,
    rows: [],
    emptyText: 'Loading…',   // what the table says when it has no rows
    selected: new Set(),
    detailId: null,
    actionsCursor: null,
    actionsNext: null,
    confirmation: true,
    summaryTimer: null,
    dialog: null,            // the pending action while the dialog is open
  };
  const seq = {rows: 0, detail: 0, actions: 0, summary: 0}; // latest request wins
  const loaded = {rows: 0, actions: 0};

  // ---- small helpers -------------------------------------------------------

  // el('td', {class: 'x', 'data-test': 'y'}, 'text', childNode...): strings
  // become text nodes, never markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function setText(name, text) { $(name).textContent = text === null || text === undefined ? '' : String(text); }
  function fmtInt(n) { return typeof n === 'number' && isFinite(n) ? numberFormat.format(Math.round(n)) : '–'; }
  function plural(n, word) { return fmtInt(n) + ' ' + word + (n === 1 ? '' : 's'); }
  // "2026-12-04T22:00:00.000Z" -> "2026-12-04 22:00:00" (the title keeps it all).
  function fmtTime(iso) {
    if (!iso) return '—';
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(String(iso));
    return m ? m[1] + ' ' + m[2] : String(iso);
  }
  function fmtAge(seconds) {
    if (typeof seconds !== 'number' || !isFinite(seconds)) return '';
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + ' s';
    if (seconds < 3600) return (seconds / 60).toFixed(1) + ' min';
    if (seconds < 172800) return (seconds / 3600).toFixed(1) + ' h';
    return (seconds / 86400).toFixed(1) + ' d';
  }
  function statusBadge(status, testName) {
    const name = STATUS_NAMES[status] || 'status ' + status;
    return el('span', {class: 'badge badge-s' + status, 'data-test': testName, title: 'status ' + status}, name);
  }
  function timeCell(iso, testName) { return el('td', {class: 'c-time', title: iso || '', 'data-test': testName}, fmtTime(iso)); }

  // ---- token and API -------------------------------------------------------

  function getToken() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function setToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lasts until the page reloads */ }
  }

  class ApiError extends Error {
    constructor(status, why) { super('HTTP ' + status + ': ' + why); this.status = status; this.why = why; }
  }

  // One API call: JSON in, JSON out; a non-2xx answer throws ApiError with
  // the server's {"error": ...} text. status 0 means no answer at all.
  async function api(method, path, body) {
    const headers = {Accept: 'application/json'};
    const token = getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = {method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'no answer from outboxd (' + (e && e.message ? e.message : e) + ')');
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const why = data && typeof data.error === 'string' ? data.error : (response.statusText || text.slice(0, 200));
      throw new ApiError(response.status, why);
    }
    return data;
  }

  function errorText(err) {
    if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
    if (err.status === 0) return 'Cannot reach outboxd: ' + err.why;
    // [hint, a word that shows the server's text already says it]
    const hints = {
      401: ['a valid token is needed: paste one above and press "Use token"', 'paste'],
      403: ['this token may only read', 'only read'],
      503: ['PostgreSQL is unreachable or the console is busy: retry in a moment', 'retry'],
    };
    const [hint, word] = hints[err.status] || [null, null];
    const said = hint && String(err.why).toLowerCase().includes(word);
    return 'HTTP ' + err.status + ': ' + err.why + (hint && !said ? ' (' + hint + ')' : '');
  }

  // The banner shows the first of the current problems, by source.
  const problems = new Map();
  function setProblem(source, text) {
    if (text) problems.set(source, text); else problems.delete(source);
    const banner = $('error-banner');
    const first = problems.values().next();
    banner.hidden = first.done;
    banner.textContent = first.done ? '' : first.value;
  }
  function loadProblem(source, err) {
    if (err instanceof ApiError && err.status === 401) {
      setProblem('token', 'This console needs a token. Paste your API token above and press "Use token". (' +
                 'HTTP 401: ' + err.why + ')');
      showAccess('none');
      return;
    }
    setProblem(source, errorText(err));
  }

  let messageSeq = 0;
  function showMessage(kind, text) {
    const message = $('message');
    message.dataset.seq = String(++messageSeq); // tests wait for a new message
    message.hidden = !text;
    message.textContent = text || '';
    message.dataset.kind = kind;
  }

  function showAccess(access, tokens) {
    const node = $('access');
    node.dataset.access = access;
    const texts = {none: 'no token', read: 'read only', write: 'read + write'};
    node.textContent = (texts[access] || access) + (tokens === false ? ' (no tokens file)' : '');
  }

  function useToken(event) {
    if (event) event.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    if (token) setToken(token);
    input.value = '';
    if (!getToken()) { setProblem('token', 'Paste a token first.'); return; }
    setProblem('token', null);
    showMessage('info', '');
    refreshAll();
  }

  function forgetToken() {
    setToken(null);
    $('token-input').value = '';
    stopSummaryTimer();
    showAccess('none');
    setProblem('token', 'Token forgotten. Paste a token and press "Use token" to continue.');
  }

  // ---- summary -------------------------------------------------------------

  // 'ok', 'token' (a token is needed) or 'error' (shown in the banner).
  async function loadSummary() {
    const mine = ++seq.summary;
    try {
      const s = await api('GET', '/api/v1/summary');
      if (mine !== seq.summary) return 'error';
      renderSummary(s);
      setProblem('summary', null);
      if (s.access === 'none') {
        setProblem('token', 'This console needs a token. Paste your API token above and press "Use token".');
        return 'token';
      }
      setProblem('token', null);
      return 'ok';
    } catch (err) {
      if (mine !== seq.summary) return 'error';
      loadProblem('summary', err);
      if (err.status !== 401) return 'error';
      // Without a token polling only repeats the 401: wait for "Use token".
      stopSummaryTimer();
      return 'token';
    }
  }

  function upDown(name, up, label) {
    const node = $(name);
    node.textContent = (label ? label + ' ' : '') + (up ? 'up' : 'down');
    node.className = 'stat-value ' + (up ? 'ok' : 'bad');
  }

  function renderSummary(s) {
    state.confirmation = s.confirmation !== false;
    setText('summary-version', s.version);
    setText('summary-role', s.role);
    setText('summary-role-detail', s.role_detail);
    upDown('summary-broker', !!s.broker_up, s.broker);
    upDown('summary-postgres', !!s.postgres_up);
    setText('summary-pending', fmtInt(s.pending));
    setText('summary-oldest', s.pending ? 'oldest ' + fmtAge(s.oldest_pending_age_s) : '');
    setText('summary-sent', fmtInt(s.sent_per_minute));
    setText('summary-parked', fmtInt(s.parked));
    setText('summary-consumer-failed', fmtInt(s.consumer_failed));
    setText('summary-closed', fmtInt(s.closed));
    setText('summary-unconfirmed', fmtInt(s.unconfirmed));
    for (const node of document.querySelectorAll('[data-confirmation]')) node.hidden = !state.confirmation;
    showAccess(s.access || 'unknown', s.tokens);
    renderChart(Array.isArray(s.history) ? s.history : []);
  }

  // Two lines over the last hour, each scaled to its own maximum (pending
  // is often tens while sent/min is thousands); the legend gives the values.
  function renderChart(history) {
    const svg = $('chart');
    const NS = 'http://www.w3.org/2000/svg';
    const W = 600, H = 120, PAD = 6;
    clear(svg);
    const svgEl = (tag, attrs) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
      return node;
    };
    for (let i = 0; i <= 3; i++) {
      const y = PAD + (H - 2 * PAD) * i / 3;
      svg.appendChild(svgEl('line', {x1: 0, x2: W, y1: y, y2: y, class: 'gridline', 'vector-effect': 'non-scaling-stroke'}));
    }
    const points = history.filter((p) => p && typeof p === 'object');
    const times = points.map((p) => Date.parse(p.at));
    const last = points.length ? points[points.length - 1] : null;
    const haveTimes = times.length > 0 && times.every((t) => isFinite(t));
    const end = haveTimes ? times[times.length - 1] : 0;
    const start = end - 3600 * 1000;
    const xOf = (i) => haveTimes ? W * Math.max(0, (times[i] - start)) / (3600 * 1000)
                                 : (points.length > 1 ? W * i / (points.length - 1) : W);
    const line = (field, cls) => {
      const values = points.map((p) => (typeof p[field] === 'number' ? p[field] : 0));
      const max = Math.max(1, ...values);
      const coords = values.map((v, i) => xOf(i).toFixed(1) + ',' + (H - PAD - (H - 2 * PAD) * v / max).toFixed(1));
      if (coords.length === 1) coords.unshift('0,' + coords[0].split(',')[1]);
      if (coords.length) svg.appendChild(svgEl('polyline', {points: coords.join(' '), class: cls, 'vector-effect': 'non-scaling-stroke'}));
      return Math.max(0, ...values);
    };
    const maxPending = line('pending', 'line-pending');
    const maxSent = line('sent_per_minute', 'line-sent');
    setText('legend-pending', last ? fmtInt(last.pending) + ' (max ' + fmtInt(maxPending) + ')' : '');
    setText('legend-sent', last ? fmtInt(last.sent_per_minute) + ' (max ' + fmtInt(maxSent) + ')' : '');
    setText('chart-from', haveTimes ? fmtTime(new Date(start).toISOString()).slice(11, 16) + ' UTC' : 'no history yet');
    setText('chart-to', haveTimes ? fmtTime(last.at).slice(11, 16) + ' UTC' : '');
  }

  function startSummaryTimer() {
    stopSummaryTimer();
    state.summaryTimer = setInterval(() => { if (!document.hidden) loadSummary(); }, SUMMARY_EVERY_MS);
  }
  function stopSummaryTimer() {
    if (state.summaryTimer !== null) clearInterval(state.summaryTimer);
    state.summaryTimer = null;
  }

  // ---- filter --------------------------------------------------------------

  // The inputs as a filter, or a string saying what is wrong with them.
  function readFilterInputs() {
    const filter = {status: $('status-select').value};
    for (const name of ['topic', 'key', 'reason', 'consumer']) {
      const value = $('filter-' + name).value.trim();
      if (value) filter[name] = value;
    }
    const older = $('filter-older').value.trim();
    if (older) {
      const minutes = Number(older);
      if (!isFinite(minutes) || minutes < 0) return 'Older than: a number of minutes, 0 or more.';
      filter.older_than_ms = Math.round(minutes * 60000);
    }
    return filter;
  }

  function filterParams(filter) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filter)) params.set(name, String(value));
    return params;
  }

  // The filter as the action body wants it: status a list, and only the
  // statuses an action changes (closed rows are left as they are).
  function actionFilter(filter) {
    const body = Object.assign({}, filter);
    body.status = String(filter.status).split(',').map(Number).filter((s) => ACTIONABLE.includes(s));
    return body;
  }

  function describeFilter(filter) {
    if (!filter || typeof filter !== 'object') return '';
    const parts = [];
    for (const [name, value] of Object.entries(filter)) {
      if (value === null || value === undefined || value === '') continue;
      if (name === 'status') {
        const list = Array.isArray(value) ? value : String(value).split(',');
        parts.push(list.map((s) => STATUS_NAMES[Number(s)] || 'status ' + s).join(' + '));
      }
      else if (name === 'older_than_ms') parts.push('older than ' + fmtInt(value / 60000) + ' min');
      else if (name === 'reason') parts.push('reason contains "' + value + '"');
      else parts.push(name + ' = ' + (typeof value === 'string' ? value : JSON.stringify(value)));
    }
    return parts.join(' · ');
  }

  function applyFilter() {
    const filter = readFilterInputs();
    if (typeof filter === 'string') { showMessage('error', filter); return; }
    state.filter = filter;
    state.cursor = null;
    state.page = 1;
    loadRows();
  }

  // ---- rows ----------------------------------------------------------------

  async function loadRows() {
    const tbody = $('rows');
    const mine = ++seq.rows;
    tbody.dataset.state = 'loading';
    const params = filterParams(state.filter);
    params.set('limit', String(PAGE_SIZE));
    if (state.cursor) params.set('cursor', state.cursor);
    try {
      const data = await api('GET', '/api/v1/rows?' + params.toString());
      if (mine !== seq.rows) return;
      state.rows = Array.isArray(data.rows) ? data.rows : [];
      state.next = data.next === undefined ? null : data.next;
      state.selected.clear();
      state.emptyText = 'No rows match this filter.';
      renderRows();
      setProblem('rows', null);
      tbody.dataset.state = 'ready';
    } catch (err) {
      if (mine !== seq.rows) return;
      loadProblem('rows', err);
      if (!state.rows.length) { state.emptyText = 'Rows could not be listed: ' + errorText(err); renderRows(); }
      tbody.dataset.state = 'error';
    } finally {
      if (mine === seq.rows) tbody.dataset.loaded = String(++loaded.rows);
    }
  }

  function renderRows() {
    const tbody = $('rows');
    clear(tbody);
    for (const row of state.rows) tbody.appendChild(rowElement(row));
    if (!state.rows.length) {
      tbody.appendChild(el('tr', {class: 'empty'}, el('td', {colspan: 8}, state.emptyText)));
    }
    setText('rows-info', describeFilter(state.filter));
    setText('page-info', 'page ' + state.page + ' · ' + plural(state.rows.length, 'row') + (state.next ? ' · more on the next page' : ''));
    $('next-page').disabled = !state.next;
    $('first-page').disabled = state.page === 1;
    updateSelection();
  }

  function rowElement(row) {
    const tr = el('tr', {'data-test': 'row', 'data-id': row.id, 'data-status': row.status});
    if (row.id === state.detailId) tr.classList.add('current');
    const box = el('input', {type: 'checkbox', 'data-test': 'row-select', 'aria-label': 'select row ' + row.id});
    box.disabled = !ACTIONABLE.includes(row.status);
    box.checked = state.selected.has(row.id);
    box.addEventListener('change', () => {
      if (box.checked) state.selected.add(row.id); else state.selected.delete(row.id);
      updateSelection();
    });
    const open = el('button', {type: 'button', class: 'link', 'data-test': 'open-row'}, String(row.id));
    open.addEventListener('click', () => openDetail(row.id));
    const error = row.last_error === null || row.last_error === undefined ? '' : String(row.last_error);
    tr.append(
      el('td', {class: 'c-check'}, box),
      el('td', {class: 'c-num'}, open),
      el('td', {}, statusBadge(row.status, 'row-status')),
      el('td', {class: 'c-topic', 'data-test': 'row-topic'}, String(row.topic ?? '')),
      el('td', {class: 'c-key', 'data-test': 'row-key'}, row.key === null || row.key === undefined ? '—' : String(row.key)),
      el('td', {class: 'c-num', 'data-test': 'row-attempts'}, fmtInt(row.attempts)),
      timeCell(row.created_at, 'row-created'),
      el('td', {class: 'c-error', title: error.slice(0, 2000), 'data-test': 'row-last-error'}, error));
    return tr;
  }

  function updateSelection() {
    const ids = new Set(state.rows.map((r) => r.id));
    for (const id of state.selected) if (!ids.has(id)) state.selected.delete(id);
    const n = state.selected.size;
    setText('selection-count', n + ' selected');
    $('requeue-selected').disabled = n === 0;
    $('close-selected').disabled = n === 0;
    const actionable = state.rows.filter((r) => ACTIONABLE.includes(r.status));
    const all = $('select-all');
    all.checked = actionable.length > 0 && n === actionable.length;
    all.indeterminate = n > 0 && n < actionable.length;
    all.disabled = actionable.length === 0;
    const filterActionable = actionFilter(state.filter).status.length > 0;
    $('requeue-filter').disabled = !filterActionable;
    $('close-filter').disabled = !filterActionable;
  }

  function selectAll() {
    const on = $('select-all').checked;
    state.selected.clear();
    if (on) for (const r of state.rows) if (ACTIONABLE.includes(r.status)) state.selected.add(r.id);
    for (const box of document.querySelectorAll('[data-test="row-select"]')) {
      const id = Number(box.closest('tr').dataset.id);
      box.checked = state.selected.has(id);
    }
    updateSelection();
  }

  // ---- one row -------------------------------------------------------------

  async function openDetail(id) {
    const panel = $('detail');
    const mine = ++seq.detail;
    state.detailId = id;
    for (const tr of document.querySelectorAll('[data-test="row"]')) tr.classList.toggle('current', Number(tr.dataset.id) === id);
    panel.hidden = false;
    panel.dataset.id = String(id);
    panel.dataset.state = 'loading';
    setText('detail-id', '#' + id);
    try {
      const row = await api('GET', '/api/v1/rows/' + encodeURIComponent(id));
      if (mine !== seq.detail) return;
      renderDetail(row);
      panel.dataset.state = 'ready';
    } catch (err) {
      if (mine !== seq.detail) return;
      clearDetail();
      setText('detail-last-error', errorText(err));
      if (err.status === 401) loadProblem('detail', err);
      panel.dataset.state = 'error';
    }
  }

  function closeDetail() {
    ++seq.detail;
    state.detailId = null;
    $('detail').hidden = true;
    for (const tr of document.querySelectorAll('[data-test="row"].current')) tr.classList.remove('current');
  }

  function clearDetail() {
    for (const name of ['detail-status', 'detail-fields', 'detail-last-error', 'detail-payload',
                        'detail-payload-meta', 'detail-headers', 'detail-actions']) clear($(name));
    $('detail-requeue').disabled = true;
    $('detail-close').disabled = true;
  }

  // JSON text pretty-printed, or null when it is not JSON.
  function prettyJson(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return null; }
  }

  function renderDetail(row) {
    clearDetail();
    $('detail-status').appendChild(statusBadge(row.status));
    const fields = $('detail-fields');
    const field = (name, value) => {
      const text = value === null || value === undefined ? '—'
        : Array.isArray(value) ? (value.length ? value.join(', ') : '—') : String(value);
      fields.append(el('dt', {}, name), el('dd', {'data-field': name}, text));
    };
    field('topic', row.topic);
    field('key', row.key);
    field('attempts', row.attempts);
    field('created_at', row.created_at);
    field('sent_at', row.sent_at);
    field('next_attempt_at', row.next_attempt_at);
    for (const name of ['kafka_partition', 'kafka_offset', 'confirmed_by', 'resends']) {
      if (name in row) field(name, row[name]);
    }
    setText('detail-last-error', row.last_error === null || row.last_error === undefined ? '(none)' : row.last_error);

    const payload = row.payload;
    const payloadNode = $('detail-payload');
    if (!payload) {
      payloadNode.textContent = '(no payload: NULL)';
      payloadNode.dataset.null = 'true';
    } else {
      const data = String(payload.data ?? '');
      const trimmed = data.trimStart();
      const looksJson = payload.encoding === 'json' ||
        (payload.encoding === 'text' && (trimmed.startsWith('{') || trimmed.startsWith('[')));
      const pretty = looksJson ? prettyJson(data) : null;
      payloadNode.textContent = pretty === null ? data : pretty;
      payloadNode.dataset.null = 'false';
      payloadNode.classList.toggle('hex', payload.encoding === 'hex');
      setText('detail-payload-meta', payload.encoding + ' · ' + plural(payload.bytes, 'byte') +
              (payload.truncated ? ' · truncated: only the first 64 KiB shown' : ''));
    }
    let headers = row.headers;
    if (typeof headers === 'string') headers = prettyJson(headers) ?? headers;
    else if (headers !== null && headers !== undefined) headers = JSON.stringify(headers, null, 2);
    setText('detail-headers', headers === null || headers === undefined ? '(none)' : headers);

    const history = $('detail-actions');
    const actions = Array.isArray(row.actions) ? row.actions : [];
    for (const a of actions) {
      history.appendChild(el('li', {},
        el('span', {class: 'c-time', title: a.at || ''}, fmtTime(a.at)), ' ',
        el('span', {class: 'badge badge-' + (a.action === 'close' ? 'close' : 'requeue')}, String(a.action)), ' ',
        el('span', {}, 'by ' + String(a.who ?? '?') + (a.id !== undefined ? ' (#' + a.id + ')' : '')),
        a.note ? el('div', {class: 'note'}, String(a.note)) : null));
    }
    if (!actions.length) history.appendChild(el('li', {class: 'muted'}, 'No action has changed this row.'));
    $('detail-requeue').disabled = !ACTIONABLE.includes(row.status);
    $('detail-close').disabled = !ACTIONABLE.includes(row.status);
  }

  // ---- actions: dialog, request, result ------------------------------------

  function actionVerb(action) { return action === 'close' ? 'close' : 'requeue'; }
  function capitalize(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

  function openDialog(pending) {
    state.dialog = pending;
    const verb = actionVerb(pending.action);
    setText('dialog-title', capitalize(verb) + ' rows');
    let countText;
    let rows = 0;
    if (pending.ids) {
      rows = pending.ids.length;
      countText = capitalize(verb) + ' ' + plural(rows, 'row') + (pending.selected ? ' (selected on this page).' : '.');
      setText('dialog-scope', 'ids ' + pending.ids.slice(0, 12).join(', ') + (rows > 12 ? ', …' : ''));
    } else {
      const c = pending.count;
      rows = Math.min(c.count, FILTER_ACTION_MAX);
      if (c.count === 0) countText = 'No rows match the filter: nothing to ' + verb + '.';
      else if (c.count > FILTER_ACTION_MAX) {
        countText = (c.capped ? 'More than ' : '') + plural(c.count, 'row') + ' match the filter; at most ' +
          fmtInt(FILTER_ACTION_MAX) + ' at once (oldest first): ' + verb + ' ' + fmtInt(FILTER_ACTION_MAX) +
          ' now and run it again for the rest.';
      } else countText = capitalize(verb) + ' ' + plural(c.count, 'row') + ' matching the filter.';
      setText('dialog-scope', 'filter: ' + describeFilter(pending.filter));
    }
    setText('dialog-count', countText);
    setText('dialog-note-hint', pending.action === 'close' ? '(required: why these rows must not be sent)' : '(optional)');
    $('dialog-note').value = '';
    $('dialog-error').hidden = true;
    const confirm = $('dialog-confirm');
    confirm.textContent = capitalize(verb) + ' ' + plural(rows, 'row');
    confirm.classList.toggle('btn-danger', pending.action === 'close');
    confirm.classList.toggle('btn-primary', pending.action !== 'close');
    pending.rows = rows;
    updateConfirm();
    const dialog = $('dialog');
    if (typeof dialog.showModal === 'function') dialog.showModal(); else dialog.setAttribute('open', '');
    (pending.action === 'close' ? $('dialog-note') : $('dialog-cancel')).focus();
  }

  function updateConfirm() {
    const pending = state.dialog;
    const confirm = $('dialog-confirm');
    if (!pending) { confirm.disabled = true; return; }
    const noteMissing = pending.action === 'close' && !$('dialog-note').value.trim();
    confirm.disabled = pending.busy || pending.rows === 0 || noteMissing;
  }

  function closeDialog() {
    state.dialog = null;
    const dialog = $('dialog');
    if (typeof dialog.close === 'function' && dialog.open) dialog.close(); else dialog.removeAttribute('open');
  }

  async function startByFilter(action) {
    const filter = actionFilter(state.filter);
    if (!filter.status.length) { showMessage('error', 'Closed rows cannot be requeued or closed: choose another status.'); return; }
    const params = filterParams(Object.assign({}, filter, {status: filter.status.join(',')}));
    try {
      const count = await api('GET', '/api/v1/rows/count?' + params.toString());
      openDialog({action, filter, count: {count: Number(count.count) || 0, capped: !!count.capped}});
    } catch (err) {
      showMessage('error', 'Counting the rows failed: ' + errorText(err));
      if (err.status === 401) loadProblem('action', err);
    }
  }

  async function confirmAction() {
    const pending = state.dialog;
    if (!pending || pending.busy) return;
    const note = $('dialog-note').value.trim();
    if (pending.action === 'close' && !note) return;
    pending.busy = true;
    updateConfirm();
    const body = pending.ids ? {ids: pending.ids} : {filter: pending.filter};
    if (note) body.note = note;
    const verb = actionVerb(pending.action);
    try {
      const result = await api('POST', '/api/v1/rows/' + verb, body);
      const n = Number(pending.action === 'close' ? result.closed : result.requeued) || 0;
      let text = (pending.action === 'close' ? 'Closed ' : 'Requeued ') + plural(n, 'row');
      if (result.action !== null && result.action !== undefined) text += ' (action #' + result.action + ')';
      if (pending.ids && n < pending.ids.length) {
        text += '; ' + fmtInt(pending.ids.length - n) + ' of the ' + fmtInt(pending.ids.length) +
                ' were no longer at status 2 or 4 and were left as they are';
      }
      if (result.more) text += '; more rows match: run again';
      showMessage('ok', text + '.');
      closeDialog();
      refreshAfterAction();
    } catch (err) {
      closeDialog();
      showMessage('error', capitalize(verb) + ' failed: ' + errorText(err));
      if (err.status === 401) loadProblem('action', err);
    }
  }

  function refreshAfterAction() {
    loadRows();
    loadSummary();
    state.actionsCursor = null;
    loadActions();
    if (state.detailId !== null) openDetail(state.detailId);
  }

  // ---- action log ----------------------------------------------------------

  async function loadActions() {
    const tbody = $('actions');
    const mine = ++seq.actions;
    tbody.dataset.state = 'loading';
    const params = new URLSearchParams({limit: String(ACTIONS_PAGE_SIZE)});
    if (state.actionsCursor) params.set('cursor', state.actionsCursor);
    try {
      const data = await api('GET', '/api/v1/actions?' + params.toString());
      if (mine !== seq.actions) return;
      state.actionsNext = data.next === undefined ? null : data.next;
      renderActions(Array.isArray(data.actions) ? data.actions : []);
      setProblem('actions', null);
      tbody.dataset.state = 'ready';
    } catch (err) {
      if (mine !== seq.actions) return;
      loadProblem('actions', err);
      tbody.dataset.state = 'error';
    } finally {
      if (mine === seq.actions) tbody.dataset.loaded = String(++loaded.actions);
    }
  }

  function renderActions(actions, emptyText) {
    const tbody = $('actions');
    clear(tbody);
    for (const a of actions) {
      const ids = Array.isArray(a.ids) ? a.ids : [];
      const shown = ids.slice(0, 6).join(', ') + (a.rows > 6 ? ' … (+' + fmtInt(a.rows - Math.min(ids.length, 6)) + ')' : '');
      let filter = a.filter;
      if (typeof filter === 'string') { try { filter = JSON.parse(filter); } catch (e) { /* shown as text */ } }
      const filterText = filter === null || filter === undefined ? '' : typeof filter === 'object' ? describeFilter(filter) : String(filter);
      tbody.appendChild(el('tr', {'data-test': 'action', 'data-id': a.id},
        el('td', {class: 'c-num'}, String(a.id ?? '')),
        timeCell(a.at),
        el('td', {}, String(a.who ?? '')),
        el('td', {}, el('span', {class: 'badge badge-' + (a.action === 'close' ? 'close' : 'requeue')}, String(a.action ?? ''))),
        el('td', {class: 'c-num'}, fmtInt(a.rows)),
        el('td', {class: 'c-note' + (a.note ? '' : ' muted'), 'data-test': 'action-note'}, a.note ? String(a.note) : '—'),
        el('td', {class: 'c-ids', title: ids.join(', ')}, shown),
        el('td', {class: 'c-filter'}, filterText)));
    }
    if (!actions.length) {
      tbody.appendChild(el('tr', {class: 'empty'}, el('td', {colspan: 8}, emptyText || 'No actions recorded yet.')));
    }
    $('actions-next').disabled = !state.actionsNext;
    $('actions-first').disabled = !state.actionsCursor;
  }

  // ---- wiring --------------------------------------------------------------

  async function refreshAll() {
    startSummaryTimer();
    if (await loadSummary() !== 'token') {
      loadRows();
      loadActions();
      if (state.detailId !== null) openDetail(state.detailId);
    } else if (!state.rows.length) {
      state.emptyText = 'Rows are listed once a valid token is in use.';
      renderRows();
    }
  }

  function init() {
    const on = (name, handler, event = 'click') => $(name).addEventListener(event, handler);
    const selectedIds = () => [...state.selected].sort((a, b) => a - b);
    const fromDetail = (action) => () => { if (state.detailId !== null) openDialog({action, ids: [state.detailId]}); };
    on('token-form', useToken, 'submit');
    on('token-forget', forgetToken);
    on('apply', applyFilter);
    on('status-select', applyFilter, 'change');
    on('filter-clear', () => {
      for (const input of document.querySelectorAll('[data-filter]')) input.value = '';
      applyFilter();
    });
    for (const input of document.querySelectorAll('[data-filter]')) {
      input.addEventListener('keydown', (e) => { if (e.key === 'Enter') applyFilter(); });
    }
    on('next-page', () => { if (state.next) { state.cursor = state.next; state.page += 1; loadRows(); } });
    on('first-page', () => { state.cursor = null; state.page = 1; loadRows(); });
    on('select-all', selectAll, 'change');
    on('requeue-selected', () => { if (state.selected.size) openDialog({action: 'requeue', ids: selectedIds(), selected: true}); });
    on('close-selected', () => { if (state.selected.size) openDialog({action: 'close', ids: selectedIds(), selected: true}); });
    on('requeue-filter', () => startByFilter('requeue'));
    on('close-filter', () => startByFilter('close'));
    on('detail-close-panel', closeDetail);
    on('detail-requeue', fromDetail('requeue'));
    on('detail-close', fromDetail('close'));
    on('dialog-note', updateConfirm, 'input');
    on('dialog-confirm', confirmAction);
    on('dialog-cancel', closeDialog);
    on('dialog', () => { state.dialog = null; }, 'close');
    on('actions-next', () => { if (state.actionsNext) { state.actionsCursor = state.actionsNext; loadActions(); } });
    on('actions-first', () => { state.actionsCursor = null; loadActions(); });
    document.addEventListener('visibilitychange', () => { if (!document.hidden && state.summaryTimer !== null) loadSummary(); });

    showAccess(getToken() ? 'unknown' : 'none');
    renderRows();
    renderActions([], 'The action log is shown once a valid token is in use.');
    clearDetail();
    refreshAll();
  }

  init();
})();
