// draw.js — the diagram as SVG, drawn from the layout for the part of it on screen.
//
// Every item (a lane's head, lifeline and ending, a bar, a call label, a note, an arrow, a fold) is indexed
// by the y range it covers; a redraw makes elements only for the items in the scrolled-to window, so a run
// of 10,000 events draws as fast as one of 20. What a step has not reached yet is not drawn.

const SVG_NS = "http://www.w3.org/2000/svg";
const BUCKET = 400; // points of height per index bucket
const HIDDEN_TEXT = "▒▒▒";

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, attrs[key]);
    }
  }
  if (parent) parent.appendChild(node);
  return node;
}

/** Text segments into an SVG <text>: plain strings, and secrets (one-element lists) hidden in exercise mode. */
function segmentsInto(text, segments, key, ctx) {
  for (const seg of segments) {
    if (typeof seg === "string") {
      if (seg) el("tspan", null, text).textContent = seg;
    } else if (ctx.hidden(key)) {
      const t = el("tspan", { class: "secret-svg", "data-reveal": key }, text);
      t.textContent = HIDDEN_TEXT;
      el("title", null, t).textContent = word("hidden_value");
    } else {
      el("tspan", { class: "revealed" }, text).textContent = seg[0];
    }
  }
}

function plain(segments) {
  return segments.map((s) => (typeof s === "string" ? s : s[0])).join("");
}

// -- geometry under the arrangement --------------------------------------------------------------------

function rowY(arr, r) {
  return arr.v.rows[r][ROW.y] - arr.rowShift[r];
}

function boxAt(arr, box, lane, row) {
  if (!box || box.length < 4) return null;
  const dx = arr.dx[lane];
  const dy = arr.rowShift[row];
  return [box[0] + dx, box[1] - dy, box[2] + dx, box[3] - dy];
}

function endRow(v, lane) {
  return lane.end && lane.end.open ? v.rows.length - 1 : lane.r1;
}

/** Every drawable item with the y range it covers, bucketed (made again when the arrangement changes). */
function indexItems(arr) {
  const v = arr.v;
  const items = [];
  const add = (type, i, y0, y1) => items.push({ type, i, y0: Math.min(y0, y1), y1: Math.max(y0, y1) });
  const bottom = arr.height;
  v.lanes.forEach((lane, i) => {
    if (arr.states[i] === "hidden") return;
    const hb = boxAt(arr, lane.hb, i, lane.r0);
    add("head", i, hb ? hb[1] : rowY(arr, lane.r0) - 20, hb ? hb[3] : rowY(arr, lane.r0) + 20);
    add("lifeline", i, hb ? hb[3] : rowY(arr, lane.r0), bottom);
    if (lane.end) {
      const eb = boxAt(arr, lane.end.b, i, endRow(v, lane));
      if (eb) add("end", i, eb[1], eb[3]);
    }
  });
  v.bars.forEach((bar, i) => {
    if (arr.states[bar[0]] === "hidden") return;
    const y1 = bar[3] === "open" ? bottom : rowY(arr, bar[2]);
    add("bar", i, rowY(arr, bar[1]) - v.m.line, y1 + v.m.line);
  });
  const label = (type) => (item, i) => {
    // a call or a note: on its lane's side of the lifeline, at its row
    if (arr.states[item.l] !== "shown" || !arr.rowOn[item.r]) return;
    const b = boxAt(arr, item.bx, item.l, item.r);
    if (b) add(type, i, b[1], b[3]);
  };
  v.calls.forEach(label("call"));
  v.notes.forEach(label("note"));
  v.arrows.forEach((a, i) => {
    if (!arr.arrowOn[i]) return;
    const y1 = rowY(arr, a.r0);
    const y2 = rowY(arr, a.r1);
    let lo = Math.min(y1, y2);
    let hi = Math.max(y1, y2);
    const b = labelBox(arr, a);
    if (b) {
      lo = Math.min(lo, b[1]);
      hi = Math.max(hi, b[3]);
    }
    add("arrow", i, lo, hi);
  });
  v.folds.forEach((f, i) => {
    if (arr.rowOn[f.r0] || arr.rowOn[f.r1]) add("fold", i, f.y0 - arr.rowShift[f.r0], f.y1 - arr.rowShift[f.r1]);
  });
  const buckets = new Map();
  items.forEach((item, n) => {
    for (let b = Math.floor(item.y0 / BUCKET); b <= Math.floor(item.y1 / BUCKET); b++) {
      if (!buckets.has(b)) buckets.set(b, []);
      buckets.get(b).push(n);
    }
  });
  return { items, buckets };
}

