// Dead letters: events a module kept refusing; list them and send one back.

import { api, segment } from "../api.js";
import { button, form, guarded, h, input, replace, table } from "../dom.js";

export async function deadLettersPage(view) {
  const status = h("p", { class: "status", role: "status", id: "deadletters-status" });
  const list = h("div", { id: "deadletter-list" });
  let filters = {};

  async function load() {
    const page = await api.get("/admin/deadletters", filters);
    replace(list, table(page.items, [
      { title: "Id", value: (d) => h("code", {}, d.id) },
      { title: "Community", value: (d) => d.community_id },
      { title: "Module", value: (d) => d.module_id },
      { title: "Type", value: (d) => d.type },
      { title: "Attempts", value: (d) => d.attempts },
      { title: "Failed", value: (d) => new Date(d.failed_at_ms).toISOString() },
      { title: "Last error", value: (d) => d.last_error },
      { title: "", value: (d) => button("Replay", () => guarded(status, async () => {
        const result = await api.post(`/admin/deadletters/${segment(d.id)}/replay`);
        status.textContent = `Replayed ${result.id} as ${result.replayed_as}.`;
        await load();
      }), { "data-action": "replay", "data-id": d.id }) },
    ], { empty: "No dead letter." }));
  }

  const filter = form({ class: "filters" }, [
    input("community", { placeholder: "community" }),
    input("module", { placeholder: "module" }),
    input("limit", { placeholder: "limit (100)", size: 6, inputmode: "numeric" }),
  ], "Filter", async (values) => { filters = values; await load(); });

  view.append(filter, status, list);
  await guarded(status, load);
}
