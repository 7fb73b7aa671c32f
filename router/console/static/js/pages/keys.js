// Keys: filter and page through them, mint one (its secret shown once), rotate, revoke.

import { api, segment } from "../api.js";
import { button, form, guarded, h, input, replace, select, table, when } from "../dom.js";

const ROLES = ["trigger", "action", "core", "admin", "user"];
const STATES = [["", "any state"], ["active", "active"], ["revoked", "revoked"], ["expired", "expired"]];

function keyState(key) {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && new Date(key.expires_at) <= new Date()) return "expired";
  return "active";
}

function filterForm(onFilter) {
  return form(
    { class: "filters", id: "key-filters" },
    [
      select("state", STATES),
      select("role", [["", "any role"], ...ROLES.map((r) => [r, r])]),
      input("community", { placeholder: "community" }),
      input("module_id", { placeholder: "module id" }),
      input("q", { placeholder: "name or prefix contains", type: "search" }),
      input("limit", { placeholder: "per page (50)", inputmode: "numeric", size: 6 }),
    ],
    "Filter",
    onFilter,
  );
}

function createForm(onCreated) {
  return form(
    { class: "inline", id: "key-create" },
    [
      input("name", { placeholder: "name", required: true }),
      select("role", ROLES.map((r) => [r, r])),
      input("communities", { placeholder: "communities: * or a,b" }),
      input("module_id", { placeholder: "module id (optional)" }),
      input("expires_at", { placeholder: "expires (RFC 3339, optional)" }),
      input("rate_limit", { placeholder: "rate limit e.g. 100/60" }),
    ],
    "Create key",
    async (values, element) => {
      const communities = (values.communities || "*").split(",").map((c) => c.trim()).filter(Boolean);
      const body = { name: values.name, role: values.role, communities };
      for (const name of ["module_id", "expires_at", "rate_limit"]) if (values[name]) body[name] = values[name];
      const created = await api.post("/admin/keys", body);
      element.reset();
      await onCreated(created, `Created key ${created.prefix}`);
    },
  );
}

// The secret exists in this box only until it is dismissed: it is never stored.
function secretBox(created, label) {
  const box = h(
    "div",
    { class: "secret", id: "new-secret", role: "alert" },
    h("p", {}, `${label}. Copy the key now: it is shown only this once.`),
    h("code", { id: "new-secret-value" }, created.key),
  );
  box.append(
    button("Copy", () => navigator.clipboard && navigator.clipboard.writeText(created.key)),
    button("I have saved it", () => box.remove(), { id: "dismiss-secret" }),
  );
  return box;
}

export async function keysPage(view) {
  const status = h("p", { class: "status", role: "status", id: "keys-status" });
  const notices = h("div", { id: "key-notices" });
  const panel = h("div", { class: "panel", id: "key-action" });
  const results = h("div", { id: "key-list" });
  let filters = {};
  let cursors = [];

  async function load(cursor) {
    const page = await api.get("/admin/keys", { ...filters, limit: filters.limit || 50, cursor });
    const next = page.next_cursor
      ? button("Next page", () => guarded(status, () => { cursors.push(cursor); return load(page.next_cursor); }), { id: "keys-next" })
      : null;
    const previous = cursors.length
      ? button("Previous page", () => guarded(status, () => load(cursors.pop())), { id: "keys-previous" })
      : null;
    replace(results, keysTable(page.items), h("div", { class: "pager" }, previous, next));
  }

  function keysTable(items) {
    return table(items, [
      { title: "Prefix", value: (k) => h("code", {}, k.prefix) },
      { title: "Name", value: (k) => k.name },
      { title: "Role", value: (k) => k.role },
      { title: "Communities", value: (k) => k.communities },
      { title: "Module", value: (k) => k.module_id },
      { title: "State", value: (k) => h("span", { class: `state ${keyState(k)}` }, keyState(k)) },
      { title: "Created", value: (k) => when(k.created_at) },
      { title: "Expires", value: (k) => when(k.expires_at) },
      { title: "Last used", value: (k) => when(k.last_used_at) },
      { title: "", value: (k) => (keyState(k) === "revoked" ? "" : actions(k)) },
    ], { empty: "No key matches." });
  }

  function actions(key) {
    return h(
      "span",
      { class: "actions" },
      button("Rotate", () => askRotate(key), { "data-action": "rotate", "data-prefix": key.prefix }),
      button("Revoke", () => askRevoke(key), { "data-action": "revoke", "data-prefix": key.prefix, class: "danger" }),
    );
  }

  function askRotate(key) {
    replace(panel, form({ class: "inline" }, [
      h("span", {}, `Rotate ${key.prefix} (${key.name}); the old key keeps working for`),
      input("grace_seconds", { value: "0", size: 6, inputmode: "numeric" }), h("span", {}, "seconds"),
    ], "Rotate", async (values) => {
      const created = await api.post(`/admin/keys/${segment(key.id)}/rotate`, { grace_seconds: Number(values.grace_seconds || 0) });
      replace(panel);
      await shown(created, `Rotated ${key.prefix}: new key ${created.prefix}`);
    }), button("Cancel", () => replace(panel)));
  }

  function askRevoke(key) {
    replace(panel, h("span", {}, `Revoke ${key.prefix} (${key.name})? Every router rejects it within a second.`),
      button("Revoke", () => guarded(status, async () => {
        await api.del(`/admin/keys/${segment(key.id)}`);
        replace(panel);
        status.textContent = `Revoked ${key.prefix}.`;
        await load();
      }), { class: "danger", id: "confirm-revoke" }),
      button("Cancel", () => replace(panel)));
  }

  async function shown(created, label) {
    replace(notices, secretBox(created, label));
    await load();
  }

  view.append(
    h("h2", {}, "New key"), createForm(shown), notices,
    h("h2", {}, "Keys"), filterForm(async (values) => { filters = values; cursors = []; await load(); }),
    status, panel, results,
  );
  await guarded(status, () => load());
}