function labelBox(arr, a) {
  if (!a.bx || a.bx.length < 4) return null;
  if (a.s === a.d || a.at !== "dst") return boxAt(arr, a.bx, a.s, a.r0);
  return boxAt(arr, a.bx, a.d, a.r1);
}

function inWindow(index, y0, y1) {
  const seen = new Set();
  const out = [];
  for (let b = Math.floor(y0 / BUCKET); b <= Math.floor(y1 / BUCKET); b++) {
    for (const n of index.buckets.get(b) || []) {
      if (seen.has(n)) continue;
      seen.add(n);
      const item = index.items[n];
      if (item.y1 >= y0 && item.y0 <= y1) out.push(item);
    }
  }
  // lanes first, then bars, folds, arrows and labels on top
  const order = { fold: 0, lifeline: 1, bar: 2, arrow: 3, call: 4, note: 5, head: 6, end: 7 };
  return out.sort((a, b) => order[a.type] - order[b.type] || a.i - b.i);
}

// -- markers -----------------------------------------------------------------------------------------

function defs(svg, m) {
  // markers in user space: the same size on a thin arrow and on a highlighted (thicker) one
  const d = el("defs", null, svg);
  const size = m.small * 0.6;
  for (const cls of ["msg", "kernel", "packet", "dashed"]) {
    const mk = el(
      "marker",
      { id: "head-" + cls, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: size, markerHeight: size, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" },
      d
    );
    el("path", { d: "M0,0 L10,5 L0,10 z", class: cls }, mk);
    const dot = el("marker", { id: "dot-" + cls, viewBox: "0 0 10 10", refX: 5, refY: 5, markerWidth: size * 0.6, markerHeight: size * 0.6, markerUnits: "userSpaceOnUse" }, d);
    el("circle", { cx: 5, cy: 5, r: 4, class: cls }, dot);
  }
}

function markerOf(kind) {
  if (kind === "in" || kind === "out") return "kernel";
  if (kind === "packet") return "packet";
  if (kind === "fork" || kind === "connect" || kind === "eof") return "dashed";
  return "msg";
}

// -- items ---------------------------------------------------------------------------------------------

function halo(g, box, pad) {
  if (!box) return;
  el("rect", { class: "halo", x: box[0] - pad, y: box[1] - pad, width: box[2] - box[0] + 2 * pad, height: box[3] - box[1] + 2 * pad }, g);
}

function linesInto(g, lines, box, side, m, cls) {
  // lines: [segments, class, key] each; centred on the box, left-aligned on the right side of a lane
  const n = lines.length;
  const cy = (box[1] + box[3]) / 2;
  const right = side !== "left";
  const x = right ? box[0] + m.pad * 0.25 : box[2] - m.pad * 0.25;
  lines.forEach(([segments, lineClass, key, typed], k) => {
    const t = el("text", { x, y: cy - (n * m.line) / 2 + m.line * (k + 0.5), "font-size": m.small, "text-anchor": right ? "start" : "end", class: lineClass || cls }, g);
    segmentsInto(t, segments, key, g.ctx);
    if (typed) el("tspan", { class: "typed" }, t).textContent = typed; // what was typed is given, never hidden
  });
}

function drawHead(ctx, layer, i) {
  const arr = ctx.arr;
  const lane = arr.v.lanes[i];
  const m = arr.v.m;
  const b = boxAt(arr, lane.hb, i, lane.r0);
  if (!b) return;
  const g = el("g", { class: `head ${lane.k} clickable`, "data-t": "lane", "data-i": i }, layer);
  const below = lane.d ? [lane.s, lane.d] : [lane.s]; // the subtitle, and the pid on a line of its own
  el("title", null, g).textContent = `${lane.t} (${below.join(" · ")})`;
  el("rect", { class: "body", x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1] }, g);
  const cx = (b[0] + b[2]) / 2;
  const top = (b[1] + b[3]) / 2 - (m.line * below.length) / 2; // the title's line centre, then one line each
  el("text", { x: cx, y: top, "text-anchor": "middle", "font-size": m.font, class: "title" }, g).textContent = lane.t;
  below.forEach((line, k) => {
    el("text", { x: cx, y: top + m.line * (k + 1), "text-anchor": "middle", "font-size": m.small, class: "muted" }, g).textContent = line;
  });
}

