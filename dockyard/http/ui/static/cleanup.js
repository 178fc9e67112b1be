// Live preview of the cleanup policy form: on every change, ask the REST API what the
// policy as edited (not saved) would delete now. Without this file the Preview button
// posts the form to the preview page instead.
"use strict";

(() => {
  const form = document.getElementById("cleanup-form");
  const target = document.getElementById("cleanup-preview");
  if (!form || !target) return;
  const SHOWN = 200; // tags listed per repository; the rest are counted
  const url = `/api/v1/projects/${form.dataset.project}/registry/cleanup_policy/preview?limit=${SHOWN}`;
  let timer = null;
  let latest = 0;

  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const field = (name) => form.elements.namedItem(name);
  const orNull = (name) => field(name).value.trim() === "" ? null : field(name).value;

  function policy() {
    return {
      enabled: field("enabled").checked,
      cadence: field("cadence").value,
      keep_n: orNull("keep_n") === null ? null : Number(field("keep_n").value),
      older_than: orNull("older_than"),
      name_regex: orNull("name_regex"),
      name_regex_keep: orNull("name_regex_keep"),
      repository_regex: orNull("repository_regex"),
    };
  }

  function row(tag, action, muted) {
    return `<tr data-tag="${escape(tag.name)}"${muted ? ' class="muted"' : ""}>` +
      `<td>${escape(tag.name)}</td><td><code title="${escape(tag.digest)}">${escape(tag.digest.slice(7, 19))}</code></td>` +
      `<td title="${escape(tag.pushed_at)}">${escape(tag.pushed_at.slice(0, 19).replace("T", " "))}</td><td>${escape(action)}</td></tr>`;
  }

  function render(data) {
    const skipped = data.tags_skipped ? `, ${data.tags_skipped} kept by protection` : "";
    let html = `<p id="cleanup-summary"><strong>${data.tags_to_delete}</strong> tag(s) would be deleted now${skipped}, ` +
      `in ${data.repositories.length} image repositories in scope.</p>`;
    for (const repo of data.repositories) {
      html += `<h3>${escape(repo.repository)} <span class="muted">(${repo.tag_count} tags)</span></h3>`;
      if (!repo.tags.length && !repo.skipped.length) { html += '<p class="muted">Nothing to delete.</p>'; continue; }
      html += '<table class="list cleanup-preview"><thead><tr><th>Tag</th><th>Digest</th><th>Pushed</th><th></th></tr></thead><tbody>';
      html += repo.tags.map((t) => row(t, "delete", false)).join("");
      html += repo.skipped.map((t) => row(t, `kept: ${t.reason}`, true)).join("");
      html += "</tbody></table>";
      const more = repo.tags_to_delete - repo.tags.length;
      if (more > 0) html += `<p class="muted">… and ${more} more to delete.</p>`;
    }
    target.innerHTML = html;
  }

  async function refresh() {
    const mine = ++latest;
    target.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf },
        body: JSON.stringify(policy()),
      });
      const data = await response.json();
      if (mine !== latest) return; // a newer edit is on its way
      if (!response.ok) {
        target.innerHTML = `<p class="error" role="alert">${escape(data.error?.message ?? response.status)}</p>`;
      } else {
        render(data);
      }
    } finally {
      if (mine === latest) target.removeAttribute("aria-busy");
    }
  }

  const soon = () => { clearTimeout(timer); timer = setTimeout(refresh, 300); };
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  document.getElementById("cleanup-preview-button")?.addEventListener("click", (event) => {
    event.preventDefault();
    refresh();
  });
  refresh();
})();
