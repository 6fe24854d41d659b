// The analyst dashboard: draws /v1/analytics/* (docs/dashboard.md). No build step: an ES module,
// Chart.js from vendor/ (a global, loaded before this module runs), config from config.json.
import { AuthError, startAuth } from "./auth.js";

const STEP_NAMES = {
  1: "Organization profile",
  2: "First event",
  3: "First team",
  4: "Invite volunteers",
  5: "Tutorials",
};
// Chart marks: each at least 3:1 against the white background (WCAG 1.4.11).
const COLORS = {
  reached: "#1d4f91",
  completed: "#2e7d32",
  skipped: "#a4161a",
  inactive: "#8a5a00",
  interval: "#5b7fb5",
  point: "#1b1f24",
};
const VARIANT_COLORS = ["#1d4f91", "#b35c00", "#2e7d32", "#6a3d9a", "#a4161a", "#00666b", "#5c4a00", "#8c2f6b"];
const PAGE_SIZE = 25;
const ALL = "all organizations";

const $ = (selector) => document.querySelector(selector);
const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};

// ------------------------------------------------------------------ formatting
const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const fmt = {
  count: (v) => (v === null || v === undefined ? "—" : integer.format(v)),
  number: (v) => (v === null || v === undefined ? "—" : decimal.format(v)),
  percent: (v) => (v === null || v === undefined ? "—" : `${decimal.format(v)} %`),
  minutes: (v) => (v === null || v === undefined ? "—" : duration(v)),
  text: (v) => (v === null || v === undefined ? "—" : String(v)),
  hours: (v) => (v === null || v === undefined ? "—" : duration(v * 60)),
  date: (v) => (v ? String(v).replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, "") : "—"),
};

// 95 -> "1 h 35 min", 4000 -> "2 d 18 h"
function duration(totalMinutes) {
  const minutes = Math.round(totalMinutes);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) {
    const m = minutes % 60;
    return `${Math.floor(minutes / 60)} h${m ? ` ${m} min` : ""}`;
  }
  const hours = Math.floor(minutes / 60);
  const h = hours % 24;
  return `${Math.floor(hours / 24)} d${h ? ` ${h} h` : ""}`;
}

const ratePercent = (fraction) => (fraction === null || fraction === undefined ? null : fraction * 100);
const round = (value, digits = 4) =>
  value === null || value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits;

// ------------------------------------------------------------------ API
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let config = null;
let session = null;

async function api(path, params = {}) {
  const url = new URL(path, config.apiBaseUrl);
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const token = await session.token();
  let response;
  try {
    response = await fetch(url, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      credentials: "omit",
    });
  } catch (error) {
    throw new ApiError(0, "network", `The analytics API at ${url.origin} could not be reached (${error.message}).`);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    // The API localizes its messages from Accept-Language (the browser's languages).
    const message = body?.error?.localized_message ?? body?.error?.message ?? body?.message ?? response.statusText;
    throw new ApiError(response.status, body?.error?.code ?? null, message);
  }
  return body;
}

// ------------------------------------------------------------------ what is shown
const view = {
  period: "all",
  from: null,
  to: null,
  experiment: "",
  inactiveDays: 7,
  cursors: [null], // cursor of each incomplete-organizations page seen so far
  page: 0,
};
let generation = 0; // answers of an older request are dropped
const charts = new Map(); // section -> [Chart]
// section -> [{section, variant, table caption, columns, rows}], the tables on screen: the CSV is made
// of exactly these, so it holds what the page shows.
const shownTables = new Map();

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

// The period's from/to (UTC days, both inclusive), or null/null for all time.
function periodRange() {
  const today = new Date();
  const utcToday = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  if (view.period === "30d") {
    const from = new Date(utcToday);
    from.setUTCDate(from.getUTCDate() - 29);
    return { from: isoDay(from), to: isoDay(utcToday) };
  }
  if (view.period === "12m") {
    const from = new Date(utcToday);
    from.setUTCFullYear(from.getUTCFullYear() - 1);
    from.setUTCDate(from.getUTCDate() + 1);
    return { from: isoDay(from), to: isoDay(utcToday) };
  }
  if (view.period === "custom") return { from: view.from, to: view.to };
  return { from: null, to: null };
}

