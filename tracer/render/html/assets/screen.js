// screen.js — the state on screen: the view arranged under the filters, the part of the diagram in the
// scrolled-to window, the narration and the counter, and the step in the URL fragment (read and written).
//
// What `update()` (app.js) calls after every change, and `readFragment()`, which sets the step, the view and
// the exercise mode from a link.

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
