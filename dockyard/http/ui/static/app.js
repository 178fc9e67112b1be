// Progressive enhancement: the pages work without this file.
"use strict";

const csrf = () => document.body.dataset.csrf;

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

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function humanSize(size) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let value = size; let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// The lock the server renders for a protected or immutable tag (templates/lock_badge.html).
function lockBadge(protection) {
  if (!protection) return "";
  const label = protection.immutable ? "immutable" : "protected";
  const icon = '<svg class="lock-icon" aria-hidden="true" viewBox="0 0 16 16" width="11" height="11">' +
    '<path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z"/></svg>';
  return ` <span class="badge lock ${label}">${icon} ${label}</span>`;
}

// Delete the selection through the REST API and update the table in place.
document.getElementById("tags-form")?.addEventListener("submit", async (event) => {
  const form = event.currentTarget;
  if (form.querySelector("#select-all")?.checked) return; // let the server list every match
  event.preventDefault();
  const chosen = tagBoxes().filter((box) => box.checked).map((box) => box.value);
  if (chosen.length === 0) { alert("Select at least one tag."); return; }
  if (!confirm(`Delete ${chosen.length} tag${chosen.length === 1 ? "" : "s"}: ${chosen.join(", ")}?`)) return;
  const response = await fetch(`/api/v1/registry/repositories/${form.dataset.repositoryId}/tags/delete`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ tags: chosen }),
  });
  if (!response.ok) { alert(`Delete failed: ${(await response.json()).error?.message ?? response.status}`); return; }
  chosen.forEach((name) => form.querySelector(`tr[data-tag="${CSS.escape(name)}"]`)?.remove());
  const total = document.getElementById("tag-total");
  if (total) total.textContent = String(Number(total.textContent) - chosen.length);
  document.getElementById("select-page").checked = false;
});

// "Load more" appends the next page from the REST API instead of reloading.
document.getElementById("load-more")?.addEventListener("click", async (event) => {
  const form = document.getElementById("tags-form");
  if (!form) return;
  event.preventDefault();
  const link = event.currentTarget;
  const perPage = Number(form.dataset.perPage);
  const page = Number(link.dataset.page || Number(form.dataset.page) + 1);
  const query = new URLSearchParams({ name: form.dataset.name, sort: form.dataset.sort, per_page: perPage, page: page * 1 });
  const response = await fetch(`/api/v1/registry/repositories/${form.dataset.repositoryId}/tags?${query}`, { credentials: "same-origin" });
  if (!response.ok) { window.location = link.href; return; }
  const rows = await response.json();
  const body = form.querySelector("#tags tbody");
  const selectable = !!form.querySelector("#select-page");
  for (const tag of rows) {
    const row = document.createElement("tr");
    row.dataset.tag = tag.name;
    const repo = form.dataset.repository;
    row.innerHTML = (selectable ? `<td><input type="checkbox" name="tags" value="${escapeHtml(tag.name)}" aria-label="Select ${escapeHtml(tag.name)}"></td>` : "") +
      `<td><a href="/r/${escapeHtml(repo)}/-/tags/${encodeURIComponent(tag.name)}">${escapeHtml(tag.name)}</a>` +
      tag.platforms.map((p) => ` <span class="badge platform">${escapeHtml(p)}</span>`).join("") + lockBadge(tag.protection) + `</td>` +
      `<td><code title="${escapeHtml(tag.digest)}">${escapeHtml(tag.digest.slice(7, 19))}</code></td>` +
      `<td>${humanSize(tag.size)}</td><td title="${escapeHtml(tag.pushed_at)}">${escapeHtml(tag.pushed_at.slice(0, 19).replace("T", " "))}</td>` +
      `<td><button type="button" class="copy small" data-copy="docker pull ${escapeHtml(form.dataset.host)}/${escapeHtml(repo)}:${escapeHtml(tag.name)}">Copy pull</button></td>`;
    body.append(row);
  }
  const shown = body.querySelectorAll("tr[data-tag]").length;
  const total = Number(document.getElementById("tag-total")?.textContent || 0);
  if (rows.length < perPage || shown >= total) link.remove(); else link.dataset.page = String(page + 1);
});
