// Progressive enhancement: the pages work without this file.
"use strict";

const csrf = () => document.body.dataset.csrf;

// One confirmation for every destructive action: the page's <dialog id="confirm">, small,
// focused on Cancel, closed by Escape. Forms ask for it with data-confirm="what happens"
// (and data-confirm-button="Revoke"); without JavaScript they submit as they are.
function confirmed(message, action = "Delete") {
  const dialog = document.getElementById("confirm");
  if (!dialog?.showModal) return Promise.resolve(window.confirm(message));
  dialog.querySelector("#confirm-message").textContent = message;
  dialog.querySelector("#confirm-yes").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.querySelector("#confirm-no").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.dataset.confirm || form.dataset.confirmedOnce) return;
  event.preventDefault();
  if (!(await confirmed(form.dataset.confirm, form.dataset.confirmButton))) return;
  form.dataset.confirmedOnce = "1";
  form.requestSubmit(event.submitter);
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
  } catch (_) {
    const area = document.createElement("textarea");
    area.value = button.dataset.copy;
    document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
  }
  button.classList.add("copied");
  const label = button.textContent; button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 1200);
});

function tagBoxes() { return [...document.querySelectorAll('#tags input[name="tags"]')]; }

document.getElementById("select-page")?.addEventListener("change", (event) => {
  tagBoxes().forEach((box) => { box.checked = event.target.checked; });
});

// Delete the selection through the REST API and update the table in place.
document.getElementById("tags-form")?.addEventListener("submit", async (event) => {
  const form = event.currentTarget;
  if (form.querySelector("#select-all")?.checked) return; // let the server list every match
  event.preventDefault();
  const chosen = tagBoxes().filter((box) => box.checked).map((box) => box.value);
  if (chosen.length === 0) {
    const status = document.getElementById("delete-status");
    status.className = "error"; status.textContent = "Select at least one tag, or every matching tag."; return;
  }
  const listed = chosen.length > 5 ? `${chosen.slice(0, 5).join(", ")} and ${chosen.length - 5} more` : chosen.join(", ");
  if (!(await confirmed(`Delete ${chosen.length} tag${chosen.length === 1 ? "" : "s"}: ${listed}? Tags cannot be restored.`))) return;
  const response = await fetch(`/api/v1/registry/repositories/${form.dataset.repositoryId}/tags/delete`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ tags: chosen }),
  });
  const status = document.getElementById("delete-status");
  if (!response.ok) {
    const reason = (await response.json().catch(() => ({}))).error?.message ?? `HTTP ${response.status}`;
    status.className = "error"; status.textContent = `Delete failed: ${reason}`; return;
  }
  status.className = "flash"; status.textContent = `Deleted ${chosen.length} tag${chosen.length === 1 ? "" : "s"}.`;
  chosen.forEach((name) => form.querySelector(`tr[data-tag="${CSS.escape(name)}"]`)?.remove());
  for (const total of document.querySelectorAll(".tag-total")) {
    total.textContent = String(Math.max(0, Number(total.textContent) - chosen.length));
  }
  document.getElementById("select-page").checked = false;
});

// "Load more" appends the next page's rows as the server renders them (referrer and
// scan badges included) instead of reloading the page.
document.getElementById("load-more")?.addEventListener("click", async (event) => {
  const body = document.querySelector("#tags tbody");
  if (!body) return;
  event.preventDefault();
  const link = event.currentTarget;
  const response = await fetch(link.href, { credentials: "same-origin" });
  if (!response.ok) { window.location = link.href; return; }
  const next = new DOMParser().parseFromString(await response.text(), "text/html");
  const shown = new Set([...body.querySelectorAll("tr[data-tag]")].map((row) => row.dataset.tag));
  for (const row of next.querySelectorAll("#tags tbody tr[data-tag]")) {
    if (!shown.has(row.dataset.tag)) body.append(document.importNode(row, true));
  }
  const total = next.getElementById("tag-total")?.textContent;
  if (total) document.querySelectorAll(".tag-total").forEach((shown) => { shown.textContent = total; });
  const more = next.getElementById("load-more");
  if (more) link.setAttribute("href", more.getAttribute("href")); else link.remove();
});

// A background tag delete: follow its progress, then show the list as it is now.
(function followDelete() {
  const card = document.getElementById("delete-job");
  if (!card) return;
  const bar = document.getElementById("delete-job-bar");
  const text = document.getElementById("delete-job-text");
  const poll = async () => {
    const response = await fetch(card.dataset.progress, { credentials: "same-origin" });
    if (!response.ok) { setTimeout(poll, 5000); return; }
    const job = await response.json();
    if (job.state === "finished") { window.location.reload(); return; }
    if (job.total != null) {
      bar.max = Math.max(job.total, 1); bar.value = job.done;
      text.firstChild.textContent = `${job.done.toLocaleString("en")} of ${job.total.toLocaleString("en")} deleted. `;
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
})();
