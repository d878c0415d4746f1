// panel.js — details on demand: what a call, an arrow, a bar or a packet did, with its bytes and packets.

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      if (key === "onclick") node.addEventListener("click", attrs[key]);
      else if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, attrs[key]);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** Segments as HTML: secrets hidden in exercise mode (a click reveals them). */
function segmentsHtml(segments, key, app) {
  const span = h("span", { class: "segments" });
  for (const seg of segments) {
    if (typeof seg === "string") span.appendChild(document.createTextNode(seg));
    else if (app.hidden(key)) span.appendChild(h("span", { class: "secret", "data-reveal": key, title: word("hidden_value") }, HIDDEN_TEXT));
    else span.appendChild(h("span", { class: "revealed" }, seg[0]));
  }
  return span;
}

function secretText(text, key, app) {
  return segmentsHtml([[text]], key, app);
}

function dl(pairs) {
  const list = h("dl");
  for (const [name, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    list.appendChild(h("dt", null, name));
    list.appendChild(h("dd", null, value));
  }
  return list;
}

function ms(value) {
  if (value === undefined || value === null) return "";
  if (value >= 1000) return (value / 1000).toFixed(3) + " s";
  if (value >= 1) return value.toFixed(3) + " ms";
  return Math.round(value * 1000) + " µs";
}

/** `0000  48 65 6c 6c 6f  |Hello|`, eight bytes a line (narrow enough for the panel). */
function hexLines(b64) {
  const bytes = fromBase64(b64);
  const lines = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const chunk = Array.from(bytes.subarray(at, at + 8));
    const hex = chunk.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const text = chunk.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(4, "0")}  ${hex.padEnd(23)}  |${text}|`);
  }
  return lines;
}

function bytesBlock(bytes, key, app) {
  const block = h("div", { class: "bytes" });
  const kept = bytes.kept !== undefined ? word("capped", { kept: bytes.kept, n: bytes.size }) : "";
  block.appendChild(dl([[word("bytes"), String(bytes.size) + (kept ? " — " + kept : "")], [word("text"), h("code", null, secretText(bytes.text, key, app))]]));
  if (bytes.b64) {
    block.appendChild(h("h3", null, word("hex") + (bytes.size > 256 ? " — " + word("shown_cap", { n: 256 }) : "")));
    const pre = h("pre", { class: "hex" });
    const dump = app.hidden(key) ? h("span", { class: "secret", "data-reveal": key }, HIDDEN_TEXT) : document.createTextNode(hexLines(bytes.b64).join("\n"));
    pre.appendChild(dump);
    block.appendChild(pre);
  }
  return block;
}

function packetLine(n, app) {
  const p = NODES[n];
  const nums = [p.flags ? "[" + p.flags + "]" : p.proto.toUpperCase(), p.seq !== undefined ? "seq=" + p.seq : "", p.ack !== undefined ? "ack=" + p.ack : "", "len=" + p.len]
    .filter(Boolean)
    .join(" ");
  return h("li", null, h("a", { "data-node": n, onclick: () => app.selectNode(n) }, `#${p.index} ${p.src} → ${p.dst} ${nums}`), ` @ ${ms(p.t)}`);
}

function packetList(nodes, app) {
  if (!nodes || !nodes.length) return null;
  const ul = h("ul", { class: "packets" });
  nodes.forEach((n) => ul.appendChild(packetLine(n, app)));
  return ul;
}

function jump(n, app, text) {
  return h("a", { "data-node": n, onclick: () => app.selectNode(n) }, text);
}

