// The catalog administrator's pages: the list of procedures with their versions, import and
// export; and one procedure: its versions, the open draft (edit, check, what it changes,
// the appointments it gives across days off, publish with an effective date).
import { $, api, chrome, fmtDate, fmtDateTime, h, hide, page, requireUser, showError, table, td } from "../app.js";

const STATE_LABELS = {
  draft: "Đang soạn",
  in_force: "Đang có hiệu lực",
  scheduled: "Chờ có hiệu lực",
  superseded: "Đã được thay thế",
  expired: "Hết hiệu lực",
};

function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, STATE_LABELS[state] || state);
}

async function listPage(error) {
  const list = await api("/catalog/procedures");
  const rows = list.map((p) =>
    h("tr", {},
      td("Mã", h("a", { href: `/ui/catalog/${encodeURIComponent(p.code)}` }, p.code)),
      td("Tên thủ tục", p.name),
      td("Phiên bản", h("span", {}, ...p.versions.map((v) => h("span", { class: "version" }, `v${v.version} `, stateBadge(v.state), " "))))));
  $("#catalog-list").replaceChildren(table({
    caption: `${list.length} thủ tục`,
    columns: [["Mã"], ["Tên thủ tục"], ["Phiên bản"]],
    rows,
  }));
  $("#import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    hide(error);
    const form = new FormData();
    form.append("file", $("#import-file").files[0]);
    try {
      const r = await api("/catalog/import", { method: "POST", body: form });
      const invalid = r.invalid.map((i) => h("li", {}, ...i.problems.map((p) => h("div", {}, p))));
      $("#import-report").replaceChildren(
        h("p", { class: "alert ok", id: "import-summary" },
          `Thêm mới ${r.created.length} thủ tục, ${r.new_versions.length} phiên bản mới, `
            + `${r.unchanged.length} không đổi, ${r.invalid.length} bản ghi bị từ chối (${r.seconds} giây).`),
        invalid.length ? h("ul", { class: "problems" }, invalid) : "");
    } catch (err) {
      showError(error, err);
    }
  });
  for (const fmt of ["json", "csv"]) {
    $(`#export-${fmt}`).addEventListener("click", async () => {
      const res = await api(`/catalog/export?format=${fmt}`, { raw: true });
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: `catalog.${fmt}`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    });
  }
}

function versionsTable(versions) {
  return table({
    caption: "Các phiên bản của thủ tục",
    captionHidden: true,
    id: "versions-table",
    columns: [["Phiên bản"], ["Trạng thái"], ["Hiệu lực từ"], ["Quyết định công bố"], ["Người công bố"]],
    rows: versions.map((v) =>
      h("tr", { dataset: { version: v.version } },
        td("Phiên bản", `v${v.version}`),
        td("Trạng thái", stateBadge(v.state)),
        td("Hiệu lực từ", v.status === "draft" ? "—" : fmtDate(v.effective_from)
          + (v.effective_to ? ` đến ${fmtDate(v.effective_to)}` : "")),
        td("Quyết định công bố", v.decision
          ? `${v.decision.number} ngày ${fmtDate(v.decision.date)} (${v.decision.signer})` : "—"),
        td("Người công bố", v.published_by || "—"))),
  });
}

function problemsList(problems) {
  if (!problems.length) return h("p", { class: "alert ok", id: "valid" }, "Hợp lệ: có thể công bố.");
  return h("ul", { class: "problems", id: "problem-list" }, problems.map((p) => h("li", {}, p)));
}

function diffList(diff) {
  if (!diff.changes.length) return h("p", {}, "Chưa có thay đổi nào.");
  return h("ul", { id: "diff-list" }, diff.changes.map((c) =>
    h("li", {}, h("strong", {}, c.label), ": ",
      c.before === null ? "(thêm) " : h("span", { class: "diff-before" }, c.before),
      c.before !== null && c.after !== null ? " → " : "",
      c.after === null ? " (bỏ)" : h("span", { class: "diff-after" }, c.after))));
}

