// The console shell: sign in with a key, switch pages by the URL's #fragment, sign out.

import { api, session } from "./api.js";
import { h, replace } from "./dom.js";
import { auditPage } from "./pages/audit.js";
import { communitiesPage } from "./pages/communities.js";
import { deadLettersPage } from "./pages/deadletters.js";
import { keysPage } from "./pages/keys.js";
import { modulesPage } from "./pages/modules.js";

const PAGES = {
  keys: { title: "Keys", render: keysPage },
  communities: { title: "Communities", render: communitiesPage },
  modules: { title: "Modules", render: modulesPage },
  deadletters: { title: "Dead letters", render: deadLettersPage },
  audit: { title: "Audit", render: auditPage },
};

const $ = (id) => document.getElementById(id);

function currentPage() {
  const name = window.location.hash.replace(/^#/, "");
  return PAGES[name] ? name : "keys";
}

function showNav() {
  const links = Object.entries(PAGES).map(([name, page]) =>
    h("a", { href: `#${name}`, "data-page": name, class: name === currentPage() ? "active" : null }, page.title),
  );
  replace($("nav"), links);
}

async function render() {
  if (!session.key()) return showLogin();
  $("login").hidden = true;
  $("signed-in").hidden = false;
  showNav();
  const name = currentPage();
  const view = $("view");
  view.hidden = false;
  view.dataset.page = name;
  replace(view, h("h1", {}, PAGES[name].title));
  await PAGES[name].render(view);
}

function showLogin(message) {
  $("login").hidden = false;
  $("signed-in").hidden = true;
  $("view").hidden = true;
  replace($("nav"));
  $("login-status").textContent = message || "";
  $("login-key").focus();
}

// A key is accepted when the admin API answers it; the community list is what every admin may read.
async function signIn(event) {
  event.preventDefault();
  const key = $("login-key").value.trim();
  if (!key) return;
  session.signIn(key);
  try {
    await api.get("/admin/communities");
  } catch (error) {
    session.signOut();
    return showLogin(error.detail || String(error));
  }
  $("login-key").value = "";
  await render();
}

function signOut() {
  session.signOut();
  showLogin("Signed out.");
}

$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", render);
render();
