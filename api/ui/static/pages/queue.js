// The officer's queue: the dossiers the officer's roles and agency must act on now, most
// urgent first, with live countdowns to the step's due time and the appointment.
import {
  $, agencies, api, chrome, dueCell, h, hide, isOfficer, page, requireUser, ROLE_LABELS,
  showError, startCountdowns, statusBadge,
} from "../app.js";

const REFRESH_MS = 30_000;

function row(item, names, { search = false } = {}) {
  const link = h("a", { href: `/ui/dossiers/${encodeURIComponent(item.code)}` }, item.code);
  const flags = [];
  if (item.overdue) flags.push(h("span", { class: "badge bad" }, "Quá hạn"));
  if (item.escalated) flags.push(h("span", { class: "badge warn" }, "Đã báo lãnh đạo"));
  const step = search
    ? statusBadge(item.status, item.status_label || item.status)
    : [h("span", {}, item.current_step_name || item.current_step_id || "—"), " ",
       item.current_role ? h("span", { class: "muted" }, `(${ROLE_LABELS[item.current_role] || item.current_role})`) : null];
  return h(
    "tr",
    { class: item.overdue ? "overdue" : null, dataset: { code: item.code } },
    h("td", { "data-label": "Mã hồ sơ" }, link, h("div", {}, flags)),
    h("td", { "data-label": "Thủ tục" }, item.procedure_name,
      h("div", { class: "muted" }, names[item.current_agency] || "")),
    h("td", { "data-label": "Người nộp" }, item.applicant_name),
    h("td", { "data-label": search ? "Trạng thái" : "Bước hiện tại" }, step),
    h("td", { "data-label": "Hạn của bước" }, item.closed_at ? "—" : dueCell(item.step_due_at)),
    h("td", { "data-label": "Ngày hẹn trả" }, item.closed_at ? "—" : dueCell(item.appointment_at)),
  );
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#queue-error");
  const body = $("#queue tbody");
  $("#queue").classList.add("stack");
  if (!isOfficer(user)) {
    showError(error, new Error("Trang này dành cho cán bộ, công chức của cơ quan."));
    return;
  }
  const names = await agencies();
  const roles = user.roles.map((r) => ROLE_LABELS[r] || r).join(", ");
  $("#queue-scope").textContent = `${roles} · ${names[user.agency] || user.agency}`;

  let searching = false;
  async function loadQueue() {
    if (searching) return;
    try {
      const list = await api("/worklist?limit=200");
      hide(error);
      body.replaceChildren(...list.items.map((item) => row(item, names)));
      const shown = list.items.length;
      const overdue = list.items.filter((i) => i.overdue).length;
      $("#queue-summary").textContent =
        shown === 0
          ? "Không có hồ sơ nào đang chờ bạn xử lý."
          : `${list.total} hồ sơ đang chờ xử lý${overdue ? `, ${overdue} hồ sơ quá hạn` : ""}` +
            (list.total > shown ? ` (hiển thị ${shown} hồ sơ khẩn nhất)` : "");
    } catch (err) {
      showError(error, err);
    }
  }

  $("#search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("#q").value.trim();
    if (!q) {
      searching = false;
      $("#queue-title").textContent = "Danh sách hồ sơ";
      await loadQueue();
      return;
    }
    searching = true;
    try {
      const found = await api(`/dossiers?limit=50&q=${encodeURIComponent(q)}`);
      hide(error);
      body.replaceChildren(...found.items.map((item) => row(item, names, { search: true })));
      $("#queue-summary").textContent = found.items.length
        ? `${found.items.length} hồ sơ khớp với “${q}” (xóa ô tìm để về danh sách cần xử lý)`
        : `Không có hồ sơ nào khớp với “${q}”.`;
    } catch (err) {
      showError(error, err);
    }
  });

  await loadQueue();
  startCountdowns();
  setInterval(loadQueue, REFRESH_MS);
});