function lifelineBottom(ctx, i) {
  const arr = ctx.arr;
  const v = arr.v;
  const lane = v.lanes[i];
  const cur = ctx.cur;
  const complete = cur >= v.rows.length - 1;
  if (lane.end && (complete || endRow(v, lane) <= cur)) {
    const eb = boxAt(arr, lane.end.b, i, endRow(v, lane));
    if (eb) return (eb[1] + eb[3]) / 2;
  }
  const last = Math.min(lane.r1, cur);
  if (lane.end && lane.end.open && !complete) return rowY(arr, cur) + v.m.line * 0.4;
  return rowY(arr, last);
}

function drawLifeline(ctx, layer, i) {
  const arr = ctx.arr;
  const lane = arr.v.lanes[i];
  const hb = boxAt(arr, lane.hb, i, lane.r0);
  const x = arr.laneX[i];
  const top = hb ? hb[3] : rowY(arr, lane.r0);
  const bottom = lifelineBottom(ctx, i);
  if (bottom <= top) return;
  el("line", { class: `lifeline ${lane.k}`, x1: x, y1: top, x2: x, y2: bottom }, layer);
}

function drawEnd(ctx, layer, i) {
  const arr = ctx.arr;
  const v = arr.v;
  const lane = v.lanes[i];
  const m = v.m;
  const complete = ctx.cur >= v.rows.length - 1;
  if (!(complete || endRow(v, lane) <= ctx.cur) || (lane.end.open && !complete)) return;
  const b = boxAt(arr, lane.end.b, i, endRow(v, lane));
  const g = el("g", { class: `end ${lane.end.k}` }, layer);
  if (lane.end.n) el("title", null, g).textContent = lane.end.n;
  el("rect", { class: "body", x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1] }, g);
  const lines = lane.end.lines;
  const cy = (b[1] + b[3]) / 2;
  lines.forEach((line, k) => {
    el("text", { x: (b[0] + b[2]) / 2, y: cy - (lines.length * m.line) / 2 + m.line * (k + 0.5), "text-anchor": "middle", "font-size": m.small }, g).textContent = line;
  });
}

function drawBar(ctx, layer, i) {
  const arr = ctx.arr;
  const v = arr.v;
  const [lane, r0, r1, kind, label] = v.bars[i];
  if (r0 > ctx.cur) return;
  const m = v.m;
  const complete = ctx.cur >= v.rows.length - 1;
  let shownKind = kind;
  let end = Math.min(r1, ctx.cur);
  let bottom;
  if (kind === "open" && complete) bottom = rowY(arr, v.rows.length - 1) + m.line * 0.8;
  else {
    if (kind === "open") shownKind = "wait";
    bottom = rowY(arr, end) + (kind === "held" ? 0 : m.line * 0.35);
  }
  const top = rowY(arr, r0) - (kind === "held" ? 0 : m.line * 0.35);
  if (bottom <= top) return;
  const w = m.bar * (kind === "held" ? 0.7 : 1);
  const x = arr.laneX[lane];
  const nodes = v.rows[r1][ROW.nodes];
  const g = el("g", { class: `bar ${shownKind} clickable ${ctx.classOf(nodes, "bar", i)}`, "data-t": "bar", "data-i": i }, layer);
  el("title", null, g).textContent = `${kind} ${label}`.trim();
  el("rect", { class: "body", x: x - w / 2, y: top, width: w, height: bottom - top }, g);
}

