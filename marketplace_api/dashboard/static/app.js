// crowdtrain dashboard: fills the page shells from the JSON API and refreshes every second.
// Plain JS, no dependencies: the loss curve is an inline SVG drawn from the job detail.
"use strict";

const REFRESH_MS = 1000;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function crowd(wei) {
  // wei arrives as a decimal string: BigInt keeps every digit.
  const v = BigInt(wei || "0");
  const whole = v / 10n ** 18n;
  const frac = (v % 10n ** 18n).toString().padStart(18, "0").slice(0, 2);
  return `${whole}.${frac}`;
}
const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "—");

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function table(el, head, rows) {
  el.innerHTML =
    `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</tbody>`;
}
const td = (html, cls = "") => `<td class="${cls}">${html}</td>`;

function jobRows(jobs) {
  return jobs.map((j) => [
    td(`<a href="/ui/jobs/${j.job_id}">#${j.job_id}</a>`),
    td(`<span class="status ${esc(j.status)}">${esc(j.status)}${j.frozen ? " (frozen)" : ""}</span>`),
    td(esc(short(j.submitter)), "mono"),
    td(esc(short(j.solver)), "mono"),
    td(crowd(j.reward)),
    td(`${j.steps} / ${j.segments}`),
    td(j.attempt),
    td(j.posted_block),
  ]);
}
const JOB_HEAD = ["job", "status", "submitter", "solver", "reward", "steps / N", "attempt", "block"];

function card(label, value) {
  return `<div class="card">${esc(label)}<b>${esc(value)}</b></div>`;
}

const DISPUTE_HEAD = ["dispute", "job", "kind", "segment", "challenger", "phase", "range", "pinned step", "outcome", "bond"];
function disputeRows(disputes) {
  return disputes.map((d) => [
    td(`#${d.dispute_id}`),
    td(`<a href="/ui/jobs/${d.job_id}">#${d.job_id}</a>`),
    td(esc(d.kind)), td(d.segment), td(esc(short(d.challenger)), "mono"),
    td(`<span class="status ${esc(d.phase)}">${esc(d.phase)}</span>`),
    td(d.lo != null ? `[${d.lo}, ${d.hi}]` : "—"), td(d.pinned_step ?? "—"),
    td(esc(d.outcome)), td(crowd(d.bond)),
  ]);
}

function moveDetail(m) {
  const a = m.args;
  if (m.name === "RangeChosen") return ` · range [${a.lo}, ${a.hi}]`;
  if (m.name === "SplitProposed") return ` · split at ${a.points.join(", ")}`;
  if (m.name === "StepPinned") return ` · step ${a.step}`;
  if (m.name === "DisputeResolved") return ` · ${["none", "solver_wrong", "challenger_wrong", "void"][a.outcome]}`;
  return "";
}

