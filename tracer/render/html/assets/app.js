// app.js — the page: steps, views, filters, the causal highlight, exercise and presenter modes.
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

// -- drawing -----------------------------------------------------------------------------------------

let arranged = null; // the filters the arrangement was made for

function ensureArranged() {
  const key = JSON.stringify([state.view, state.filters]);
  if (arranged === key) return;
  const previous = app.arr;
  const v = view(state.view);
  const shown = previous && state.step >= 0 ? shownUpTo(previous, currentRowOf(previous)) : null;
  const wasLast = previous && state.step >= previous.steps.length - 1;
  app.arr = arrange(v, state.filters);
  app.index = indexItems(app.arr);
  arranged = key;
  if (shown) state.step = wasLast ? app.arr.steps.length - 1 : stepShowing(app.arr, shown);
}

function currentRowOf(arr) {
  if (state.step >= arr.steps.length - 1) return arr.v.rows.length - 1;
  return arr.steps[Math.max(state.step, 0)];
}

function fitZoom() {
  const scroller = $("scroller");
  const fit = (scroller.clientWidth - 8) / (app.arr.width - app.arr.v.x0);
  const base = Math.max(0.55, Math.min(state.presenter ? 2.4 : 1.6, fit));
  return state.presenter ? Math.max(base, 1.15) : base;
}

function draw() {
  const arr = app.arr;
  const v = arr.v;
  const svg = $("diagram");
  const scroller = $("scroller");
  state.zoom = fitZoom() * (state.zoomBy || 1);
  const z = state.zoom;
  const height = arr.height;
  const width = arr.width - v.x0;
  svg.setAttribute("viewBox", `${v.x0} ${v.y0} ${width} ${height}`);
  svg.setAttribute("width", Math.round(width * z));
  svg.setAttribute("height", Math.round(height * z));
  svg.textContent = "";
  defs(svg, v.m);
  const cur = currentRow();
  app.complete = state.step >= stepCount() - 1;
  const ctx = { arr, cur, complete: app.complete, hidden: app.hidden, classOf };
  const top = v.y0 + scroller.scrollTop / z;
  const bottom = top + scroller.clientHeight / z;
  const margin = (bottom - top) * 0.5 + 50;
  const layer = el("g", { class: state.predict ? "predicting" : "" }, svg);
  drawNow(ctx, layer);
  drawWindow(ctx, layer, app.index, top - margin, bottom + margin);
  if (state.predict) drawTargets(ctx, layer);
  drawStickyHeads(ctx, $("heads"), top + v.m.line * 1.4, z);
  app.ctx = ctx;
  app.drawn = [top - margin, bottom + margin];
}

/** The window on screen, in points of the drawing. */
function windowNow() {
  const scroller = $("scroller");
  const top = app.arr.v.y0 + scroller.scrollTop / state.zoom;
  return [top, top + scroller.clientHeight / state.zoom];
}

/** After a scroll: the sticky heads again, and the diagram only when the window left what is drawn. */
function onScrolled() {
  const [top, bottom] = windowNow();
  if (app.drawn && top >= app.drawn[0] && bottom <= app.drawn[1]) {
    drawStickyHeads(app.ctx, $("heads"), top + app.arr.v.m.line * 1.4, state.zoom);
  } else {
    draw();
  }
}

function scrollToCurrent() {
  const arr = app.arr;
  const cur = currentRow();
  if (cur < 0 || app.complete) return;
  const scroller = $("scroller");
  const y = (rowY(arr, cur) - arr.v.y0) * state.zoom;
  const view = scroller.clientHeight;
  if (y < scroller.scrollTop + view * 0.15 || y > scroller.scrollTop + view * 0.8) {
    scroller.scrollTop = Math.max(0, y - view * 0.45);
  }
}

// -- the narration, the counter, the URL -------------------------------------------------------------------

function sentenceOf(row) {
  const v = app.arr.v;
  const [kind, lane, nodes] = v.rows[row];
  const out = [];
  if (kind === "head" && !nodes.length) return [[`${v.lanes[lane].t}`], ""];
  const told = nodes.filter((n) => !NODES[n].blank);
  (told.length ? told : nodes).forEach((n, k) => {
    const node = NODES[n];
    const said = kind === "enter" && node.enter ? node.enter : node.say;
    if (k) out.push("; ");
    out.push(...said);
  });
  const fold = v.foldAt[row];
  if (fold >= 0) out.push(` — ${v.folds[fold].det}`);
  return [out, "n" + (nodes.length ? nodes[0] : "r" + row)];
}

