// Phản ánh, kiến nghị (PAKN): the items routed to the officer's agency, open ones first by
// deadline with the working time left (the API counts it over the working calendar), the
// late and escalated ones marked; answered ones with their answer. A specialist or leader
// of the agency answers an open item here; the answer is published and sent to the filer.
import {
  $, api, chrome, fmtDateTime, h, hide, leftCell, page, requireUser, showError, startCountdowns,
  table, td,
} from "../app.js";

const REFRESH_MS = 30_000;
const ANSWERING = ["specialist", "leader"];
let state = { status: new URLSearchParams(location.search).get("status") || "open" };

function flags(item) {
  const out = [];
  if (item.escalated_at) out.push(h("span", { class: "badge warn" }, "Đã báo lãnh đạo"));
  if (item.late) out.push(h("span", { class: "badge bad" }, item.status === "open" ? "Quá hạn" : "Trả lời trễ hạn"));
  return out;
}

function answerForm(item, user, reload) {
  if (item.status !== "open" || !ANSWERING.some((r) => user.roles.includes(r))) return null;
  const box = h("textarea", { name: "text", rows: 2, maxlength: 10000, required: true, "aria-label": `Trả lời ${item.code}` });
  const error = h("div", { class: "alert error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "answer-form", dataset: { code: item.code } },
    box,
    h("button", { type: "submit" }, "Trả lời và công khai"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/feedback/${encodeURIComponent(item.code)}/answer`, { method: "POST", body: { text: box.value.trim() } });
      await reload();
    } catch (err) {
      showError(error, err);
    }
  });
  return form;
}

function row(item, user, reload) {
  const about = item.dossier_code
    ? h("a", { href: `/ui/dossiers/${encodeURIComponent(item.dossier_code)}` }, item.dossier_code)
    : h("span", { class: "muted" }, "Về dịch vụ");
  return h(
    "tr",
    { class: item.late ? "overdue" : null, dataset: { code: item.code } },
    td("Mã", [h("strong", {}, item.code), h("div", {}, flags(item))]),
    td("Loại", [item.kind_label, h("div", { class: "muted" }, fmtDateTime(item.filed_at))]),
    td("Nội dung", [h("div", { class: "wrap" }, item.text), h("div", { class: "muted" }, item.filer_name)]),
    td("Hồ sơ", about),
    td("Hạn trả lời", item.status === "open" ? leftCell(item.time_left, item.due_at) : fmtDateTime(item.due_at)),
    td(
      item.status === "open" ? "Trả lời" : "Đã trả lời",
      item.status === "open"
        ? answerForm(item, user, reload) || h("span", { class: "muted" }, "Chờ chuyên viên trả lời")
        : [h("div", { class: "wrap" }, item.answer), h("div", { class: "muted" }, `${item.answered_by_name || ""} · ${fmtDateTime(item.answered_at)}`)],
    ),
  );
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#feedback-error");
  const tabs = [...document.querySelectorAll("#feedback-tabs button")];

  async function load() {
    try {
      const items = await api(`/feedback?status=${encodeURIComponent(state.status)}`);
      hide(error);
      const late = items.filter((i) => i.late).length;
      $("#feedback-summary").textContent = state.status === "open"
        ? `${items.length} phản ánh, kiến nghị đang chờ trả lời${late ? `, ${late} quá hạn` : ""}.`
        : `${items.length} phản ánh, kiến nghị đã trả lời và công khai.`;
      $("#feedback").replaceChildren(
        table({
          caption: state.status === "open" ? "Phản ánh, kiến nghị đang xử lý" : "Phản ánh, kiến nghị đã trả lời",
          id: "feedback-table",
          columns: [["Mã"], ["Loại"], ["Nội dung"], ["Hồ sơ"], ["Hạn trả lời"], [state.status === "open" ? "Trả lời" : "Đã trả lời"]],
          rows: items.map((item) => row(item, user, load)),
        }),
      );
    } catch (err) {
      showError(error, err);
    }
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      state = { status: tab.dataset.status };
      tabs.forEach((t) => t.setAttribute("aria-pressed", String(t === tab)));
      history.replaceState(null, "", `?status=${state.status}`);
      load();
    });
    tab.setAttribute("aria-pressed", String(tab.dataset.status === state.status));
  }
  await load();
  startCountdowns();
  setInterval(load, REFRESH_MS);
});
