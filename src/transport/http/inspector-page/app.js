/*
 * The conclave inspector page: live actor tree, state, sanitized context, event timeline and
 * statechart of a peer started with `conclave serve --inspect`.
 *
 * The token comes from the URL fragment (`#token=…`, never sent to any server); it is kept in
 * sessionStorage for reloads and removed from the address bar. The events arrive from
 * `GET /api/inspect/events` (server-sent events) read with `fetch`, so the token travels in the
 * `Authorization` header, not in a URL. No framework, no build step, no external resource.
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'conclave-inspector-token';
  const MAX_TIMELINE = 400;
  const MAX_ACTORS = 400;
  const $ = (id) => document.getElementById(id);

  const actors = new Map();
  const timeline = [];
  let selected = null;
  let lastTimelineId = 0;
  let eventCount = 0;
  let renderQueued = false;
  let chartKey = '';
  let retryTimer = null;

  function takeToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      const token = decodeURIComponent(m[1]);
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch (_) {
        /* storage may be off: the token then lives only in this page */
      }
      history.replaceState(null, '', location.pathname + location.search);
      return token;
    }
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (_) {
      return '';
    }
  }
  const token = takeToken();
  const auth = { authorization: 'Bearer ' + token };

  function setStatus(state, text) {
    const s = $('status');
    s.dataset.state = state;
    s.textContent = text;
  }

  function notice(text) {
    const n = $('notice');
    n.hidden = !text;
    n.textContent = text || '';
  }

  /** "a.b" for strings and nested objects; parallel regions joined with ", ". */
  function stateText(value) {
    if (value === undefined || value === null) return '—';
    if (typeof value === 'string') return value;
    if (typeof value !== 'object') return String(value);
    return Object.entries(value)
      .map(([k, v]) => (typeof v === 'string' ? k + '.' + v : k + '.{' + stateText(v) + '}'))
      .join(', ');
  }

  function label(a) {
    return a.machine || a.actorId || a.sessionId;
  }

  function actorFor(sessionId) {
    let a = actors.get(sessionId);
    if (!a) {
      a = { sessionId, actorId: sessionId, machine: null, parentId: undefined, chart: null };
      a.snapshot = { status: 'active' };
      a.seq = Number.MAX_SAFE_INTEGER;
      actors.set(sessionId, a);
    }
    return a;
  }

  function forgetEnded() {
    if (actors.size <= MAX_ACTORS) return;
    for (const [id, a] of actors) {
      if (actors.size <= MAX_ACTORS) break;
      if (a.snapshot.status !== 'active' && id !== selected) actors.delete(id);
    }
  }

  function addTimeline(r, kind) {
    const n = Number(r.id);
    if (n <= lastTimelineId) return;
    lastTimelineId = n;
    timeline.push({
      id: n,
      at: Number(r.createdAt),
      sessionId: r.sessionId,
      kind,
      event: kind === 'created' ? 'created' : r.event.type,
      to: kind === 'created' ? r.machine || '' : stateText(r.snapshot.value),
    });
    if (timeline.length > MAX_TIMELINE) timeline.splice(0, timeline.length - MAX_TIMELINE);
  }

  function onRecord(r) {
    eventCount += 1;
    const a = actorFor(r.sessionId);
    switch (r.type) {
      case '@xstate.actor':
        a.actorId = r.actorId || r.name;
        a.machine = r.machine || null;
        a.parentId = r.parentId;
        a.seq = Math.min(a.seq, Number(r.id));
        if (r.chart) a.chart = r.chart;
        if (!a.hasSnapshot || r.snapshot.value !== undefined) a.snapshot = r.snapshot;
        addTimeline(r, 'created');
        if (selected === null && !r.parentId) selected = r.sessionId;
        break;
      case '@xstate.snapshot':
        a.snapshot = r.snapshot;
        a.hasSnapshot = true;
        addTimeline(r, 'snapshot');
        break;
      case '@xstate.event':
        a.lastEvent = r.event.type;
        break;
    }
    forgetEnded();
    scheduleRender();
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function treeItem(a, childrenOf) {
    const li = document.createElement('li');
    li.dataset.sessionId = a.sessionId;
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'node';
    if (a.sessionId === selected) btn.classList.add('selected');
    if (a.snapshot.status !== 'active') btn.classList.add('ended');
    const machine = document.createElement('span');
    machine.className = 'machine';
    machine.textContent = label(a);
    const aid = document.createElement('span');
    aid.className = 'aid';
    aid.textContent =
      ' ' + (a.actorId !== a.machine ? a.actorId + ' ' : '') + '(' + a.sessionId + ')';
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent =
      stateText(a.snapshot.value) +
      (a.snapshot.status !== 'active' ? ' · ' + a.snapshot.status : '');
    btn.append(machine, aid, state);
    btn.addEventListener('click', () => select(a.sessionId));
    li.appendChild(btn);
    const kids = childrenOf.get(a.sessionId) || [];
    if (kids.length > 0) {
      const ul = document.createElement('ul');
      for (const k of kids) ul.appendChild(treeItem(k, childrenOf));
      li.appendChild(ul);
    }
    return li;
  }

  function renderTree() {
    const childrenOf = new Map();
    const roots = [];
    const sorted = [...actors.values()].sort((x, y) => x.seq - y.seq);
    for (const a of sorted) {
      if (a.parentId && actors.has(a.parentId)) {
        if (!childrenOf.has(a.parentId)) childrenOf.set(a.parentId, []);
        childrenOf.get(a.parentId).push(a);
      } else roots.push(a);
    }
    const ul = $('actor-tree');
    ul.textContent = '';
    for (const a of roots) ul.appendChild(treeItem(a, childrenOf));
  }

  function renderDetail() {
    const a = selected !== null ? actors.get(selected) : undefined;
    if (!a) return;
    $('actor-title').textContent = label(a) + (a.actorId !== a.machine ? ' · ' + a.actorId : '');
    $('actor-state').textContent = stateText(a.snapshot.value);
    $('actor-status').textContent = a.snapshot.status;
    $('actor-machine').textContent = a.machine || '(not a state machine)';
    $('actor-session').textContent =
      a.sessionId + (a.parentId ? ' (child of ' + a.parentId + ')' : '');
    $('actor-context').textContent =
      a.snapshot.context === undefined ? '—' : JSON.stringify(a.snapshot.context, null, 2);
    const key = a.sessionId + '|' + JSON.stringify(a.snapshot.value) + '|' + (a.chart ? 'c' : '');
    if (key !== chartKey) {
      chartKey = key;
      window.ConclaveChart.render($('chart'), a.chart, a.snapshot.value);
    }
  }

  function time(ms) {
    const d = new Date(ms);
    const pad = (n, w) => String(n).padStart(w, '0');
    return (
      pad(d.getHours(), 2) +
      ':' +
      pad(d.getMinutes(), 2) +
      ':' +
      pad(d.getSeconds(), 2) +
      '.' +
      pad(d.getMilliseconds(), 3)
    );
  }

  function renderTimeline() {
    if ($('paused').checked) return;
    const only = $('only-selected').checked;
    const ol = $('timeline');
    ol.textContent = '';
    const rows = only ? timeline.filter((t) => t.sessionId === selected) : timeline;
    for (let i = rows.length - 1; i >= 0; i--) {
      const t = rows[i];
      const a = actors.get(t.sessionId);
      const li = document.createElement('li');
      li.className = t.kind;
      li.dataset.sessionId = t.sessionId;
      const parts = [
        ['time', time(t.at)],
        ['who', a ? label(a) : t.sessionId],
        ['event', ' ' + t.event],
        ['to', t.kind === 'created' ? ' ' + t.to : ' → ' + t.to],
      ];
      for (const [cls, text] of parts) {
        const span = document.createElement('span');
        span.className = cls;
        span.textContent = text;
        li.appendChild(span);
      }
      li.addEventListener('click', () => select(t.sessionId));
      ol.appendChild(li);
    }
  }

  function render() {
    renderTree();
    renderDetail();
    renderTimeline();
    $('counts').textContent = actors.size + ' actors · ' + eventCount + ' events';
  }

  function select(sessionId) {
    selected = sessionId;
    scheduleRender();
  }

  function retry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, 2000);
  }

  function handleFrame(frame) {
    const data = [];
    for (const line of frame.split('\n')) if (line.startsWith('data: ')) data.push(line.slice(6));
    if (data.length === 0) return;
    try {
      onRecord(JSON.parse(data.join('\n')));
    } catch (_) {
      /* a frame we cannot read is skipped */
    }
  }

  async function connect() {
    setStatus('connecting', 'connecting…');
    if (!token) {
      notice('No token: open the URL that "conclave inspect" prints (it ends in #token=…).');
      setStatus('error', 'no token');
      return;
    }
    let res;
    try {
      res = await fetch('/api/inspect/events', {
        headers: Object.assign({ accept: 'text/event-stream' }, auth),
        cache: 'no-store',
      });
    } catch (_) {
      setStatus('error', 'cannot reach the peer; retrying');
      retry();
      return;
    }
    if (!res.ok) {
      let problem = null;
      try {
        problem = await res.json();
      } catch (_) {
        problem = null;
      }
      if (res.status === 401) {
        notice('The token is missing or wrong: open the URL that "conclave inspect" prints.');
      } else if (problem && problem.code === 'ERR_INSPECT_OFF') {
        notice(problem.detail + '.');
      } else {
        notice('The peer answered ' + res.status + (problem ? ': ' + problem.detail : '') + '.');
      }
      setStatus('error', 'not connected');
      if (res.status >= 500) retry();
      return;
    }
    notice('');
    setStatus('live', 'live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let idx;
        while ((idx = buf.indexOf('\n\n')) !== -1) {
          handleFrame(buf.slice(0, idx));
          buf = buf.slice(idx + 2);
        }
      }
    } catch (_) {
      /* the stream broke: reconnect below */
    }
    setStatus('error', 'disconnected; retrying');
    retry();
  }

  async function loadPeer() {
    try {
      const res = await fetch('/api/info', { headers: auth, cache: 'no-store' });
      if (!res.ok) return;
      const info = await res.json();
      $('peer').textContent = info.name + ' · ' + String(info.peerId).slice(0, 12) + '…';
    } catch (_) {
      /* the header stays empty */
    }
  }

  $('only-selected').addEventListener('change', scheduleRender);
  $('paused').addEventListener('change', scheduleRender);
  void loadPeer();
  void connect();
})();