function narrate() {
  const n = stepCount();
  const label = $("step-label");
  const sentence = $("sentence");
  sentence.textContent = "";
  if (!n) {
    label.textContent = word("no_steps");
    return;
  }
  label.textContent = word("step_label", { i: state.step + 1, n }) + ":";
  const [segments, key] = sentenceOf(app.arr.steps[state.step]);
  sentence.appendChild(segmentsHtml(segments, key, app));
  $("counter").textContent = `${word("step")} ${state.step + 1} ${word("of")} ${n}`;
  const predict = $("predict");
  if (state.predict) {
    predict.hidden = false;
    predict.className = "";
    predict.textContent = word("predict");
  } else if (state.verdict) {
    predict.hidden = false;
    predict.className = state.verdict.right ? "right" : "wrong";
    predict.textContent = state.verdict.text;
  } else {
    predict.hidden = true;
  }
}

function writeFragment() {
  const parts = [`step=${state.step + 1}`];
  if (state.view !== DATA.view) parts.push(`view=${state.view}`);
  if (state.exercise) parts.push("exercise");
  const hash = "#" + parts.join("&");
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function readFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (params.has("view") && VIEWS.includes(params.get("view"))) state.view = params.get("view");
  if (params.has("exercise")) state.exercise = true;
  ensureArranged();
  const n = stepCount();
  const step = parseInt(params.get("step") || "", 10);
  state.step = Number.isFinite(step) ? Math.max(0, Math.min(n - 1, step - 1)) : n - 1;
}

// -- controls ---------------------------------------------------------------------------------------

function applyTheme() {
  const theme = DATA.themes[state.theme];
  const root = document.documentElement.style;
  for (const name of Object.keys(theme)) root.setProperty("--" + name, theme[name]);
  document.documentElement.dataset.theme = state.theme;
  $("theme").textContent = `${word("theme")}: ${word("theme_" + state.theme)}`;
}

function lanesPanel() {
  const panel = $("lanes-panel");
  panel.textContent = "";
  const v = app.arr.v;
  v.lanes.forEach((lane) => {
    const select = h("select", { "data-lane": lane.id });
    for (const choice of ["shown", "collapsed", "hidden"]) {
      const option = h("option", { value: choice }, word(choice));
      if ((state.filters.lanes[lane.id] || "shown") === choice) option.selected = true;
      select.appendChild(option);
    }
    select.addEventListener("change", () => {
      state.filters.lanes[lane.id] = select.value;
      update();
    });
    panel.appendChild(h("label", null, lane.t + " ", select));
  });
}

function controls() {
  const views = $("views");
  VIEWS.forEach((name, k) => {
    const b = h("button", { type: "button", "data-view": name, title: `${word("views")} (${k + 1})` }, word("view_" + name));
    b.addEventListener("click", () => setView(name));
    views.appendChild(b);
  });
  $("first").title = word("first");
  $("prev").title = word("prev");
  $("next").title = word("next");
  $("last").title = word("last");
  $("first").addEventListener("click", () => goTo(0, { noPredict: true }));
  $("prev").addEventListener("click", prev);
  $("next").addEventListener("click", next);
  $("last").addEventListener("click", toEnd);
  $("exercise").textContent = word("exercise");
  $("exercise").title = word("exercise_on");
  $("exercise").addEventListener("click", toggleExercise);
  $("presenter").textContent = word("presenter");
  $("presenter").addEventListener("click", togglePresenter);
  $("theme").addEventListener("click", cycleTheme);
  $("lanes-button").textContent = word("lanes") + " ▾";
  $("lanes-button").addEventListener("click", () => {
    const panel = $("lanes-panel");
    panel.hidden = !panel.hidden;
    $("lanes-button").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) lanesPanel();
  });
  $("acks-label").querySelector("span").textContent = word("hide_acks");
  $("hide-acks").addEventListener("change", (e) => {
    state.filters.hideAcks = e.target.checked;
    update();
  });
  const search = $("search");
  search.placeholder = word("search");
  search.addEventListener("input", () => setQuery(search.value));
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      nextMatch();
    } else if (e.key === "Escape") {
      search.value = "";
      setQuery("");
      search.blur();
    }
  });
  $("diagram").addEventListener("click", onDiagramClick);
  $("details").addEventListener("click", onReveal);
  $("narration").addEventListener("click", onReveal);
  $("diagram").addEventListener("mouseover", onHover);
  let pending = false;
  $("scroller").addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      onScrolled();
    });
  });
  window.addEventListener("resize", () => update());
  window.addEventListener("hashchange", () => {
    const before = [state.step, state.view];
    readFragment();
    if (before[0] !== state.step || before[1] !== state.view) update({ scroll: true });
  });
  document.addEventListener("keydown", onKey);
  // a clicked control keeps no focus, so space and the arrow keys go on stepping
  for (const b of document.querySelectorAll("#controls button")) b.addEventListener("mousedown", (e) => e.preventDefault());
}