/** A call's or a note's group (`type` "call" or "note") once the step has reached its row, with its box and
 * the key its text is shown by; null before. */
function labelGroup(ctx, layer, type, i, item, cls) {
  if (item.r > ctx.cur) return null;
  const arr = ctx.arr;
  const b = boxAt(arr, item.bx, item.l, item.r);
  const nodes = arr.v.rows[item.r][ROW.nodes];
  const key = "n" + (nodes.length ? nodes[0] : "r" + item.r);
  const g = el("g", { class: `${cls} clickable ${ctx.classOf(nodes, type, i)}`, "data-t": type, "data-i": i, "data-row": item.r }, layer);
  g.ctx = ctx;
  halo(g, b, 1.5);
  return { g, b, key };
}

function drawCall(ctx, layer, i) {
  const call = ctx.arr.v.calls[i];
  const shown = labelGroup(ctx, layer, "call", i, call, `call ${call.k}${call.mk ? " marked" : ""}`);
  if (!shown) return;
  const { g, b, key } = shown;
  const m = ctx.arr.v.m;
  if (call.mk) el("rect", { class: "mark", x: b[0] - m.pad * 0.1, y: b[1] - m.pad * 0.25, width: b[2] - b[0] + m.pad * 0.2, height: b[3] - b[1] + m.pad * 0.5, rx: m.pad * 0.5 }, g);
  const first = call.k === "error" || call.k === "interrupted" ? "err" : call.h ? "handler-call" : call.k === "enter" ? "enter-call" : "";
  const lines = [[call.t, first, key], ...(call.d || []).map((d) => [[d], "muted", key]), ...(call.mk || []).map((t) => [[[t]], "mark", key])];
  linesInto(g, lines, b, call.side, m, "");
}

function drawNote(ctx, layer, i) {
  const note = ctx.arr.v.notes[i];
  const fds = note.lines.length && note.lines[0][1] === "fds";
  const shown = labelGroup(ctx, layer, "note", i, note, `note${fds ? " fds" : ""}`);
  if (!shown) return;
  const { g, b, key } = shown;
  const m = ctx.arr.v.m;
  el("rect", { class: "body", x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1] }, g);
  const inner = [b[0] + m.pad * 0.75, b[1], b[2] - m.pad * 0.75, b[3]];
  // each line: what was printed, then what was typed (given, never hidden), its ⌨ already in the text
  const lines = note.lines.map(([text, kind, typed]) => [[text], kind === "err" ? "err" : kind === "fds" ? "muted" : kind === "in" ? "typed" : "", key, typed]);
  linesInto(g, lines, inner, "right", m, "");
}

function arrowKey(v, a) {
  if (a.fl.length) return "f" + a.fl[0];
  const nodes = v.rows[a.r0][ROW.nodes];
  return "n" + (nodes.length ? nodes[0] : a.id);
}