function periodText({ from, to }) {
  if (!from && !to) return "All time";
  return `${from ?? "…"} to ${to ?? "today"} (UTC, inclusive)`;
}

// ------------------------------------------------------------------ tables and charts
// columns: [{key, label, format}]; rows: [{label, values: {key: raw}}]. Every cell keeps its raw API
// value in data-value (JSON), the text shown is its formatting.
function dataTable({ caption, rowHeader, columns, rows }) {
  const head = el("tr", {}, el("th", { scope: "col", text: rowHeader }));
  for (const column of columns) head.append(el("th", { scope: "col", text: column.label }));
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr", { "data-item": row.item }, el("th", { scope: "row", text: row.label }));
    for (const column of columns) {
      const value = row.values[column.key];
      tr.append(
        el("td", {
          "data-key": column.key,
          "data-value": JSON.stringify(value ?? null),
          text: (column.format || fmt.number)(value),
        }),
      );
    }
    body.append(tr);
  }
  return el("div", { class: "table-wrap" }, el("table", { class: "data" }, el("caption", { text: caption }), el("thead", {}, head), body));
}

function remember(section, variant, caption, columns, rows) {
  if (!shownTables.has(section)) shownTables.set(section, []);
  shownTables.get(section).push({ section, variant, caption, columns, rows });
}

let figureCount = 0;
// A panel: caption, the chart (a labelled canvas) and its table alternative.
function chartPanel({ section, title, description, chart, table }) {
  figureCount += 1;
  const tableId = `table-${figureCount}`;
  const canvas = el("canvas", { role: "img", "aria-label": `${title}. ${description}`, "aria-describedby": tableId });
  const details = el(
    "details",
    { id: tableId },
    el("summary", { text: `Table: ${title}` }),
    dataTable(table),
  );
  const panel = el(
    "div",
    { class: "panel", "data-chart": section },
    el("figure", {}, el("figcaption", { text: title }), el("div", { class: "chart-box" }, canvas), details),
  );
  return { panel, draw: () => charts.get(section).push(new window.Chart(canvas, chart)) };
}

function resetSection(section) {
  for (const chart of charts.get(section) ?? []) chart.destroy();
  charts.set(section, []);
  shownTables.delete(section);
  const root = $(`#${section}`);
  const state = root.querySelector(".state");
  state.textContent = "";
  state.classList.remove("error");
  root.hidden = false;
  return root;
}

function setState(section, message, { error = false } = {}) {
  const state = $(`#${section} .state`);
  state.textContent = message;
  state.classList.toggle("error", error);
}

const baseOptions = (extra = {}) => ({
  responsive: true,
  maintainAspectRatio: false,
  animation: false,
  plugins: { legend: { position: "bottom" } },
  ...extra,
});

function variantLabel(variant, experiment) {
  return variant === ALL ? "All organizations" : `${experiment}: ${variant}`;
}

// ------------------------------------------------------------------ funnel
const FUNNEL_COLUMNS = [
  { key: "reached", label: "Reached", format: fmt.count },
  { key: "completed", label: "Completed", format: fmt.count },
  { key: "dropped", label: "Dropped", format: fmt.count },
  { key: "dropped_skipped", label: "…by skipping", format: fmt.count },
  { key: "dropped_inactive", label: "…by inactivity", format: fmt.count },
  { key: "drop_off_count", label: "Skips (data model)", format: fmt.count },
  { key: "drop_off_percent", label: "Skips % of starts", format: fmt.percent },
];