function previewTables(rows) {
  return rows.map((r, i) => h("div", { class: "preview", dataset: { index: i } },
    h("p", {},
      h("strong", {}, `Tiếp nhận ${fmtDateTime(r.received_at)}`), " · tính thời hạn từ ",
      fmtDateTime(r.counted_from), " · ", h("strong", {}, "hẹn trả "),
      h("strong", { class: "appointment" }, fmtDateTime(r.appointment))),
    r.days_off.length
      ? h("p", { class: "days-off" }, "Ngày nghỉ trong khoảng: ",
        r.days_off.map((d) => `${fmtDate(d.day)} (${d.name})`).join(", "))
      : "",
    table({
      caption: `Thời hạn các bước, tiếp nhận ${fmtDateTime(r.received_at)}`,
      captionHidden: true,
      columns: [["Bước"], ["Thời hạn"], ["Bắt đầu"], ["Hạn xong"]],
      rows: r.steps.map((s) => h("tr", {},
        td("Bước", s.name), td("Thời hạn", s.budget),
        td("Bắt đầu", fmtDateTime(s.starts_at)), td("Hạn xong", fmtDateTime(s.due_at)))),
    })));
}

/** A datetime-local value read as Vietnam time. */
function vietnamMoment(value) {
  return value ? `${value}:00+07:00` : null;
}

async function procedurePage(code, error) {
  const base = `/catalog/procedures/${encodeURIComponent(code)}`;
  let draft = null;

  async function load() {
    const versions = await api(`${base}/versions`);
    $("#proc-title").textContent = `${code} · ${versions.at(-1).name}`;
    $("#versions").replaceChildren(versionsTable(versions));
    draft = versions.find((v) => v.status === "draft") || null;
    $("#draft").hidden = !draft;
    $("#new-draft").hidden = !!draft;
    if (draft) {
      $("#draft-title").textContent = `Phiên bản đang soạn: v${draft.version} (từ v${draft.drafted_from})`;
      $("#draft-text").value = draft.text;
      $("#boundary-free").checked = draft.boundary_free;
      await check();
    }
  }

  async function check() {
    const [p, diff] = await Promise.all([
      api(`${base}/versions/${draft.version}/problems`),
      api(`${base}/versions/${draft.version}/diff`),
    ]);
    $("#problems").replaceChildren(problemsList(p.problems));
    $("#diff-title").textContent = `Thay đổi so với v${diff.base}`;
    $("#diff").replaceChildren(diffList(diff));
  }

  const guard = (fn) => async (ev) => {
    if (ev) ev.preventDefault();
    hide(error);
    try {
      await fn();
    } catch (err) {
      showError(error, err);
    }
  };

  $("#new-draft").addEventListener("click", guard(async () => {
    await api(`${base}/drafts`, { method: "POST" });
    await load();
  }));
  $("#draft-form").addEventListener("submit", guard(async () => {
    await api(`${base}/versions/${draft.version}`, {
      method: "PUT",
      body: { text: $("#draft-text").value, boundary_free: $("#boundary-free").checked },
    });
    await load();
  }));
  $("#discard").addEventListener("click", guard(async () => {
    await api(`${base}/versions/${draft.version}`, { method: "DELETE" });
    await load();
  }));
  $("#preview-form").addEventListener("submit", guard(async () => {
    const moments = ["#m1", "#m2", "#m3"].map((id) => vietnamMoment($(id).value)).filter(Boolean);
    const rows = await api(`${base}/versions/${draft.version}/preview`, { method: "POST", body: { moments } });
    $("#preview").replaceChildren(...previewTables(rows));
  }));
  $("#publish-form").addEventListener("submit", guard(async () => {
    const number = draft.version;
    const v = await api(`${base}/versions/${number}/publish`, {
      method: "POST",
      body: {
        effective_from: $("#effective-from").value,
        decision: {
          number: $("#decision-number").value,
          date: $("#decision-date").value,
          signer: $("#decision-signer").value,
        },
      },
    });
    await load();
    $("#published").replaceChildren(h("p", { class: "alert ok", id: "published-note" },
      `Đã công bố v${v.version}: ${STATE_LABELS[v.state]} từ ${fmtDate(v.effective_from)}. `
        + "Hồ sơ tiếp nhận trước ngày đó vẫn theo phiên bản cũ."));
  }));
  await load();
}

page(async () => {
  requireUser();
  chrome();
  const error = $("#catalog-error");
  const code = document.body.dataset.code;
  if (code) await procedurePage(code, error);
  else await listPage(error);
});
