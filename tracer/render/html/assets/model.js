// model.js — the embedded run: its words, its causal graph, and each view arranged under the filters.
//
// DATA is written by ipctrace (tracer/render/html): `nodes` (every event and packet, numbered by its place
// in the causal order), `causes` (each node's direct causes), `flows` (bytes from one send to one receive)
// and `views` (the layout of each view, in points, y down, as the SVG draws it).

let DATA = null;
let NODES = null;
let FLOWS = null;
let CAUSES = null;
const DATA_ARROWS = new Set(["msg", "in", "out", "packet"]); // what "predict the next arrow" asks about

/** Base64 to bytes, without a callback per byte (the data of a large run is megabytes). */
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The embedded data: plain JSON, or (a large run) gzipped JSON that the browser itself unpacks. */
async function loadData() {
  const holder = document.getElementById("ipctrace-data");
  let text = holder.textContent;
  if (holder.dataset.encoding === "gzip+base64") {
    if (typeof DecompressionStream === "undefined") {
      throw new Error("this run is large, and its data is packed: open the page in a browser from 2023 or later");
    }
    const stream = new Blob([fromBase64(text.trim())]).stream().pipeThrough(new DecompressionStream("gzip"));
    text = await new Response(stream).text();
  }
  DATA = JSON.parse(text);
  NODES = DATA.nodes;
  FLOWS = DATA.flows;
  CAUSES = DATA.causes;
  for (const node of NODES) {
    if (node.k === "e") node.who = DATA.names[node.pid] || String(node.pid);
  }
}

function word(key, values) {
  let text = DATA.words[key] || key;
  if (values) {
    for (const name of Object.keys(values)) text = text.split("{" + name + "}").join(String(values[name]));
  }
  return text;
}

// -- the happens-before graph ----------------------------------------------------------------------------

let effectsOf = null;

function effects() {
  if (effectsOf === null) {
    effectsOf = CAUSES.map(() => []);
    CAUSES.forEach((causes, node) => causes.forEach((cause) => effectsOf[cause].push(node)));
  }
  return effectsOf;
}