function funnelPanel(steps, { variant, experiment, started, yMax }) {
  const labels = steps.map((s) => `${s.step}. ${STEP_NAMES[s.step] ?? "Step"}`);
  const title = variant === ALL ? "Funnel, all organizations" : `Funnel, variant ${variant}`;
  const rows = steps.map((s) => ({
    item: `step ${s.step}`,
    label: labels[steps.indexOf(s)],
    values: Object.fromEntries(FUNNEL_COLUMNS.map((c) => [c.key, s[c.key] ?? null])),
  }));
  remember("funnel", variant, title, FUNNEL_COLUMNS, rows);
  const dataset = (label, key, color, stack) => ({
    label,
    data: steps.map((s) => s[key] ?? 0),
    backgroundColor: color,
    stack,
    metricKey: key,
  });
  return chartPanel({
    section: "funnel",
    title,
    description: `${started} organizations started. Bars per wizard step: reached, completed, and dropped split into skipped and inactive.`,
    table: { caption: title, rowHeader: "Step", columns: FUNNEL_COLUMNS, rows },
    chart: {
      type: "bar",
      data: {
        labels,
        datasets: [
          dataset("Reached", "reached", COLORS.reached, "reached"),
          dataset("Completed", "completed", COLORS.completed, "completed"),
          dataset("Dropped: skipped", "dropped_skipped", COLORS.skipped, "dropped"),
          dataset("Dropped: inactive", "dropped_inactive", COLORS.inactive, "dropped"),
        ],
      },
      options: baseOptions({
        scales: {
          x: { stacked: true, ticks: { autoSkip: false, maxRotation: 30 } },
          y: { stacked: true, beginAtZero: true, suggestedMax: yMax, ticks: { precision: 0 }, title: { display: true, text: "organizations" } },
        },
      }),
    },
  });
}

function renderFunnel(answer) {
  const root = resetSection("funnel");
  const container = root.querySelector(".panels");
  container.replaceChildren();
  if (!answer.started_count && !(answer.steps ?? []).some((s) => s.reached)) {
    setState("funnel", "No organization started the wizard in this period: there is no funnel to draw.");
    return;
  }
  const groups = answer.variants?.length
    ? answer.variants.map((v) => ({ variant: v.variant, steps: v.steps, started: v.started_count }))
    : [{ variant: ALL, steps: answer.steps, started: answer.started_count }];
  const yMax = Math.max(1, ...groups.flatMap((g) => g.steps.map((s) => s.reached ?? 0)));
  const panels = groups.map((g) => funnelPanel(g.steps, { ...g, experiment: answer.experiment, yMax }));
  container.append(...panels.map((p) => p.panel));
  panels.forEach((p) => p.draw());
}

// ------------------------------------------------------------------ completion rate
const RATE_COLUMNS = [
  { key: "started_count", label: "Started", format: fmt.count },
  { key: "completed_count", label: "Completed", format: fmt.count },
  { key: "completion_rate_percent", label: "Completion rate", format: fmt.percent },
  { key: "interval_low_percent", label: "95 % low", format: fmt.percent },
  { key: "interval_high_percent", label: "95 % high", format: fmt.percent },
];
const DIFFERENCE_COLUMNS = [
  { key: "baseline", label: "Baseline", format: fmt.text },
  { key: "difference_points", label: "Difference (points)", format: fmt.number },
  { key: "interval_low_points", label: "95 % low", format: fmt.number },
  { key: "interval_high_points", label: "95 % high", format: fmt.number },
];

function rateRows(answer) {
  if (answer.variants?.length) {
    return answer.variants.map((v) => ({
      item: v.variant,
      label: v.variant,
      values: {
        started_count: v.started_count,
        completed_count: v.completed_count,
        completion_rate_percent: round(ratePercent(v.completion_rate)),
        interval_low_percent: round(ratePercent(v.completion_interval?.low)),
        interval_high_percent: round(ratePercent(v.completion_interval?.high)),
      },
    }));
  }
  return [
    {
      item: ALL,
      label: "All organizations",
      values: {
        started_count: answer.started_count,
        completed_count: answer.completed_count,
        completion_rate_percent: answer.completion_percent ?? null,
        interval_low_percent: round(ratePercent(answer.completion_interval?.low)),
        interval_high_percent: round(ratePercent(answer.completion_interval?.high)),
      },
    },
  ];
}