function drawArrow(ctx, layer, i) {
  const arr = ctx.arr;
  const v = arr.v;
  const a = v.arrows[i];
  if (Math.max(a.r0, a.r1) > ctx.cur) return;
  const m = v.m;
  const nodes = [...v.rows[a.r0][ROW.nodes], ...v.rows[a.r1][ROW.nodes]];
  const g = el("g", { class: `arrow ${a.k}${a.mk ? " marked" : ""} clickable ${ctx.classOf(nodes, "arrow", i)}`, "data-t": "arrow", "data-i": i, id: "a-" + a.id }, layer);
  g.ctx = ctx;
  el("title", null, g).textContent = a.title || plain(a.lab);
  const marker = markerOf(a.k);
  const y1 = rowY(arr, a.r0);
  const y2 = rowY(arr, a.r1);
  let d;
  if (a.s === a.d && a.k === "msg") {
    const x = arr.laneX[a.s];
    const side = a.side === "left" ? -1 : 1;
    const half = m.bar / 2;
    const reach = m.line * 1.8;
    d = `M${x + side * half},${y1} C${x + side * reach},${y1} ${x + side * reach},${y2} ${x + side * half},${y2}`;
  } else {
    const x1 = a.xy[0] + arr.dx[a.s];
    const x2 = a.xy[2] + arr.dx[a.d];
    d = `M${x1},${y1} L${x2},${y2}`;
  }
  el("path", { class: "hit", d }, g);
  const shaft = el("path", { class: "shaft", d }, g);
  if (a.k === "lost") shaft.setAttribute("marker-end", `url(#dot-${marker})`);
  else shaft.setAttribute("marker-end", `url(#head-${marker})`);
  if (a.k === "found") shaft.setAttribute("marker-start", `url(#dot-${marker})`);
  const b = labelBox(arr, a);
  if (!b || (!a.lab.length && !a.det)) return;
  const label = el("g", { class: "label" }, g);
  label.ctx = ctx;
  halo(label, b, 1);
  const cx = (b[0] + b[2]) / 2;
  const cy = (b[1] + b[3]) / 2;
  const key = arrowKey(v, a);
  const dashed = a.k === "fork" || a.k === "connect" || a.k === "eof";
  const payloadClass = dashed ? "dashed-label" : `payload ${a.k}${a.k === "packet" ? "" : " mono"}`;
  if (a.stk) {
    const t1 = el("text", { x: cx, y: cy - m.line * 0.5, "text-anchor": "middle", "font-size": a.fs, class: payloadClass }, label);
    segmentsInto(t1, a.lab, key, ctx);
    el("text", { x: cx, y: cy + m.line * 0.5, "text-anchor": "middle", "font-size": m.small, class: "muted" }, label).textContent = a.det;
  } else {
    const t = el("text", { x: cx, y: cy, "text-anchor": "middle", "font-size": dashed ? m.small : a.fs, class: payloadClass }, label);
    segmentsInto(t, a.lab, key, ctx);
    if (a.det) {
      const det = el("tspan", { class: "muted", "font-size": m.small, dx: a.lab.length ? m.pad : 0 }, t);
      det.textContent = a.det;
    }
  }
}

function drawFold(ctx, layer, i) {
  const arr = ctx.arr;
  const v = arr.v;
  const f = v.folds[i];
  if (f.r0 > ctx.cur) return;
  const m = v.m;
  const y0 = f.y0 - arr.rowShift[f.r0];
  const y1 = f.y1 - arr.rowShift[Math.min(f.r1, ctx.cur)];
  const g = el("g", { class: "fold" }, layer);
  el("title", null, g).textContent = `${f.lab}: ${f.det}`;
  const left = m.pad;
  const right = arr.width - m.pad;
  el("rect", { class: "box", x: left, y: y0, width: right - left, height: Math.max(y1 - y0, m.line) }, g);
  const tabW = f.lab.length * m.font * 0.68 + 2 * m.pad;
  el("rect", { class: "tab", x: left, y: y0, width: tabW, height: m.line * 1.1 }, g);
  el("text", { class: "tab-label", x: left + m.pad, y: y0 + m.line * 0.55, "font-size": m.font }, g).textContent = f.lab;
  f.lines.forEach((line, k) => {
    el("text", { class: "muted", x: left + tabW + m.pad, y: y0 + m.pad * 0.3 + m.line * (k + 0.5), "font-size": m.small }, g).textContent = line;
  });
}

