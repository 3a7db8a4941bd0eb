// crowdtrain dashboard, market page (docs/MARKET.md "Market view"): the order book, the clearing
// price per PFLOP chart (inline SVG) and the solvers' track records. Uses app.js's helpers.
"use strict";

const perPflop = (v) => (v != null && Number.isFinite(v) ? v.toPrecision(4) : "—");
function bytes(n) {
  if (n == null) return "—";
  const [v, unit] = n >= 2 ** 30 ? [n / 2 ** 30, "GiB"] : n >= 2 ** 20 ? [n / 2 ** 20, "MiB"] : [n / 2 ** 10, "KiB"];
  return `${v.toFixed(v < 10 ? 2 : 0)} ${unit}`;
}
const duration = (s) => (s <= 0 ? "—" : s < 120 ? `${s} s` : `${Math.round(s / 60)} min`);

function needs(j) {
  // The spec's requirements where it states them, else the estimate (docs/MARKET.md).
  const n = j.needs;
  if (!n) return "— (spec not on this API)";
  const mem = n.memory_bytes != null ? ` · ${n.memory_from === "spec" ? "≥ " : "~"}${bytes(n.memory_bytes)}` : "";
  return `${esc(n.device)}${mem}${n.memory_from === "estimate" ? " (estimate)" : ""}`;
}

function bookRows(items) {
  return items.map((j) => [
    td(`<a href="/ui/jobs/${j.job_id}">#${j.job_id}</a>`),
    td(crowd(j.price), "price"),
    td(perPflop(j.price_per_pflop), "per-pflop"),
    td(crowd(j.floor)), td(crowd(j.cap)),
    td(duration(j.ramp_left), "ramp-left"),
    td(j.estimate ? j.estimate.pflop.toPrecision(3) : "—"),
    td(needs(j)),
    td(j.min_finalized || "—"),
    td(esc(short(j.submitter)), "mono"),
  ]);
}
const BOOK_HEAD = ["job", "price now", "per PFLOP", "floor", "cap", "ramp left", "PFLOP", "needs", "min record", "submitter"];

// Each claim's price per PFLOP against its block time (block number when the RPC gave no time).
function drawClearing(el, claims) {
  const pts = claims
    .filter((c) => c.price_per_pflop != null && Number.isFinite(c.price_per_pflop))
    .map((c) => ({ x: c.block_time ?? c.block_number, y: c.price_per_pflop, job: c.job_id }))
    .sort((a, b) => a.x - b.x);
  if (pts.length === 0) {
    el.innerHTML = "<p>no priced claims yet (a claim's job needs its spec on this API)</p>";
    return;
  }
  const W = 640, H = 240, L = 60, B = 24, T = 10, R = 10;
  // one claim (or all in one block) sits mid-axis rather than on it
  const lo = Math.min(...pts.map((p) => p.x)), hi = Math.max(...pts.map((p) => p.x));
  const [x0, x1] = hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  const y1 = Math.max(...pts.map((p) => p.y)) * 1.05 || 1, y0 = 0;
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const line = pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
  const dots = pts.map((p) =>
    `<circle class="claim-dot" data-job="${p.job}" cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="#3563e9"><title>job ${p.job}: ${perPflop(p.y)} per PFLOP</title></circle>`,
  ).join("");
  const when = (x) => (claims[0].block_time != null ? new Date(x * 1000).toISOString().slice(11, 19) : `block ${x}`);
  el.innerHTML =
    `<svg id="clearing-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="clearing price per PFLOP">` +
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#999"/>` +
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#999"/>` +
    `<text x="${L - 4}" y="${T + 8}" text-anchor="end" font-size="10">${perPflop(y1)}</text>` +
    `<text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="10">0</text>` +
    `<text x="${L}" y="${H - 8}" font-size="10">${esc(when(x0))}</text>` +
    `<text x="${W - R}" y="${H - 8}" text-anchor="end" font-size="10">${esc(when(x1))}</text>` +
    `<polyline class="clearing-line" fill="none" stroke="#3563e9" stroke-width="1.5" points="${line}"/>${dots}</svg>`;
}

const RECORD_HEAD = ["solver", "finalized", "value", "frauds", "timeouts", "claims", "last price", "indexed"];
function recordRow(s) {
  const r = s.record ?? s.indexed;
  const same = s.record == null || JSON.stringify(s.record) === JSON.stringify(s.indexed);
  const last = s.claims[0];
  return [
    td(esc(s.address), "mono"), td(r.finalized), td(crowd(r.value)), td(r.frauds), td(r.timeouts),
    td(s.claims.length), td(last ? crowd(last.price) : "—"),
    td(same ? "in sync" : "catching up"),
  ];
}

pages.market = async function market() {
  const [book, clearing, solvers] = await Promise.all([
    getJSON("/market"), getJSON("/market/clearing?limit=200"), getJSON("/solvers?limit=20"),
  ]);
  $("book-now").textContent =
    `${book.total} open jobs · priced at chain time ${book.now}${book.live ? "" : " (no chain connection: posted rewards)"}`;
  table($("book"), BOOK_HEAD, bookRows(book.items));
  drawClearing($("clearing-chart"), clearing.items);
  const records = await Promise.all(solvers.items.map((a) => getJSON(`/solvers/${a.address}`)));
  table($("records"), RECORD_HEAD, records.map(recordRow));
};

refresh();