// An estimate with its interval: a floating bar from low to high, the estimate as a dark tick.
function intervalChart(labels, estimates, lows, highs, { horizontal = false, axisTitle, min, max }) {
  const valueAxis = { min, max, title: { display: true, text: axisTitle }, ticks: { callback: (v) => `${v}` } };
  return {
    type: "bar",
    data: {
      labels,
      datasets: [
        {
          type: "bar",
          label: "95 % interval",
          data: lows.map((low, i) => (low === null || highs[i] === null ? null : [low, highs[i]])),
          backgroundColor: "rgba(91, 127, 181, 0.45)",
          borderColor: COLORS.interval,
          borderWidth: 2,
          barPercentage: 0.35,
          borderSkipped: false,
        },
        {
          type: "line",
          label: "Estimate",
          data: estimates,
          showLine: false,
          pointStyle: "line",
          rotation: horizontal ? 90 : 0,
          pointRadius: 18,
          pointHoverRadius: 18,
          pointBorderWidth: 4,
          borderColor: COLORS.point,
          backgroundColor: COLORS.point,
        },
      ],
    },
    options: baseOptions({
      indexAxis: horizontal ? "y" : "x",
      scales: horizontal ? { x: valueAxis } : { y: valueAxis },
    }),
  };
}

function renderRate(answer) {
  const root = resetSection("rate");
  const container = root.querySelector(".panels");
  container.replaceChildren();
  if (!answer.started_count) {
    setState("rate", "No organization started onboarding in this period: the completion rate is undefined.");
    return;
  }
  const rows = rateRows(answer);
  const title = answer.variants?.length ? `Completion rate by variant of ${answer.experiment}` : "Completion rate";
  remember("rate", answer.variants?.length ? "by variant" : ALL, title, RATE_COLUMNS, rows);
  const panels = [
    chartPanel({
      section: "rate",
      title,
      description: "Completion rate in percent with its 95 % Wilson interval as a floating bar.",
      table: { caption: title, rowHeader: answer.variants?.length ? "Variant" : "Organizations", columns: RATE_COLUMNS, rows },
      chart: intervalChart(
        rows.map((r) => r.label),
        rows.map((r) => r.values.completion_rate_percent),
        rows.map((r) => r.values.interval_low_percent),
        rows.map((r) => r.values.interval_high_percent),
        { axisTitle: "completion rate (%)", min: 0, max: 100 },
      ),
    }),
  ];
  const comparisons = answer.comparisons ?? [];
  if (comparisons.length) {
    const diffRows = comparisons.map((c) => ({
      item: c.variant,
      label: `${c.variant} − ${c.baseline}`,
      values: {
        baseline: c.baseline,
        difference_points: round(ratePercent(c.difference)),
        interval_low_points: round(ratePercent(c.difference_interval?.low)),
        interval_high_points: round(ratePercent(c.difference_interval?.high)),
      },
    }));
    const diffTitle = "Difference from the baseline";
    remember("rate_difference", "by variant", diffTitle, DIFFERENCE_COLUMNS, diffRows);
    const bound = Math.max(5, ...diffRows.flatMap((r) => [Math.abs(r.values.interval_low_points ?? 0), Math.abs(r.values.interval_high_points ?? 0)]));
    panels.push(
      chartPanel({
        section: "rate",
        title: diffTitle,
        description: "Difference of completion rates in percentage points with its 95 % Newcombe interval; an interval across 0 shows no clear difference.",
        table: { caption: diffTitle, rowHeader: "Variant", columns: DIFFERENCE_COLUMNS, rows: diffRows },
        chart: intervalChart(
          diffRows.map((r) => r.label),
          diffRows.map((r) => r.values.difference_points),
          diffRows.map((r) => r.values.interval_low_points),
          diffRows.map((r) => r.values.interval_high_points),
          { horizontal: true, axisTitle: "difference (percentage points)", min: -Math.ceil(bound), max: Math.ceil(bound) },
        ),
      }),
    );
  }
  container.append(...panels.map((p) => p.panel));
  panels.forEach((p) => p.draw());
}

