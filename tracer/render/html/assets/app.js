// app.js — the page's state and what changes it: the steps, the exercise's guesses, the selection and its
// causal highlight; and the start. It runs last: screen.js draws the state, controls.js wires the input.
//
// One state object; every change goes through `update()`, which arranges the view (when filters changed),
// redraws the part of the diagram on screen, the narration and the details, and writes the step into the
// URL fragment (`#step=7`, `&view=kernel`), so a slide can link to a step.

const $ = (id) => document.getElementById(id);
const THEMES = ["light", "dark", "print"];
const VIEWS = ["processes", "kernel", "packets"];

const state = {
  view: "processes", // and the theme: the run's own, once its data is read
  step: -1, // index into the arranged view's steps (visible rows); -1 until the first update
  exercise: false,
  revealed: new Set(),
  sel: null, // {type, i, nodes, sel, past, future}
  query: "",
  matches: new Set(), // flows whose bytes hold the query
  predict: null, // {step, lane, arrow}: waiting for a guess before a message is shown
  verdict: null, // what the last guess got: {right, text}
  presenter: false,
  theme: "light",
  zoom: 1,
  filters: { lanes: {}, hideAcks: false },
};

const app = {
  state,
  arr: null,
  index: null,
  hidden: (key) => state.exercise && !state.revealed.has(key),
  select,
  selectNode,
};

// -- steps -------------------------------------------------------------------------------------------

function stepCount() {
  return app.arr.steps.length;
}

function currentRow() {
  const steps = app.arr.steps;
  if (!steps.length) return -1;
  if (state.step >= steps.length - 1) return app.arr.v.rows.length - 1; // the last step shows everything
  return steps[Math.max(state.step, 0)];
}

function dataArrowAt(row) {
  const v = app.arr.v;
  for (const i of v.endsAt[row] || []) {
    const a = v.arrows[i];
    if (app.arr.arrowOn[i] && DATA_ARROWS.has(a.k)) return i;
  }
  return -1;
}

function goTo(step, options) {
  const n = stepCount();
  if (!n) return;
  const target = Math.max(0, Math.min(n - 1, step));
  const forward = target === state.step + 1;
  if (state.exercise && forward && !(options && options.noPredict) && state.predict === null) {
    const row = app.arr.steps[target];
    const arrow = dataArrowAt(row);
    if (arrow >= 0) {
      state.predict = { step: target, lane: app.arr.v.arrows[arrow].d, arrow };
      state.verdict = null;
      update();
      return;
    }
  }
  state.predict = null;
  if (!(options && options.keepVerdict)) state.verdict = null;
  state.step = target;
  update({ scroll: true });
}

function next() {
  if (state.predict) {
    goTo(state.predict.step, { noPredict: true });
    return;
  }
  goTo(state.step + 1);
}

/** The whole run, scrolled to its end: where the last step (its sentence) is. */
function toEnd() {
  goTo(stepCount() - 1, { noPredict: true });
  const scroller = $("scroller");
  scroller.scrollTop = scroller.scrollHeight;
}

function prev() {
  state.predict = null;
  goTo(state.step - 1, { noPredict: true });
}

function guess(lane) {
  const p = state.predict;
  if (!p) return;
  const v = app.arr.v;
  const right = lane === p.lane;
  const answer = v.lanes[p.lane].t;
  state.verdict = {
    right,
    text: right ? word("predict_right", { lane: answer }) : word("predict_wrong", { lane: answer, guess: v.lanes[lane].t }),
  };
  goTo(p.step, { noPredict: true, keepVerdict: true });
}

// -- selection and the causal highlight ------------------------------------------------------------------

function nodesOf(type, i) {
  const v = app.arr.v;
  if (type === "call") return v.rows[v.calls[i].r][ROW.nodes];
  if (type === "note") return v.rows[v.notes[i].r][ROW.nodes];
  if (type === "bar") return v.rows[v.bars[i][2]][ROW.nodes];
  if (type === "arrow") {
    const a = v.arrows[i];
    if (a.pk >= 0) return [a.pk];
    return Array.from(new Set([...v.rows[a.r0][ROW.nodes], ...v.rows[a.r1][ROW.nodes]]));
  }
  return [];
}

function select(type, i) {
  if (type === null) {
    state.sel = null;
  } else {
    const nodes = nodesOf(type, i);
    state.sel = { type, i, nodes, ...causal(nodes) };
  }
  update();
}