function nodeDetails(n, app) {
  const node = NODES[n];
  const key = "n" + n;
  const box = h("section", { class: "node", "data-node": n });
  if (node.k === "p") {
    box.appendChild(h("h2", null, `${node.proto.toUpperCase()} ${node.flags || ""} #${node.index}`));
    box.appendChild(
      dl([
        [word("from"), node.src],
        [word("to"), node.dst],
        [word("flags"), node.flags],
        ["seq", node.seq !== undefined ? String(node.seq) : ""],
        ["ack", node.ack !== undefined ? String(node.ack) : ""],
        ["len", String(node.len)],
        [word("time"), ms(node.t)],
      ])
    );
    if (node.bytes) box.appendChild(bytesBlock(node.bytes, key, app));
    box.appendChild(h("p", { class: "sentence" }, segmentsHtml(node.say, key, app)));
    return box;
  }
  box.appendChild(h("h2", null, `${node.who}: ${node.call}${node.handler ? " ↯ " + node.handler : ""}`));
  const fd = node.fd !== undefined ? `fd ${node.fd}` + (node.expr ? ` (${node.expr})` : "") : "";
  const args = (node.args || []).map(([k, v]) => `${k} = ${v}`).join(", ");
  const waited = node.open ? word("never_returned") : node.waits ? ms(node.dur) : "";
  box.appendChild(
    dl([
      [word("process"), `${node.who} (pid ${node.pid})`],
      [word("args"), args],
      [word("fd"), fd],
      [word("refers"), node.refers || node.made],
      [word("result"), node.res ? secretText(node.res, key, app) : ""],
      [word("error"), node.err],
      [word(node.addr_is || "to"), node.addr],
      [word("time"), ms(node.t) + (node.waits || node.open ? "" : ` (${ms(node.dur)})`)],
      [word("blocked"), waited],
      [word("source"), node.site ? h("span", null, h("code", { title: node.path || "" }, node.site), node.code ? h("pre", null, node.code) : null) : ""],
    ])
  );
  if (node.bytes) box.appendChild(bytesBlock(node.bytes, key, app));
  for (const i of node.flows || []) {
    const flow = FLOWS[i];
    const other = flow.s === n ? flow.r : flow.s;
    const label = other >= 0 ? `${flow.ch}: ${flow.s === n ? word("to") : word("from")} ${NODES[other].who}` : flow.ch;
    box.appendChild(h("h3", null, label));
    box.appendChild(bytesBlock(flow, "f" + i, app));
  }
  const carried = packetList(node.pk, app);
  if (carried) box.appendChild(h("div", null, h("h3", null, word("packets")), carried));
  box.appendChild(h("p", { class: "sentence" }, segmentsHtml(node.say, key, app)));
  return box;
}

function flowDetails(i, app) {
  const flow = FLOWS[i];
  const key = "f" + i;
  const box = h("section", { class: "flow", "data-flow": i });
  const from = flow.s >= 0 ? NODES[flow.s] : null;
  const to = flow.r >= 0 ? NODES[flow.r] : null;
  box.appendChild(h("h2", null, `${flow.ch}: ${flow.size} B`));
  box.appendChild(
    dl([
      [word("channel"), flow.ch + (flow.off !== undefined ? ` @ ${flow.off}` : "")],
      [word("from"), from ? jump(flow.s, app, `${from.who}: ${from.call}`) : word("unsent")],
      [word("to"), to ? jump(flow.r, app, `${to.who}: ${to.call}`) : word("unread")],
    ])
  );
  box.appendChild(bytesBlock(flow, key, app));
  const carried = packetList(flow.pk, app);
  if (carried) box.appendChild(h("div", null, h("h3", null, word("packets")), carried));
  return box;
}

function legendBlock(v) {
  const symbols = { msg: "──▶", kernel: "──▶", packet: "──▶", dashed: "╌╌▶", wait: "▮", sleep: "▮", open: "▯", note: "▭", error: "✗", loop: "⟳", handler: "↯" };
  const ul = h("ul", { class: "legend" });
  for (const [sym, text] of v.legend) ul.appendChild(h("li", null, h("span", { class: "sym" }, symbols[sym] || ""), text));
  return ul;
}

/** The details panel for the selection (an item of the current view), or the hints when nothing is selected. */
function fillDetails(panel, app) {
  panel.textContent = "";
  const sel = app.state.sel;
  const v = app.arr.v;
  if (!sel) {
    panel.appendChild(h("p", { class: "hint" }, word("details_hint")));
    panel.appendChild(h("p", { class: "hint" }, word("keys")));
    panel.appendChild(legendBlock(v));
    return;
  }
  panel.appendChild(h("p", null, h("button", { type: "button", id: "clear", onclick: () => app.select(null) }, word("clear"))));
  if (sel.type === "arrow") {
    const a = v.arrows[sel.i];
    if (a.fl.length) a.fl.forEach((i) => panel.appendChild(flowDetails(i, app)));
    if (a.pk >= 0) panel.appendChild(nodeDetails(a.pk, app));
    const ends = Array.from(new Set([...v.rows[a.r0][ROW.nodes], ...v.rows[a.r1][ROW.nodes]]));
    if (!a.fl.length && a.pk < 0) ends.forEach((n) => panel.appendChild(nodeDetails(n, app)));
  } else {
    sel.nodes.forEach((n) => panel.appendChild(nodeDetails(n, app)));
  }
  if (sel.preview) return; // a hover shows what the item is; its causal past and future come with a click
  const causalLine = h(
    "p",
    { class: "hint causal" },
    `${word("causal")}: `,
    h("span", { class: "swatch past" }),
    `${sel.past.size} ${word("past")} · `,
    h("span", { class: "swatch future" }),
    `${sel.future.size} ${word("future")}`
  );
  panel.appendChild(causalLine);
}