// ------------------------------------------------------------------ completion time
const TIME_COLUMNS = [
  { key: "completed_count", label: "Completed", format: fmt.count },
  { key: "p25_minutes", label: "25th percentile", format: fmt.minutes },
  { key: "median_minutes", label: "Median", format: fmt.minutes },
  { key: "p75_minutes", label: "75th percentile", format: fmt.minutes },
  { key: "avg_minutes", label: "Mean", format: fmt.minutes },
  { key: "fastest_minutes", label: "Fastest", format: fmt.minutes },
  { key: "slowest_minutes", label: "Slowest", format: fmt.minutes },
];

function bucketLabel(bucket) {
  if (bucket.to_minutes === null || bucket.to_minutes === undefined) return `${duration(bucket.from_minutes)} or more`;
  return `${duration(bucket.from_minutes)} to ${duration(bucket.to_minutes)}`;
}

function renderTime(answer) {
  const root = resetSection("time");
  const container = root.querySelector(".panels");
  container.replaceChildren();
  if (!answer.completed_count) {
    setState("time", "No organization completed the wizard in this period: there are no completion times.");
    return;
  }
  const split = Boolean(answer.variants?.length);
  const groups = split ? answer.variants : [{ ...answer, variant: ALL }];
  const statRows = groups.map((g) => ({
    item: g.variant,
    label: split ? g.variant : "All organizations",
    values: Object.fromEntries(TIME_COLUMNS.map((c) => [c.key, g[c.key] ?? null])),
  }));
  const statsTitle = split ? `Median and quartiles by variant of ${answer.experiment}` : "Median and quartiles";
  remember("time", split ? "by variant" : ALL, statsTitle, TIME_COLUMNS, statRows);
  const panels = [
    chartPanel({
      section: "time",
      title: statsTitle,
      description: "The middle half of completion times (25th to 75th percentile) as a floating bar, the median as a tick, in minutes.",
      table: { caption: statsTitle, rowHeader: split ? "Variant" : "Organizations", columns: TIME_COLUMNS, rows: statRows },
      chart: intervalChart(
        statRows.map((r) => r.label),
        statRows.map((r) => r.values.median_minutes),
        statRows.map((r) => r.values.p25_minutes),
        statRows.map((r) => r.values.p75_minutes),
        { horizontal: true, axisTitle: "minutes from start to completion", min: 0 },
      ),
    }),
  ];
  const buckets = groups[0].distribution ?? answer.distribution ?? [];
  if (buckets.length) {
    const columns = groups.map((g) => ({ key: g.variant, label: split ? g.variant : "Organizations", format: fmt.count }));
    const distRows = buckets.map((bucket, i) => ({
      item: `${bucket.from_minutes}-${bucket.to_minutes ?? ""}`,
      label: bucketLabel(bucket),
      values: Object.fromEntries(groups.map((g) => [g.variant, g.distribution?.[i]?.count ?? 0])),
    }));
    const distTitle = split ? "Distribution of completion times by variant" : "Distribution of completion times";
    remember("time_distribution", split ? "by variant" : ALL, distTitle, columns, distRows);
    panels.push(
      chartPanel({
        section: "time",
        title: distTitle,
        description: "Number of organizations that completed the wizard within each time range.",
        table: { caption: distTitle, rowHeader: "Time to complete", columns, rows: distRows },
        chart: {
          type: "bar",
          data: {
            labels: distRows.map((r) => r.label),
            datasets: groups.map((g, i) => ({
              label: split ? g.variant : "Organizations",
              data: distRows.map((r) => r.values[g.variant]),
              backgroundColor: split ? VARIANT_COLORS[i % VARIANT_COLORS.length] : COLORS.reached,
            })),
          },
          options: baseOptions({
            plugins: { legend: { display: split, position: "bottom" } },
            scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "organizations" } } },
          }),
        },
      }),
    );
  }
  container.append(...panels.map((p) => p.panel));
  panels.forEach((p) => p.draw());
}