const pages = {
  async overview() {
    const [stats, jobs] = await Promise.all([getJSON("/stats"), getJSON("/jobs?limit=10")]);
    const s = stats.jobs_by_status;
    $("stats").innerHTML = [
      card("jobs", stats.jobs_total),
      card("open", s.open), card("claimed", s.claimed), card("committed", s.committed),
      card("finalized", s.finalized),
      card("reward posted", crowd(stats.reward_posted)),
      card("reward paid", crowd(stats.reward_paid)),
      card("staked", crowd(stats.total_staked)),
      card("slashed", crowd(stats.total_slashed)),
      card("solvers", stats.solvers), card("verifiers", stats.verifiers),
      card("indexed block", stats.indexed_block ?? "—"),
    ].join("");
    table($("jobs"), JOB_HEAD, jobRows(jobs.items));
  },

  async jobs() {
    const status = $("status").value;
    const page = await getJSON(`/jobs?limit=100${status ? `&status=${status}` : ""}`);
    $("total").textContent = `${page.total} jobs`;
    table($("jobs"), JOB_HEAD, jobRows(page.items));
  },

  async job() {
    const id = document.body.dataset.jobId;
    const j = await getJSON(`/jobs/${id}`);
    $("job").innerHTML = [
      card("status", j.status + (j.frozen ? " (frozen)" : "")),
      card("reward", crowd(j.reward)), card("verifier fee", crowd(j.verifier_fee)),
      ...(j.claims.length ? [card("price", crowd(j.claims[j.claims.length - 1].price))] : []),
      card("steps", j.steps), card("segments", j.segments), card("attempt", j.attempt),
      card("submitter", short(j.submitter)), card("solver", short(j.solver)),
      card("final loss", j.trace && j.trace.final_loss != null ? j.trace.final_loss.toFixed(4) : "—"),
      card("validation loss", j.trace && j.trace.final_validation_loss != null ? j.trace.final_validation_loss.toFixed(4) : "—"),
    ].join("");
    drawLossCurve($("loss-curve"), j.loss_curve, j.validation_curve);
    const t = j.trace;
    $("trace").innerHTML = t
      ? [["stateRoot", t.state_root], ["segRootsRoot", t.seg_roots_root],
         ["finalStateHash", t.final_state_hash], ["manifest", t.manifest_address],
         ["manifest available", t.manifest_available], ["checkpoints", t.checkpoints ?? "—"]]
          .map(([k, v]) => `<dt>${esc(k)}</dt><dd class="mono">${esc(v)}</dd>`).join("")
      : "<dt>not committed yet</dt><dd></dd>";
    table($("attestations"), ["attester", "attempt", "segments", "committed", "revealed", "valid", "paid", "slashed"],
      j.attestations.map((a) => [td(esc(short(a.attester)), "mono"), td(a.attempt), td(esc(a.segments.join(", "))),
        td(a.committed ? "yes" : "no"), td(a.revealed ? "yes" : "no"), td(a.valid_segments),
        td(crowd(a.paid)), td(crowd(a.slashed))]));
    table($("disputes"), DISPUTE_HEAD, disputeRows(j.disputes));
    // Dispute moves carry who moved; a job event that is also a move is shown once, as the move.
    const moves = j.disputes.flatMap((d) => d.moves.map((m) => ({ ...m, dispute: d.dispute_id })));
    const seen = new Set(moves.map((m) => `${m.block_number}:${m.log_index}`));
    const items = [...j.events.filter((e) => !seen.has(`${e.block_number}:${e.log_index}`)), ...moves]
      .sort((a, b) => a.block_number - b.block_number || a.log_index - b.log_index);
    $("timeline").innerHTML = items.map((e) =>
      `<li class="${e.dispute != null ? "move" : ""}"><b>${esc(e.name)}</b> block ${e.block_number}` +
      `${e.dispute != null ? ` · dispute ${e.dispute} · ${esc(e.role)} ${esc(short(e.actor))}${moveDetail(e)}` : ""}` +
      ` <span class="mono">${esc(short(e.tx_hash))}</span></li>`,
    ).join("");
  },

  async rounds() {
    const page = await getJSON("/rounds?limit=100");
    $("total").textContent = `${page.total} rounds jobs`;
    table($("rounds"), ["rounds job", "status", "submitter", "W × R", "quorum", "round", "unit reward", "escrow"],
      page.items.map((r) => [td(`<a href="/ui/rounds/${r.rounds_id}">#${r.rounds_id}</a>`),
        td(`<span class="status ${esc(r.status)}">${esc(r.status)}</span>`), td(esc(short(r.submitter)), "mono"),
        td(`${r.workers} × ${r.rounds}`), td(r.quorum), td(r.current_round), td(crowd(r.unit_reward)),
        td(crowd(r.escrow))]));
  },

  async roundsjob() {
    const id = document.body.dataset.roundsId;
    const r = await getJSON(`/rounds/${id}`);
    $("rounds-job").innerHTML = [
      card("status", r.status), card("workers", r.workers), card("rounds", r.rounds),
      card("quorum", r.quorum), card("round", r.current_round), card("unit reward", crowd(r.unit_reward)),
      card("unit verifier fee", crowd(r.unit_verifier_fee)), card("escrow", crowd(r.escrow)),
      card("submitter", short(r.submitter)),
    ].join("");
    const slots = Array.from({ length: r.workers }, (_, w) => `slot ${w}`);
    const loss = (v) => (v != null ? v.toFixed(4) : "—");
    table($("grid"), ["round", ...slots, "included", "loss"], r.grid.map((row) => [
      td(row.round),
      ...row.units.map((u) => td(
        `<a href="/ui/jobs/${u.job_id}">#${u.job_id}</a> <span class="status ${esc(u.status)}">${esc(u.status)}</span>` +
        `<br><span class="mono">${esc(short(u.solver))}</span>` +
        `<br>att ${u.attestations} · disp ${u.disputes} · loss ${loss(u.loss)}` +
        (u.convicted.length ? `<br><span class="status cancelled">convicted ${u.convicted.map((c) => esc(short(c))).join(", ")}</span>` : "") +
        (u.included === true ? ' <span class="status finalized">included</span>' : u.included === false ? ' <span class="status">excluded</span>' : ""),
        `unit${u.convicted.length ? " convicted" : ""}`)),
      td(row.status === "closed" ? esc(row.included.join(", ")) : esc(row.status)),
      td(loss(row.loss)),
    ]));
    drawLossCurve($("round-loss"), r.grid.map((row) => ({ step: row.round, loss: row.loss })),
      r.grid.map((row) => ({ step: row.round, loss: row.validation_loss })));
  },

  async disputes() {
    const outcome = $("outcome").value;
    const page = await getJSON(`/disputes?limit=100${outcome ? `&outcome=${outcome}` : ""}`);
    $("total").textContent = `${page.total} disputes`;
    table($("disputes"), DISPUTE_HEAD, disputeRows(page.items));
  },

  async leaderboards() {
    const [solvers, verifiers] = await Promise.all([getJSON("/solvers"), getJSON("/verifiers")]);
    table($("solvers"), ["solver", "earned", "rewards", "bond shares", "finalized", "claimed", "timed out", "slashed", "staked"],
      solvers.items.map((a) => [td(esc(a.address), "mono"), td(crowd(a.earned)), td(crowd(a.earnings.reward)),
        td(crowd(a.earnings.bond_share)), td(a.jobs_finalized), td(a.jobs_claimed), td(a.jobs_timed_out),
        td(crowd(a.slashed)), td(crowd(a.staked))]));
    table($("verifiers"), ["verifier", "attestations", "challenges", "earned", "attestation fees", "jackpots", "jury fees", "slashed", "staked"],
      verifiers.items.map((a) => [td(esc(a.address), "mono"), td(a.attestations), td(a.challenges),
        td(crowd(a.earned)), td(crowd(a.earnings.attestation_fee)), td(crowd(a.earnings.jackpot)),
        td(crowd(a.earnings.jury_fee)), td(crowd(a.slashed)), td(crowd(a.staked))]));
  },
};

