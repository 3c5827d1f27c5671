/*
 * Draws a statechart (the `chart` of an `@xstate.actor` inspection record) as plain SVG: states as
 * boxes nested inside their parents, transitions as arrows with their event names, the active
 * states highlighted. No layout library: children are laid out in columns by how many steps the
 * transitions take to reach them from the initial state, so the machine reads left to right.
 *
 *   window.ConclaveChart.render(containerElement, chart, snapshotValue)
 */
(function () {
  'use strict';

  const SVGNS = 'http://www.w3.org/2000/svg';
  const CHAR_W = 7.3;
  const LEAF_H = 34;
  const HEAD = 24;
  const PAD = 22;
  const GAP_X = 150;
  const GAP_Y = 30;
  const MAX_LABEL = 24;

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function cut(text) {
    return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + '…' : text;
  }

  /** Paths of the active states ("active", "active.keys", …) from a snapshot value. */
  function activePaths(value, prefix, out) {
    if (typeof value === 'string') {
      out.add(prefix.concat(value).join('.'));
    } else if (value && typeof value === 'object') {
      for (const [key, sub] of Object.entries(value)) {
        out.add(prefix.concat(key).join('.'));
        activePaths(sub, prefix.concat(key), out);
      }
    }
    return out;
  }

  /** Every node by id, with its chain of ancestor ids (root first). */
  function index(root) {
    const nodes = new Map();
    const walk = (node, ancestors) => {
      nodes.set(node.id, { node, chain: ancestors.concat(node.id) });
      for (const child of node.children) walk(child, ancestors.concat(node.id));
    };
    walk(root, []);
    return nodes;
  }

  /**
   * Children of `node` in columns: breadth-first from the initial child along the transitions, so
   * each column holds the states one step further on (parallel regions: one column each).
   */
  function columns(node, depth, edges, nodes) {
    const kids = node.children;
    if (node.type === 'parallel') return kids.map((k) => [k]);
    const childAt = (id) => {
      const entry = nodes.get(id);
      return entry ? entry.chain[depth + 1] : undefined;
    };
    const next = new Map(kids.map((k) => [k.id, []]));
    for (const e of edges) {
      const from = childAt(e.source);
      for (const t of e.targets) {
        const to = childAt(t);
        if (from && to && from !== to && next.has(from)) next.get(from).push(to);
      }
    }
    const rank = new Map();
    const start = node.initial || (kids[0] && kids[0].id);
    const queue = start ? [[start, 0]] : [];
    while (queue.length) {
      const [id, r] = queue.shift();
      if (rank.has(id) || !next.has(id)) continue;
      rank.set(id, r);
      for (const to of next.get(id)) queue.push([to, r + 1]);
    }
    const last = rank.size > 0 ? Math.max(...rank.values()) + 1 : 0;
    const cols = [];
    const byId = new Map(kids.map((k) => [k.id, k]));
    const order = [...rank.keys()].concat(kids.map((k) => k.id).filter((id) => !rank.has(id)));
    for (const id of order) {
      const r = rank.has(id) ? rank.get(id) : last;
      while (cols.length <= r) cols.push([]);
      cols[r].push(byId.get(id));
    }
    return cols.filter((c) => c.length > 0);
  }

  /** Sizes every box and places children (columns left to right) relative to their parent. */
  function measure(node, depth, edges, nodes) {
    const labelW = node.name.length * CHAR_W + 28;
    node._kids = [];
    if (node.children.length === 0) {
      node._w = Math.max(88, labelW);
      node._h = LEAF_H;
      return;
    }
    for (const c of node.children) measure(c, depth + 1, edges, nodes);
    const cols = columns(node, depth, edges, nodes);
    const gap = node.type === 'parallel' ? PAD : GAP_X;
    const heights = cols.map((col) => col.reduce((h, k) => h + k._h, 0) + GAP_Y * (col.length - 1));
    const innerH = Math.max(...heights);
    let x = PAD;
    cols.forEach((col, i) => {
      const colW = Math.max(...col.map((k) => k._w));
      let y = HEAD + PAD + (innerH - heights[i]) / 2;
      for (const k of col) {
        k._rx = x + (colW - k._w) / 2;
        k._ry = y;
        y += k._h + GAP_Y;
        node._kids.push(k);
      }
      x += colW + gap;
    });
    node._w = Math.max(labelW, x - gap + PAD);
    node._h = HEAD + PAD + innerH + PAD;
  }

  function place(node, x, y) {
    node._x = x;
    node._y = y;
    for (const k of node._kids) place(k, x + k._rx, y + k._ry);
  }

  /** Where the line from the box centre towards (tx, ty) leaves the box. */
  function border(n, tx, ty) {
    const cx = n._x + n._w / 2;
    const cy = n._y + n._h / 2;
    const dx = tx - cx;
    const dy = ty - cy;
    if (dx === 0 && dy === 0) return [cx, cy];
    const sx = dx === 0 ? Infinity : n._w / 2 / Math.abs(dx);
    const sy = dy === 0 ? Infinity : n._h / 2 / Math.abs(dy);
    const s = Math.min(sx, sy);
    return [cx + dx * s, cy + dy * s];
  }

  function drawBoxes(svg, node, active, isRoot) {
    const path = node.path.join('.');
    const isActive = !isRoot && active.has(path);
    if (isRoot) {
      el(
        'rect',
        { class: 'machine-frame', x: node._x, y: node._y, width: node._w, height: node._h, rx: 8 },
        svg,
      );
      el('text', { class: 'machine-title', x: node._x + 10, y: node._y + 16 }, svg).textContent =
        node.name;
    } else {
      const cls = ['state', node.type, isActive ? 'active' : ''].join(' ').trim();
      const rect = el(
        'rect',
        { class: cls, x: node._x, y: node._y, width: node._w, height: node._h, rx: 6 },
        svg,
      );
      rect.setAttribute('data-state', path);
      const leaf = node._kids.length === 0;
      const text = el(
        'text',
        {
          class: 'state-label' + (isActive ? ' active' : ''),
          x: leaf ? node._x + node._w / 2 : node._x + 10,
          y: leaf ? node._y + node._h / 2 + 4 : node._y + 16,
          'text-anchor': leaf ? 'middle' : 'start',
        },
        svg,
      );
      text.textContent = node.name;
    }
    if (node.initial) {
      const first = node._kids.find((k) => k.id === node.initial);
      if (first) {
        const y = first._y + Math.min(first._h / 2, LEAF_H / 2);
        el('circle', { class: 'initial', cx: first._x - 16, cy: y, r: 4 }, svg);
        el(
          'path',
          {
            class: 'edge',
            d: `M${first._x - 12},${y} L${first._x - 1},${y}`,
            'marker-end': 'url(#arrow)',
          },
          svg,
        );
      }
    }
    for (const k of node._kids) drawBoxes(svg, k, active, false);
  }

  function drawEdges(svg, edges, nodes) {
    const merged = new Map();
    for (const e of edges) {
      for (const t of e.targets) {
        const key = e.source + '\u0000' + t;
        const m = merged.get(key) || { source: e.source, target: t, events: new Map() };
        const guards = m.events.get(e.label) || [];
        guards.push(e.guard);
        m.events.set(e.label, guards);
        merged.set(key, m);
      }
    }
    const labels = [];
    for (const m of merged.values()) {
      const a = nodes.get(m.source);
      const b = nodes.get(m.target);
      if (!a || !b) continue;
      const s = a.node;
      const t = b.node;
      const text = [...m.events]
        .map(([event, guards]) => {
          const named = guards.filter((g) => g !== undefined);
          if (named.length === 0) return event;
          return named.length === 1
            ? event + ' [' + named[0] + ']'
            : event + ' [' + named.length + ' guards]';
        })
        .join(', ');
      let d;
      let lx;
      let ly;
      if (s === t) {
        const x0 = s._x + s._w - 18;
        const y0 = s._y;
        d = `M${x0},${y0} C${x0 - 6},${y0 - 30} ${x0 + 30},${y0 - 30} ${x0 + 18},${y0 + 1}`;
        lx = x0 + 8;
        ly = y0 - 26;
      } else if (b.chain.includes(s.id) || a.chain.includes(t.id)) {
        // Between a state and one of its own descendants: from the parent's header corner.
        const outer = b.chain.includes(s.id) ? s : t;
        const inner = outer === s ? t : s;
        const ox = outer._x + 12;
        const oy = outer._y + 22;
        const [ix, iy] = border(inner, ox, oy);
        d = outer === s ? `M${ox},${oy} L${ix},${iy}` : `M${ix},${iy} L${ox},${oy}`;
        lx = (ox + ix) / 2;
        ly = (oy + iy) / 2 - 4;
      } else {
        const [x1, y1] = border(s, t._x + t._w / 2, t._y + t._h / 2);
        const [x2, y2] = border(t, s._x + s._w / 2, s._y + s._h / 2);
        const len = Math.hypot(x2 - x1, y2 - y1) || 1;
        // Bend to the left of the direction of travel, so A→B and B→A do not overlap.
        const bend = 16;
        const cx = (x1 + x2) / 2 + ((y2 - y1) / len) * bend;
        const cy = (y1 + y2) / 2 - ((x2 - x1) / len) * bend;
        d = `M${x1},${y1} Q${cx},${cy} ${x2},${y2}`;
        lx = 0.25 * x1 + 0.5 * cx + 0.25 * x2;
        ly = 0.25 * y1 + 0.5 * cy + 0.25 * y2 - 3;
      }
      const edge = el('path', { class: 'edge', d, 'marker-end': 'url(#arrow)' }, svg);
      edge.setAttribute('data-edge', m.source + ' → ' + m.target);
      labels.push({ lx, ly, text });
    }
    for (const l of labels) {
      const node = el(
        'text',
        { class: 'edge-label', x: l.lx, y: l.ly, 'text-anchor': 'middle' },
        svg,
      );
      node.textContent = cut(l.text);
      if (l.text.length > MAX_LABEL) el('title', {}, node).textContent = l.text;
    }
  }

  function render(container, chart, value) {
    container.textContent = '';
    if (!chart || !chart.root) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = 'No statechart for this actor (it is not a state machine).';
      container.appendChild(p);
      return;
    }
    const root = JSON.parse(JSON.stringify(chart.root));
    const nodes = index(root);
    measure(root, 0, chart.edges, nodes);
    const hasLoops = chart.edges.some((e) => e.targets.includes(e.source));
    const top = hasLoops ? 36 : 8;
    place(root, 8, top);
    const width = root._w + 16;
    const height = root._h + top + 8;
    const svg = el('svg', {
      xmlns: SVGNS,
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
    });
    el('title', {}, svg).textContent = 'statechart of ' + root.name;
    const marker = el(
      'marker',
      {
        id: 'arrow',
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: 'auto-start-reverse',
      },
      el('defs', {}, svg),
    );
    el('path', { d: 'M0,0 L10,5 L0,10 z' }, marker);
    const active = activePaths(value, [], new Set());
    drawBoxes(svg, root, active, true);
    drawEdges(svg, chart.edges, nodes);
    container.appendChild(svg);
    const internal = chart.edges.filter((e) => e.targets.length === 0);
    if (internal.length > 0) {
      const p = document.createElement('p');
      p.className = 'internal';
      const names = [...new Set(internal.map((e) => e.label))];
      p.textContent = 'handled without a state change: ' + names.join(', ');
      container.appendChild(p);
    }
    if (chart.isTruncated) {
      const p = document.createElement('p');
      p.className = 'internal';
      p.textContent = 'This chart was cut to its size limits.';
      container.appendChild(p);
    }
  }

  window.ConclaveChart = { render, activePaths: (value) => activePaths(value, [], new Set()) };
})();
