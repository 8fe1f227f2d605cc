// An applicant's own dossiers, those waiting for them first.
import { $, api, chrome, fmtDate, h, leftCell, page, requireUser, showError, statusBadge } from "../app.js";

const WAITING = { supplement_requested: "Cần bổ sung hồ sơ", financial_obligation: "Cần nộp phí, nghĩa vụ tài chính" };

page(async () => {
  const user = requireUser();
  chrome(user);
  const table = $("#my-dossiers");
  table.classList.add("stack");
  if (!user.roles.includes("applicant")) {
    showError($("#my-error"), new Error("Trang này dành cho người nộp hồ sơ."));
    return;
  }
  try {
    const list = await api("/dossiers?limit=100");
    const items = [...list.items].sort((a, b) => Number(!!WAITING[b.status]) - Number(!!WAITING[a.status]));
    $("tbody", table).replaceChildren(
      ...items.map((d) =>
        h("tr", { dataset: { code: d.code } },
          h("td", { "data-label": "Mã hồ sơ" }, h("a", { href: `/ui/dossiers/${encodeURIComponent(d.code)}` }, d.code)),
          h("td", { "data-label": "Thủ tục" }, d.procedure_name),
          h("td", { "data-label": "Trạng thái" }, statusBadge(d.status, d.status_label),
            WAITING[d.status] ? h("div", { class: "bad-text" }, WAITING[d.status]) : null),
          h("td", { "data-label": "Ngày nộp" }, fmtDate(d.submitted_at)),
          h("td", { "data-label": "Ngày hẹn trả" }, d.closed_at ? fmtDate(d.appointment_at) : leftCell(d.time_left, d.appointment_at)),
        )),
    );
    if (!items.length) {
      $("tbody", table).append(h("tr", {}, h("td", { colspan: 5 }, "Bạn chưa nộp hồ sơ nào.")));
    }
  } catch (err) {
    showError($("#my-error"), err);
  }
});