const DRAW = { head: drawHead, lifeline: drawLifeline, end: drawEnd, bar: drawBar, call: drawCall, note: drawNote, arrow: drawArrow, fold: drawFold };

/** The items of the window [y0, y1] (points) for the current step, selection and filters, into `layer`. */
function drawWindow(ctx, layer, index, y0, y1) {
  const v = ctx.arr.v;
  for (const item of inWindow(index, y0, y1)) {
    if (item.type === "head" || item.type === "lifeline" || item.type === "end") {
      if (v.lanes[item.i].r0 > ctx.cur) continue;
    }
    DRAW[item.type](ctx, layer, item.i);
  }
}

/** The band of the current step, across the drawing. */
function drawNow(ctx, layer) {
  const arr = ctx.arr;
  const v = arr.v;
  if (ctx.cur < 0 || ctx.cur >= v.rows.length || ctx.complete) return;
  const y = rowY(arr, ctx.cur);
  el("rect", { class: "now", x: v.x0, y: y - v.m.line * 0.75, width: arr.width - v.x0, height: v.m.line * 1.5 }, layer);
}

/** Lanes to click when predicting the next arrow: one column each. */
function drawTargets(ctx, layer) {
  const arr = ctx.arr;
  const v = arr.v;
  const order = v.lanes.map((lane, i) => i).filter((i) => arr.states[i] !== "hidden" && v.lanes[i].r0 <= ctx.cur);
  order.sort((a, b) => arr.laneX[a] - arr.laneX[b]);
  order.forEach((i, k) => {
    const x = arr.laneX[i];
    const left = k > 0 ? (x + arr.laneX[order[k - 1]]) / 2 : v.x0;
    const right = k + 1 < order.length ? (x + arr.laneX[order[k + 1]]) / 2 : arr.width;
    const r = el("rect", { class: "target", x: left, y: 0, width: Math.max(right - left, 10), height: arr.height, "data-t": "target", "data-i": i }, layer);
    el("title", null, r).textContent = v.lanes[i].t;
  });
}

/** The titles of the lanes whose heads are above the window, in a strip that stays at the top. */
function drawStickyHeads(ctx, svg, top, zoom) {
  const arr = ctx.arr;
  const v = arr.v;
  const m = v.m;
  svg.textContent = "";
  const h = m.line * 1.4;
  svg.setAttribute("width", (arr.width - v.x0) * zoom);
  svg.setAttribute("height", h * zoom);
  svg.setAttribute("viewBox", `${v.x0} 0 ${arr.width - v.x0} ${h}`);
  svg.style.marginBottom = -h * zoom + "px";
  let any = false;
  const g = el("g", null, svg);
  // a band of the page's colour under the heads: what scrolls beneath them is hidden, not drawn through them
  el("rect", { class: "band", x: v.x0, y: 0, width: arr.width - v.x0, height: h }, g);
  el("line", { class: "band-edge", x1: v.x0, y1: h - 0.5, x2: arr.width, y2: h - 0.5 }, g);
  v.lanes.forEach((lane, i) => {
    if (arr.states[i] === "hidden" || lane.r0 > ctx.cur) return;
    const hb = boxAt(arr, lane.hb, i, lane.r0);
    if (!hb || hb[3] > top) return;
    const ended = lane.end && !lane.end.open ? boxAt(arr, lane.end.b, i, endRow(v, lane)) : null;
    if (ended && ended[1] < top) return;
    any = true;
    const w = hb[2] - hb[0];
    const box = el("g", { class: `head ${lane.k}` }, g);
    el("rect", { class: "body", x: arr.laneX[i] - w / 2, y: 1, width: w, height: h - 2 }, box);
    el("text", { x: arr.laneX[i], y: h / 2, "text-anchor": "middle", "font-size": m.small, class: "title" }, box).textContent = lane.t;
  });
  svg.style.visibility = any ? "visible" : "hidden";
}