function setView(name) {
  if (name === state.view) return;
  state.view = name;
  state.sel = null;
  state.predict = null;
  update({ scroll: true });
  if (!$("lanes-panel").hidden) lanesPanel();
}

function toggleExercise() {
  state.exercise = !state.exercise;
  state.predict = null;
  state.verdict = null;
  update();
}

function togglePresenter() {
  state.presenter = !state.presenter;
  if (state.presenter && document.documentElement.requestFullscreen && !document.fullscreenElement) {
    document.documentElement.requestFullscreen().catch(() => {});
  } else if (!state.presenter && document.fullscreenElement && document.exitFullscreen) {
    document.exitFullscreen().catch(() => {});
  }
  update({ scroll: true });
}

function cycleTheme() {
  state.theme = THEMES[(THEMES.indexOf(state.theme) + 1) % THEMES.length];
  applyTheme();
}

function setQuery(text) {
  state.query = text.trim().toLowerCase();
  state.matches = new Set();
  if (state.query) {
    FLOWS.forEach((f, i) => {
      if (f.lower === undefined) f.lower = f.text.toLowerCase();
      if (f.lower.includes(state.query)) state.matches.add(i);
    });
  }
  update();
}

function matchingSteps() {
  const v = app.arr.v;
  const rows = new Set();
  v.arrows.forEach((a, i) => {
    if (app.arr.arrowOn[i] && a.fl.some((f) => state.matches.has(f))) rows.add(Math.max(a.r0, a.r1));
  });
  return app.arr.steps.map((row, k) => (rows.has(row) ? k : -1)).filter((k) => k >= 0);
}

function nextMatch() {
  const steps = matchingSteps();
  if (!steps.length) return;
  const after = steps.find((k) => k > state.step);
  goTo(after !== undefined ? after : steps[0], { noPredict: true });
}

function revealCurrent() {
  const row = currentRow();
  const v = app.arr.v;
  for (const n of v.rows[row][ROW.nodes]) state.revealed.add("n" + n);
  for (const i of v.endsAt[row]) state.revealed.add(arrowKey(v, v.arrows[i]));
  update();
}

function onReveal(e) {
  const target = e.target.closest("[data-reveal]");
  if (!target) return false;
  state.revealed.add(target.getAttribute("data-reveal"));
  e.stopPropagation();
  update();
  return true;
}

function onDiagramClick(e) {
  if (onReveal(e)) return;
  const item = e.target.closest("[data-t]");
  if (!item) {
    select(null);
    return;
  }
  const type = item.getAttribute("data-t");
  const i = parseInt(item.getAttribute("data-i"), 10);
  if (type === "target") guess(i);
  else if (type === "lane") {
    if (state.predict) guess(i);
  } else select(type, i);
}

function onHover(e) {
  if (state.sel) return;
  const item = e.target.closest("[data-t]");
  if (!item || item.getAttribute("data-t") === "target" || item.getAttribute("data-t") === "lane") return;
  const type = item.getAttribute("data-t");
  const i = parseInt(item.getAttribute("data-i"), 10);
  const nodes = nodesOf(type, i);
  const preview = { type, i, nodes, sel: new Set(nodes), past: new Set(), future: new Set(), preview: true };
  const panel = $("details");
  const saved = state.sel;
  state.sel = preview;
  fillDetails(panel, app);
  state.sel = saved;
}

function onKey(e) {
  const t = e.target;
  if (t && ((t.tagName === "INPUT" && t.type !== "checkbox") || t.tagName === "SELECT")) return; // typing
  if (t && t.tagName === "BUTTON" && (e.key === " " || e.key === "Enter")) return; // the button's own click
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const k = e.key;
  let handled = true;
  if (k === "ArrowRight" || k === "PageDown" || (k === " " && !e.shiftKey)) next();
  else if (k === "ArrowLeft" || k === "PageUp" || (k === " " && e.shiftKey)) prev();
  else if (k === "Home") goTo(0, { noPredict: true });
  else if (k === "End") toEnd();
  else if (k === "1" || k === "2" || k === "3") setView(VIEWS[parseInt(k, 10) - 1]);
  else if (k === "x") toggleExercise();
  else if (k === "r") revealCurrent();
  else if (k === "p") togglePresenter();
  else if (k === "t") cycleTheme();
  else if (k === "+" || k === "=") {
    state.zoomBy = Math.min(3, (state.zoomBy || 1) * 1.15);
    update();
  } else if (k === "-") {
    state.zoomBy = Math.max(0.3, (state.zoomBy || 1) / 1.15);
    update();
  } else if (k === "Escape") select(null);
  else if (k === "/") $("search").focus();
  else handled = false;
  if (handled) e.preventDefault();
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
