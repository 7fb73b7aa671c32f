// Modules: instances with status and breaker state, breaker reset, aggregated health.

import { api, segment } from "../api.js";
import { button, guarded, h, replace, table, text, when } from "../dom.js";

// The aggregated health (GET /api/v1/health/services); a router without it says so.
async function healthSection() {
  const section = h("div", { id: "services-health" });
  try {
    const health = await api.get("/health/services");
    const services = Object.entries(health.services || {});
    replace(section,
      h("p", {}, "Overall: ", h("strong", { class: `health ${health.status}` }, text(health.status))),
      table(services, [
        { title: "Service", value: ([name]) => name },
        { title: "Status", value: ([, s]) => s.status },
        { title: "Healthy instances", value: ([, s]) => `${s.healthy_instances} of ${s.instances}` },
      ], { empty: "No service registered." }));
  } catch (error) {
    const missing = error.status === 404 || error.status === 405;
    replace(section, h("p", { class: missing ? "empty" : "status error" },
      missing ? "Aggregated health is not available on this router." : error.detail || String(error)));
  }
  return section;
}

function breakerBadge(state) {
  return h("span", { class: `breaker ${state}` }, state);
}

export async function modulesPage(view) {
  const status = h("p", { class: "status", role: "status", id: "modules-status" });
  const list = h("div", { id: "module-list" });

  async function load() {
    const modules = (await api.get("/modules")).items;
    if (!modules.length) return replace(list, h("p", { class: "empty" }, "No module registered."));
    replace(list, modules.map((m) => h("article", { class: "module", "data-module": m.module_id },
      h("h3", {}, m.module_id, " ", h("small", {}, `${m.module_type} ${m.module_version} · ${m.status}`)),
      h("p", { class: "hint" }, `actions: ${text(m.actions)} · commands: ${text(m.commands)}`),
      table(m.instances, [
        { title: "Instance", value: (i) => h("code", {}, i.instance_id) },
        { title: "Status", value: (i) => i.status },
        { title: "Breaker", value: (i) => breakerBadge(i.breaker) },
        { title: "Lease until", value: (i) => when(i.lease_expires_at) },
        { title: "Base URL", value: (i) => i.base_url },
        { title: "", value: (i) => button("Reset breaker", () => guarded(status, async () => {
          await api.post(`/admin/modules/${segment(m.module_id)}/instances/${segment(i.instance_id)}/breaker/reset`);
          status.textContent = `Breaker of ${m.module_id}/${i.instance_id} closed.`;
          await load();
        }), { "data-action": "reset", "data-instance": i.instance_id }) },
      ], { empty: "No live instance." }))));
  }

  view.append(h("h2", {}, "Services health"), await healthSection(),
    h("h2", {}, "Registered modules"), status, button("Refresh", () => guarded(status, load)), list);
  await guarded(status, load);
}