// ------------------------------------------------------------------ summary tiles
function renderSummary(rate, time) {
  const tiles = $("#summary-tiles");
  const tile = (label, value, note) => el("div", {}, el("dt", { text: label }), el("dd", {}, value, note ? el("small", { text: note }) : null));
  const interval = rate?.completion_interval;
  tiles.replaceChildren(
    tile("Started", fmt.count(rate?.started_count)),
    tile("Completed", fmt.count(rate?.completed_count)),
    tile(
      "Completion rate",
      fmt.percent(rate?.completion_percent),
      interval ? `95 % interval ${fmt.percent(round(interval.low * 100, 1))} to ${fmt.percent(round(interval.high * 100, 1))}` : null,
    ),
    tile("Median time to complete", fmt.minutes(time?.median_minutes)),
    tile("Skipped the wizard", fmt.count(rate?.skipped_count)),
    tile("In progress", fmt.count(rate?.in_progress_count), "neither completed nor skipped"),
  );
  $("#summary").hidden = false;
}

// ------------------------------------------------------------------ incomplete organizations
const INCOMPLETE_COLUMNS = [
  { key: "id", label: "ID", format: fmt.text },
  { key: "wizard_current_step", label: "Current step", format: fmt.count },
  { key: "started_at", label: "Started (UTC)", format: fmt.date },
  { key: "hours_since_start", label: "Stuck for", format: fmt.hours },
];

async function loadIncomplete(mine = generation) {
  const { from, to } = periodRange();
  const root = resetSection("incomplete");
  const body = root.querySelector("tbody");
  try {
    const answer = await api("/v1/analytics/incomplete", { from, to, limit: PAGE_SIZE, cursor: view.cursors[view.page] });
    if (mine !== generation) return;
    const rows = answer.organizations.map((o) => ({
      item: o.id,
      label: o.name,
      values: Object.fromEntries(INCOMPLETE_COLUMNS.map((c) => [c.key, o[c.key]])),
    }));
    remember("incomplete", ALL, `Incomplete organizations, page ${view.page + 1}`, INCOMPLETE_COLUMNS, rows);
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = el("tr", { "data-item": row.item }, el("th", { scope: "row", text: row.label }));
        for (const column of INCOMPLETE_COLUMNS) {
          const value = row.values[column.key];
          tr.append(el("td", { "data-key": column.key, "data-value": JSON.stringify(value ?? null), text: column.format(value) }));
        }
        return tr;
      }),
    );
    view.cursors[view.page + 1] = answer.next_cursor;
    $("#incomplete-page").textContent = String(view.page + 1);
    $("#incomplete-prev").disabled = view.page === 0;
    $("#incomplete-next").disabled = !answer.next_cursor;
    if (!rows.length) setState("incomplete", view.page ? "No more organizations." : "No incomplete organizations: every organization that started in this period completed or skipped the wizard.");
  } catch (error) {
    if (mine !== generation) return;
    body.replaceChildren();
    $("#incomplete-prev").disabled = view.page === 0;
    $("#incomplete-next").disabled = true;
    reportError("incomplete", "the incomplete organizations", error);
  }
}

// ------------------------------------------------------------------ errors
function showAlert(title, message, { signIn = false } = {}) {
  const alert = $("#alert");
  alert.replaceChildren(el("h2", { text: title }), el("p", { text: message }));
  if (signIn && signInAction) {
    const button = el("button", { type: "button", text: "Sign in again" });
    button.addEventListener("click", () => signInAction());
    alert.append(button);
  }
  alert.hidden = false;
}

function hideReports() {
  for (const id of ["controls", "summary", "funnel", "rate", "time", "incomplete"]) $(`#${id}`).hidden = true;
}

