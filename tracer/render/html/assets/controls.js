// controls.js — the lecturer's input: the buttons, keys, search box, clicks and hover, wired once, and the
// actions they call (views, exercise and presenter modes, theme, lane filters, search, revealing).

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