// Training loss per step (blue) and, when the dataset has a held-out split, validation loss per
// checkpoint (orange, dots), on the same axes.
function drawLossCurve(el, points, validation = []) {
  const finite = (ps) => ps.filter((p) => p.loss != null && Number.isFinite(p.loss));
  const pts = finite(points), val = finite(validation);
  if (pts.length === 0) {
    el.innerHTML = "<p>no loss curve yet (the committed manifest is not on this API)</p>";
    return;
  }
  const W = 640, H = 240, L = 50, B = 24, T = 10, R = 10;
  const xs = [...pts, ...val].map((p) => p.step), ys = [...pts, ...val].map((p) => p.loss);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const line = (ps) => ps.map((p) => `${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join(" ");
  const path = line(pts);
  const valLine = val.length === 0 ? "" :
    `<polyline class="val-line" fill="none" stroke="#e97a35" stroke-width="2" points="${line(val)}"/>` +
    val.map((p) => `<circle class="val-dot" cx="${sx(p.step).toFixed(1)}" cy="${sy(p.loss).toFixed(1)}" r="3" fill="#e97a35"/>`).join("") +
    `<text x="${W - R}" y="${T + 8}" text-anchor="end" font-size="10" fill="#e97a35">validation</text>`;
  el.innerHTML =
    `<svg id="loss-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="loss curve">` +
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#999"/>` +
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#999"/>` +
    `<text x="${L - 4}" y="${T + 8}" text-anchor="end" font-size="10">${y1.toFixed(3)}</text>` +
    `<text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="10">${y0.toFixed(3)}</text>` +
    `<text x="${L}" y="${H - 8}" font-size="10">step ${x0}</text>` +
    `<text x="${W - R}" y="${H - 8}" text-anchor="end" font-size="10">step ${x1}</text>` +
    `<polyline class="loss-line" fill="none" stroke="#3563e9" stroke-width="2" points="${path}"/>${valLine}</svg>`;
}

async function refresh() {
  const render = pages[document.body.dataset.page];
  if (!render) return;
  try {
    await render();
    $("live").classList.remove("stale");
  } catch (err) {
    $("live").classList.add("stale");
    console.warn(err);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
if ($("status")) $("status").addEventListener("change", refresh);
if ($("outcome")) $("outcome").addEventListener("change", refresh);