// A 401/403 concerns the whole page; anything else, the section that asked.
function reportError(section, what, error) {
  if (error instanceof ApiError && error.status === 403) {
    hideReports();
    showAlert(
      "This account is not an analyst",
      "You are signed in, but your account is not in the platform_analyst group, which these reports need (the API answered 403). Ask an administrator to add you to the group, then sign in again.",
      { signIn: true },
    );
    return;
  }
  if ((error instanceof ApiError && error.status === 401) || error instanceof AuthError) {
    hideReports();
    showAlert("Not signed in", `The API did not accept the session (${error.message}). Sign in again.`, { signIn: true });
    return;
  }
  if (error instanceof ApiError && error.code === "experiment_not_found") {
    setControlsError(`The experiment “${view.experiment}” does not exist (any more); the reports are shown without a split.`);
    view.experiment = "";
    $("#experiment").value = "";
    load();
    return;
  }
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status}${error.code ? `, ${error.code}` : ""})` : "";
  setState(section, `Could not load ${what}: ${error.message}${status}. Change the period or reload the page to try again.`, { error: true });
  if (!(error instanceof ApiError)) console.error(error); // a defect of the page, not an answer
}

function setControlsError(message) {
  const node = $("#controls-error");
  node.textContent = message;
  node.hidden = !message;
}

// ------------------------------------------------------------------ loading
async function section(name, what, request, render) {
  try {
    const answer = await request;
    return { name, answer, render, what };
  } catch (error) {
    return { name, error, what };
  }
}

async function load() {
  generation += 1;
  const mine = generation;
  const { from, to } = periodRange();
  $("#period-label").textContent = periodText({ from, to });
  const split = view.experiment || null;
  const main = $("#main");
  main.setAttribute("aria-busy", "true");
  view.cursors = [null];
  view.page = 0;
  const results = await Promise.all([
    section("funnel", "the funnel", api("/v1/analytics/funnel", { from, to, inactive_days: view.inactiveDays, experiment: split }), renderFunnel),
    section("rate", "the completion rate", api("/v1/analytics/completion-rate", { from, to, experiment: split }), renderRate),
    section("time", "the completion times", api("/v1/analytics/completion-time", { from, to, experiment: split }), renderTime),
    loadIncomplete(mine).then(() => null),
  ]);
  if (mine !== generation) return;
  const answers = {};
  for (const result of results) {
    if (!result) continue;
    if (result.error) {
      resetSection(result.name);
      $(`#${result.name} .panels`).replaceChildren();
      reportError(result.name, result.what, result.error);
      if ($("#alert").hidden === false) break;
    } else {
      answers[result.name] = result.answer;
      result.render(result.answer);
    }
  }
  if ($("#alert").hidden) renderSummary(answers.rate, answers.time);
  main.setAttribute("aria-busy", "false");
  document.body.dataset.loaded = String(mine); // tests wait for this
}

async function loadExperiments() {
  const select = $("#experiment");
  try {
    const answer = await api("/v1/analytics/experiments");
    for (const experiment of answer.experiments ?? []) {
      const key = experiment.key ?? experiment.id;
      const variants = (experiment.variants ?? []).map((v) => (typeof v === "string" ? v : v.id ?? v.variant));
      const state = experiment.is_active === false ? ", inactive" : "";
      select.append(el("option", { value: key, text: `${key} (${variants.join(" / ")}${state})` }));
    }
    select.disabled = select.options.length <= 1;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) throw error;
    select.disabled = true;
    setControlsError(`Experiments could not be listed (${error.message}); the reports are shown without a split.`);
  }
}