function reach(start, edges) {
  const seen = new Set();
  const stack = Array.from(start);
  while (stack.length) {
    const node = stack.pop();
    for (const next of edges[node]) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return seen;
}

/** Everything that happened before `nodes` (their causal past) and everything they influenced. */
function causal(nodes) {
  const sel = new Set(nodes);
  const past = reach(nodes, CAUSES);
  const future = reach(nodes, effects());
  for (const n of sel) {
    past.delete(n);
    future.delete(n);
  }
  return { sel, past, future };
}

// -- views ---------------------------------------------------------------------------------------------

const ROW = { kind: 0, lane: 1, nodes: 2, y: 3, top: 4, bottom: 5, band: 6 };
const prepared = {};

/** A view's layout with the look-ups the page needs, made once per view. */
function view(name) {
  if (prepared[name]) return prepared[name];
  const v = DATA.views[name];
  v.name = name;
  // fields the file leaves out when they have their usual value
  for (const a of v.arrows) {
    a.lab = a.lab || [];
    a.det = a.det || "";
    a.fl = a.fl || [];
    a.pk = a.pk === undefined ? -1 : a.pk;
    a.bx = a.bx || [];
    a.stk = Boolean(a.stk);
    a.fs = a.fs || v.m.font;
    a.side = a.side || "right";
    a.at = a.at || "src";
  }
  for (const c of v.calls) {
    c.d = c.d || [];
    c.k = c.k || "call";
    c.side = c.side || "right";
    c.h = c.h || "";
  }
  for (const note of v.notes) note.side = note.side || "right";
  v.rowOfNode = new Map();
  v.rows.forEach((row, i) => {
    for (const n of row[ROW.nodes]) {
      if (row[ROW.kind] !== "enter" || !v.rowOfNode.has(n)) v.rowOfNode.set(n, i);
    }
  });
  v.endsAt = v.rows.map(() => []); // arrows whose later end is at a row
  v.touches = v.rows.map(() => []); // arrows with an end at a row
  v.arrows.forEach((a, i) => {
    v.endsAt[Math.max(a.r0, a.r1)].push(i);
    v.touches[a.r0].push(i);
    if (a.r1 !== a.r0) v.touches[a.r1].push(i);
  });
  v.callsAt = v.rows.map(() => []);
  v.calls.forEach((c, i) => v.callsAt[c.r].push(i));
  v.notesAt = v.rows.map(() => []);
  v.notes.forEach((note, i) => v.notesAt[note.r].push(i));
  v.foldAt = v.rows.map(() => -1);
  v.folds.forEach((f, i) => {
    for (let r = f.r0; r <= f.r1; r++) v.foldAt[r] = i;
  });
  prepared[name] = v;
  return v;
}

function laneState(filters, lane) {
  return filters.lanes[lane.id] || "shown";
}

function isPureAck(v, arrow) {
  return arrow.k === "packet" && arrow.pk >= 0 && NODES[arrow.pk].pure_ack === true;
}

/**
 * A view arranged under the filters: which rows and arrows are shown, where lanes and rows now are.
 * Hidden lanes leave no column, collapsed ones a narrow one; rows no one sees give their height back.
 */
function arrange(v, filters) {
  const m = v.m;
  const states = v.lanes.map((lane) => laneState(filters, lane));
  const arrowOn = v.arrows.map(
    (a) => states[a.s] !== "hidden" && states[a.d] !== "hidden" && !(filters.hideAcks && isPureAck(v, a))
  );
  const touched = v.rows.map(() => false);
  v.arrows.forEach((a, i) => {
    if (arrowOn[i]) touched[a.r0] = touched[a.r1] = true;
  });
  const rowOn = v.rows.map((row, i) => {
    const state = states[row[ROW.lane]];
    if (state === "hidden") return false;
    if (row[ROW.kind] === "packet") {
      const node = NODES[row[ROW.nodes][0]];
      if (filters.hideAcks && node && node.pure_ack) return false;
    }
    if (state === "collapsed") return touched[i] || row[ROW.kind] === "head" || row[ROW.kind] === "exit";
    return true;
  });
  // vertical: a band nobody sees gives back its height (the distance to the next band's top)
  const bandTop = new Map();
  const bandOn = new Map();
  v.rows.forEach((row, i) => {
    const band = row[ROW.band];
    bandTop.set(band, Math.min(bandTop.has(band) ? bandTop.get(band) : Infinity, row[ROW.top]));
    bandOn.set(band, (bandOn.get(band) || false) || rowOn[i]);
  });
  const bands = Array.from(bandTop.keys()).sort((a, b) => bandTop.get(a) - bandTop.get(b));
  const shift = new Map();
  let removed = 0;
  bands.forEach((band, k) => {
    shift.set(band, removed);
    if (!bandOn.get(band)) {
      const next = k + 1 < bands.length ? bandTop.get(bands[k + 1]) : v.y1;
      removed += Math.max(0, next - bandTop.get(band));
    }
  });
  const rowShift = v.rows.map((row) => shift.get(row[ROW.band]) || 0);
  // horizontal: columns by x; a hidden column gives back the gap to its right, a collapsed one most of it
  const xs = Array.from(new Set(v.lanes.map((lane) => lane.x))).sort((a, b) => a - b);
  const colState = xs.map((x) => {
    const here = v.lanes.map((lane, i) => [lane, states[i]]).filter(([lane]) => lane.x === x);
    if (here.every(([, s]) => s === "hidden")) return "hidden";
    if (here.every(([, s]) => s !== "shown")) return "collapsed";
    return "shown";
  });
  const newX = new Map();
  let pos = xs.length ? xs[0] : 0;
  xs.forEach((x, k) => {
    newX.set(x, pos);
    const gap = k + 1 < xs.length ? xs[k + 1] - x : 0;
    if (colState[k] === "shown") pos += gap;
    else if (colState[k] === "collapsed") pos += Math.min(gap, m.small * 6);
  });
  // the right edge: the room right of the last column still shown (its labels), up to what the last one had
  let k = xs.length - 1;
  while (k > 0 && colState[k] === "hidden") k--;
  const tail = xs.length ? v.w - xs[xs.length - 1] : v.w;
  const room = k === xs.length - 1 ? tail : Math.min(xs[k + 1] - xs[k], Math.max(tail, m.small * 10));
  const width = Math.max(200, xs.length ? newX.get(xs[k]) + room : v.w);
  const laneX = v.lanes.map((lane) => newX.get(lane.x));
  const dx = v.lanes.map((lane, i) => laneX[i] - lane.x);
  const height = v.y1 - removed - v.y0;
  const steps = [];
  rowOn.forEach((on, i) => {
    if (on) steps.push(i);
  });
  return { v, states, arrowOn, rowOn, rowShift, laneX, dx, width, height, steps };
}

/** The row where a node is drawn in this view (a call that waited: where it returned), or -1. */
function rowOf(v, node) {
  return v.rowOfNode.has(node) ? v.rowOfNode.get(node) : -1;
}

/**
 * What an arrangement shows once `cur` is revealed (for switching views): the nodes drawn as done, the calls
 * only entered (a read still waiting), every node the arrangement draws at all, and the first it has not shown.
 */
function shownUpTo(arr, cur) {
  const done = new Set();
  const entered = new Set();
  const all = new Set();
  arr.v.rows.forEach((row, i) => {
    if (!arr.rowOn[i]) return;
    const enter = row[ROW.kind] === "enter";
    for (const n of row[ROW.nodes]) {
      all.add(n);
      if (i <= cur) (enter ? entered : done).add(n);
    }
  });
  let first = Infinity;
  for (const n of all) if (!done.has(n) && n < first) first = n;
  return { done, entered, all, first };
}

/**
 * The last step of `arr` that shows nothing `shown` had not: switching views never gives an answer away
 * (a call one view draws where it began and the other where it returned, a packet only one view has).
 */
function stepShowing(arr, shown) {
  let stop = arr.v.rows.length;
  for (let i = 0; i < arr.v.rows.length && stop === arr.v.rows.length; i++) {
    if (!arr.rowOn[i]) continue;
    const row = arr.v.rows[i];
    const enter = row[ROW.kind] === "enter";
    const seen = (n) => shown.done.has(n) || (enter && shown.entered.has(n)) || (!shown.all.has(n) && n < shown.first);
    if (!row[ROW.nodes].every(seen)) stop = i;
  }
  let step = 0;
  arr.steps.forEach((row, k) => {
    if (row < stop) step = k;
  });
  return step;
}
