// Small SVG charts (no chart library): grouped bars and lines, with a text summary.

const NS = "http://www.w3.org/2000/svg";

/** The axis maximum: at least 4, rounded up so the four ticks are whole numbers. */
function niceMax(value) {
  return Math.max(4, Math.ceil(value / 4) * 4);
}

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * Grouped bars: labels[i] under each group, series = [{name, cls, values}].
 * The chart is an img with a title; the figures are also given as text by the caller.
 */
export function barChart({ title, labels, series, width = 720, height = 200, labelEvery = 1 }) {
  const pad = { l: 36, r: 8, t: 10, b: 28 };
  const max = niceMax(Math.max(...series.flatMap((s) => s.values)));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart", "aria-label": title });
  root.append(svg("title", {}, title));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const groupW = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, (groupW * 0.8) / series.length);
  for (let tick = 0; tick <= 4; tick += 1) {
    const y = pad.t + plotH - (plotH * tick) / 4;
    root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: "grid-line" }));
    root.append(svg("text", { x: pad.l - 4, y: y + 4, "text-anchor": "end", class: "axis" }, String(Math.round((max * tick) / 4))));
  }
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      const hgt = (plotH * v) / max;
      const x = pad.l + i * groupW + groupW * 0.1 + j * barW;
      const bar = svg("rect", { x, y: pad.t + plotH - hgt, width: barW, height: hgt, class: `bar ${s.cls}` });
      bar.append(svg("title", {}, `${label} ${s.name}: ${v}`));
      root.append(bar);
    });
    if (i % labelEvery === 0) {
      root.append(svg("text", { x: pad.l + i * groupW + groupW / 2, y: height - 10, "text-anchor": "middle", class: "axis" }, label));
    }
  });
  return root;
}

/** Lines over a shared x axis: series = [{name, cls, values}], optional limit line. */
export function lineChart({ title, labels, series, limit, width = 720, height = 180, labelEvery = 1 }) {
  const pad = { l: 44, r: 8, t: 10, b: 28 };
  const max = niceMax(Math.max(limit || 0, ...series.flatMap((s) => s.values.filter((v) => v !== null))));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart", "aria-label": title });
  root.append(svg("title", {}, title));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const x = (i) => pad.l + (labels.length <= 1 ? 0 : (plotW * i) / (labels.length - 1));
  const y = (v) => pad.t + plotH - (plotH * v) / max;
  for (let tick = 0; tick <= 4; tick += 1) {
    const yy = pad.t + plotH - (plotH * tick) / 4;
    root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: yy, y2: yy, class: "grid-line" }));
    root.append(svg("text", { x: pad.l - 4, y: yy + 4, "text-anchor": "end", class: "axis" }, String(Math.round((max * tick) / 4))));
  }
  if (limit) root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: y(limit), y2: y(limit), class: "limit-line" }));
  for (const s of series) {
    const points = s.values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean).join(" ");
    const line = svg("polyline", { points, class: `line ${s.cls}`, fill: "none" });
    line.append(svg("title", {}, s.name));
    root.append(line);
    // A dot per value, so a single reading is visible too.
    s.values.forEach((v, i) => {
      if (v === null) return;
      const dot = svg("circle", { cx: x(i), cy: y(v), r: 2.5, class: `dot ${s.cls}` });
      dot.append(svg("title", {}, `${labels[i]} ${s.name}: ${v}`));
      root.append(dot);
    });
  }
  labels.forEach((label, i) => {
    if (i % labelEvery === 0) root.append(svg("text", { x: x(i), y: height - 10, "text-anchor": "middle", class: "axis" }, label));
  });
  return root;
}

export function legend(series) {
  const ul = document.createElement("ul");
  ul.className = "legend";
  for (const s of series) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${s.cls}`;
    swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, ` ${s.name}`);
    ul.append(li);
  }
  return ul;
}
