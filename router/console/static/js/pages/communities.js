// Communities: create, open one to link and unlink its channels, delete.

import { api, segment } from "../api.js";
import { button, form, guarded, h, input, replace, table, when } from "../dom.js";

export async function communitiesPage(view) {
  const status = h("p", { class: "status", role: "status", id: "communities-status" });
  const list = h("div", { id: "community-list" });
  const detail = h("div", { id: "community-detail", class: "panel" });

  async function load() {
    const page = await api.get("/admin/communities");
    replace(list, table(page.items, [
      { title: "Id", value: (c) => h("code", {}, c.id) },
      { title: "Name", value: (c) => h("span", { class: "community-name" }, c.name) },
      { title: "Created", value: (c) => when(c.created_at) },
      { title: "", value: (c) => h("span", { class: "actions" },
        button("Open", () => guarded(status, () => open(c.id)), { "data-action": "open", "data-id": c.id }),
        button("Delete", () => askDelete(c), { "data-action": "delete", "data-id": c.id, class: "danger" })) },
    ], { empty: "No community yet." }));
  }

  async function open(id) {
    const community = await api.get(`/admin/communities/${segment(id)}`);
    const base = `/admin/communities/${segment(id)}/channels`;
    const channels = table(community.channels, [
      { title: "Platform", value: (c) => c.platform },
      { title: "Channel", value: (c) => h("code", {}, c.channel_id) },
      { title: "Linked", value: (c) => when(c.linked_at) },
      { title: "", value: (c) => button("Unlink", () => guarded(status, async () => {
        await api.del(`${base}/${segment(c.platform)}/${segment(c.channel_id)}`);
        status.textContent = `Unlinked ${c.platform} ${c.channel_id}.`;
        await open(id);
      }), { "data-action": "unlink", "data-channel": c.channel_id }) },
    ], { empty: "No channel linked." });
    const link = form({ class: "inline", id: "channel-link" }, [
      input("platform", { placeholder: "platform (twitch, discord…)", required: true }),
      input("channel_id", { placeholder: "channel id", required: true }),
    ], "Link channel", async (values) => {
      await api.post(base, { platform: values.platform, channel_id: values.channel_id });
      await open(id);
    });
    replace(detail,
      h("h2", {}, "Community ", h("span", { class: "community-name" }, community.name), " (", h("code", {}, community.id), ")"),
      h("h3", {}, "Channels"), channels, link,
      button("Close", () => replace(detail)));
  }

  function askDelete(community) {
    replace(detail, h("span", {}, `Delete community ${community.id}? It must have no active key scoped to it.`),
      button("Delete", () => guarded(status, async () => {
        await api.del(`/admin/communities/${segment(community.id)}`);
        replace(detail);
        status.textContent = `Deleted ${community.id}.`;
        await load();
      }), { class: "danger", id: "confirm-delete" }),
      button("Cancel", () => replace(detail)));
  }

  const create = form({ class: "inline", id: "community-create" }, [
    input("id", { placeholder: "id (optional for global admins)" }),
    input("name", { placeholder: "name", required: true }),
  ], "Create community", async (values, element) => {
    const body = { name: values.name };
    if (values.id) body.id = values.id;
    const created = await api.post("/admin/communities", body);
    element.reset();
    status.textContent = `Created ${created.id}.`;
    await load();
  });

  view.append(h("h2", {}, "New community"), create, h("h2", {}, "Communities"), status, list, detail);
  await guarded(status, load);
}