// ------------------------------------------------------------------ CSV
function csvField(value) {
  let text = value === null || value === undefined ? "" : String(value);
  // A spreadsheet runs a cell that starts with = + - @ as a formula: organization names are user input.
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvOfShown() {
  const { from, to } = periodRange();
  const lines = [["section", "variant", "item", "measure", "value"]];
  lines.push(["period", "", "", "from", from ?? ""], ["period", "", "", "to", to ?? ""]);
  lines.push(["period", "", "", "inactive_days", view.inactiveDays], ["period", "", "", "experiment", view.experiment]);
  for (const tables of shownTables.values()) {
    for (const table of tables) {
      for (const row of table.rows) {
        if (table.section === "incomplete") lines.push([table.section, table.variant, row.item, "name", row.label]);
        for (const column of table.columns) {
          lines.push([table.section, table.variant, row.item, column.key, row.values[column.key] ?? ""]);
        }
      }
    }
  }
  return lines.map((line) => line.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function downloadCsv() {
  const { from, to } = periodRange();
  const blob = new Blob([csvOfShown()], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: `onboarding-analytics_${from ?? "all"}_${to ?? "today"}${view.experiment ? `_${view.experiment}` : ""}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ------------------------------------------------------------------ controls
function wireControls() {
  const period = $("#period");
  const custom = $("#custom-range");
  period.addEventListener("change", () => {
    view.period = period.value;
    custom.hidden = view.period !== "custom";
    if (view.period === "custom") {
      $("#from").focus();
      return; // wait for Apply
    }
    setControlsError("");
    load();
  });
  $("#controls").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = $("#from").value || null;
    const to = $("#to").value || null;
    if (!from && !to) return setControlsError("Choose a first day, a last day, or both.");
    if (from && to && from > to) return setControlsError("The first day is after the last day.");
    setControlsError("");
    Object.assign(view, { from, to });
    load();
  });
  $("#experiment").addEventListener("change", (event) => {
    view.experiment = event.target.value;
    setControlsError("");
    load();
  });
  $("#inactive-days").addEventListener("change", (event) => {
    const days = Number(event.target.value);
    if (!Number.isInteger(days) || days < 1 || days > 365) return setControlsError("Inactive after: a whole number of days, 1 to 365.");
    setControlsError("");
    view.inactiveDays = days;
    load();
  });
  $("#download-csv").addEventListener("click", downloadCsv);
  $("#incomplete-prev").addEventListener("click", () => {
    view.page = Math.max(0, view.page - 1);
    loadIncomplete();
  });
  $("#incomplete-next").addEventListener("click", () => {
    if (!view.cursors[view.page + 1]) return;
    view.page += 1;
    loadIncomplete();
  });
}

// ------------------------------------------------------------------ start
let signInAction = null;

function chartDefaults() {
  const Chart = window.Chart;
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.color = "#1b1f24";
  Chart.defaults.borderColor = "#d5dae1";
}

async function main() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    config = await response.json();
  } catch (error) {
    showAlert("The dashboard is not configured", `Its config.json could not be read (${error.message}). See docs/dashboard.md.`);
    return;
  }
  if (!window.Chart) {
    showAlert("The charting library did not load", "vendor/chart.umd.min.js is missing or was blocked.");
    return;
  }
  chartDefaults();
  let auth;
  try {
    auth = await startAuth(config);
  } catch (error) {
    showAlert("Sign-in failed", error.message);
    return;
  }
  signInAction = auth.signIn;
  session = auth.session;
  if (!session) {
    $("#sign-in").hidden = false;
    $("#sign-in").addEventListener("click", () => auth.signIn());
    showAlert("Sign in to see the onboarding analytics", "The reports are for platform analysts. Sign in with your SignUpFlow account.");
    $("#alert").setAttribute("role", "status");
    return;
  }
  $("#account-name").textContent = session.user;
  if (session.dev) {
    const banner = $("#dev-banner");
    banner.textContent = "DEV ONLY: signed in as a local dev analyst (unsigned token, local API)";
    banner.hidden = false;
  }
  if (session.signOut) {
    $("#sign-out").hidden = false;
    $("#sign-out").addEventListener("click", () => session.signOut());
  }
  wireControls();
  $("#controls").hidden = false;
  try {
    await loadExperiments();
  } catch (error) {
    reportError("funnel", "the experiments", error);
    document.body.dataset.loaded = "error";
    return;
  }
  await load();
}

main();
