// Audit: every filter of the API, cursor paging, NDJSON/CSV export, chain verification, and a
// chart of records per hour by category over the selected range (from /audit/stats).

import { api, download } from "../api.js";
import { button, form, guarded, h, input, replace, select, table, text, when } from "../dom.js";
import { drawChart } from "./chart.js";

export const CATEGORIES = ["AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM"];
const RESULTS = ["success", "denied", "failure"];
const DAY_MS = 24 * 3600 * 1000;

function filterForm(onFilter) {
  return form({ class: "filters", id: "audit-filters" }, [
    select("category", [["", "any category"], ...CATEGORIES.map((c) => [c, c])]),
    select("result", [["", "any result"], ...RESULTS.map((r) => [r, r])]),
    input("community", { placeholder: "community" }),
    input("user", { placeholder: "user" }),
    input("action", { placeholder: "action" }),
    input("since", { placeholder: "since (RFC 3339)" }),
    input("until", { placeholder: "until (RFC 3339)" }),
    input("limit", { placeholder: "per page (100)", size: 6, inputmode: "numeric" }),
  ], "Apply", onFilter);
}

// The chart's range: the filter's, else the last 24 hours.
function chartRange(filters) {
  const until = filters.until ? new Date(filters.until) : new Date();
  const since = filters.since ? new Date(filters.since) : new Date(until.getTime() - DAY_MS);
  return { since: since.toISOString(), until: until.toISOString() };
}

function recordsTable(items) {
  return table(items, [
    { title: "Id", value: (r) => r.id },
    { title: "Time", value: (r) => when(r.timestamp) },
    { title: "Category", value: (r) => h("span", { class: `category ${r.category}` }, r.category) },
    { title: "Community", value: (r) => r.community },
    { title: "User", value: (r) => r.user },
    { title: "Action", value: (r) => r.action },
    { title: "Result", value: (r) => r.result },
    { title: "Reason", value: (r) => r.reason },
    { title: "Correlation id", value: (r) => h("code", {}, text(r.correlation_id)) },
    { title: "Details", value: (r) => h("code", { class: "details" }, text(r.details)) },
  ], { empty: "No record matches." });
}

export async function auditPage(view) {
  const status = h("p", { class: "status", role: "status", id: "audit-status" });
  const chart = h("div", { id: "audit-chart", class: "chart" });
  const summary = h("p", { id: "audit-chart-summary", class: "hint" });
  const results = h("div", { id: "audit-list" });
  const verdict = h("p", { id: "audit-verify-result", class: "status", role: "status" });
  let filters = {};
  let cursors = [];

  const queryFilters = () => {
    const { limit, ...rest } = filters;
    return { ...rest, limit: limit || 100 };
  };

  async function loadPage(cursor) {
    const page = await api.get("/admin/audit", { ...queryFilters(), cursor });
    const next = page.next_cursor
      ? button("Older", () => guarded(status, () => { cursors.push(cursor); return loadPage(page.next_cursor); }), { id: "audit-next" })
      : null;
    const newer = cursors.length
      ? button("Newer", () => guarded(status, () => loadPage(cursors.pop())), { id: "audit-previous" })
      : null;
    replace(results, recordsTable(page.items), h("div", { class: "pager" }, newer, next));
  }

  async function loadChart() {
    const range = chartRange(filters);
    const stats = await api.get("/admin/audit/stats", { bucket: "hour", ...range, community: filters.community });
    const shown = filters.category ? [filters.category] : CATEGORIES;
    const totals = Object.fromEntries(shown.map((c) => [c, stats.buckets.reduce((n, b) => n + (b.counts[c] || 0), 0)]));
    summary.dataset.totals = JSON.stringify(totals);
    summary.textContent = `${when(range.since)} to ${when(range.until)} (UTC): ` +
      shown.map((c) => `${c} ${totals[c]}`).join(" · ");
    drawChart(chart, stats.buckets, shown);
  }

  async function apply(values) {
    filters = values;
    cursors = [];
    await Promise.all([loadPage(), loadChart()]);
  }

  async function exportAs(kind) {
    const { limit, ...rest } = filters;
    const size = await download("/admin/audit/export", { ...rest, limit, format: kind }, `audit.${kind}`);
    status.textContent = `Exported ${size} bytes as audit.${kind}.`;
  }

  async function verify() {
    replace(verdict, "Checking the chain…");
    const result = await api.get("/admin/audit/verify");
    verdict.dataset.ok = String(result.ok);
    verdict.textContent = result.ok
      ? `Chain intact: ${result.checked} records checked.`
      : `Chain BROKEN at record ${result.first_bad_id} (${result.checked} checked).`;
  }

  view.append(
    filterForm(apply),
    h("div", { class: "toolbar" },
      button("Export NDJSON", () => guarded(status, () => exportAs("ndjson")), { id: "export-ndjson" }),
      button("Export CSV", () => guarded(status, () => exportAs("csv")), { id: "export-csv" }),
      button("Verify chain", () => guarded(verdict, verify), { id: "verify-chain" })),
    verdict, h("h2", {}, "Records per hour"), summary, chart, status, h("h2", {}, "Records"), results,
  );
  await guarded(status, () => apply({}));
}