function selectNode(n) {
  const v = app.arr.v;
  const row = rowOf(v, n);
  if (row < 0) {
    state.sel = { type: "node", i: n, nodes: [n], ...causal([n]) };
    update();
    return;
  }
  const call = v.callsAt[row][0];
  if (call !== undefined) {
    select("call", call);
    return;
  }
  const arrow = v.touches[row][0];
  if (arrow !== undefined) {
    select("arrow", arrow);
    return;
  }
  state.sel = { type: "node", i: n, nodes: [n], ...causal([n]) };
  update();
}

/** The classes of an item: its place in the causal highlight, the current step, a search match. */
function classOf(nodes, type, i) {
  const classes = [];
  const sel = state.sel;
  if (sel) {
    const own = sel.type === type && sel.i === i;
    if (own || (type !== "arrow" && nodes.some((n) => sel.sel.has(n)))) classes.push("sel");
    else if (type === "arrow") {
      const v = app.arr.v;
      const a = v.arrows[i];
      const starts = a.pk >= 0 ? [a.pk] : v.rows[a.r0][ROW.nodes];
      const ends = a.pk >= 0 ? [a.pk] : v.rows[a.r1][ROW.nodes];
      if (ends.every((n) => sel.past.has(n) || sel.sel.has(n)) && starts.every((n) => sel.past.has(n) || sel.sel.has(n))) classes.push("past");
      else if (starts.every((n) => sel.future.has(n) || sel.sel.has(n)) && ends.every((n) => sel.future.has(n))) classes.push("future");
      else classes.push("dim");
    } else if (nodes.length && nodes.every((n) => sel.past.has(n))) classes.push("past");
    else if (nodes.length && nodes.every((n) => sel.future.has(n))) classes.push("future");
    else classes.push("dim");
  }
  const cur = currentRow();
  if (!app.complete && cur >= 0) {
    const v = app.arr.v;
    const atRow =
      (type === "call" && v.calls[i].r === cur) ||
      (type === "note" && v.notes[i].r === cur) ||
      (type === "arrow" && Math.max(v.arrows[i].r0, v.arrows[i].r1) === cur);
    if (atRow) classes.push("current");
  }
  if (type === "arrow" && state.matches.size && app.arr.v.arrows[i].fl.some((f) => state.matches.has(f))) classes.push("match");
  return classes.join(" ");
}

// -- one update for every change -------------------------------------------------------------------------------

function update(options) {
  ensureArranged();
  const v = app.arr.v;
  document.body.classList.toggle("exercise", state.exercise);
  document.body.classList.toggle("presenter", state.presenter);
  document.body.classList.toggle("selecting", state.sel !== null);
  $("exercise").setAttribute("aria-pressed", String(state.exercise));
  $("presenter").setAttribute("aria-pressed", String(state.presenter));
  for (const b of $("views").children) b.classList.toggle("active", b.getAttribute("data-view") === state.view);
  $("acks-label").hidden = state.view !== "packets";
  $("subtitle").textContent = [v.subtitle, v.ending].filter(Boolean).join(" · ");
  const count = state.query ? matchingSteps().length : 0;
  $("search-count").textContent = state.query ? (count ? word("matches", { n: count }) : word("no_match")) : "";
  app.complete = state.step >= stepCount() - 1;
  if (options && options.scroll) {
    draw(); // the zoom may change with the mode: draw once to know it, then scroll and draw the window
    scrollToCurrent();
  }
  draw();
  narrate();
  fillDetails($("details"), app);
  writeFragment();
}

function start() {
  state.view = VIEWS.includes(DATA.view) ? DATA.view : "processes";
  state.theme = THEMES.includes(DATA.theme) ? DATA.theme : "light";
  $("title").textContent = DATA.title;
  $("caption").textContent = DATA.caption;
  document.title = DATA.title;
  applyTheme();
  controls();
  readFragment();
  update({ scroll: true });
}

loadData()
  .then(() => {
    start();
    // exposed for tests and for a lecturer's console: the state and a few actions
    window.ipctrace = { state, app, goTo, next, prev, select, setView, toggleExercise, guess, view, stepCount, currentRow, nodesOf };
    document.body.dataset.ready = "true";
    if (window.performance && performance.mark) performance.mark("ipctrace-drawn");
  })
  .catch((error) => {
    document.getElementById("sentence").textContent = "ipctrace: " + error.message;
    document.body.dataset.ready = "failed";
  });
