// Dữ liệu cá nhân: a citizen signed in with their own account asks to see, correct or
// restrict what the centre holds about them (the API takes the subject from the token,
// never from the form), follows each request to its answer and downloads the export; the
// centre's leaders see the requests, the earliest due first, and decide a correction or a
// restriction (closed by default, confirmed); auditors read them.
import { $, api, chrome, download, fmtDateTime, h, hide, page, requireUser, showError, table, td } from "../app.js";

const STATUS_TONE = { received: "warn", answered: "ok", refused: "bad" };
const FIELD_LABELS = {
  name: "Họ và tên",
  id_number: "Số định danh cá nhân",
  phone: "Điện thoại",
  email: "Thư điện tử",
  address: "Địa chỉ",
};

function asked(r, handler) {
  // What was asked, as the leader deciding it needs to read it.
  const changes = Object.entries(r.corrections || {});
  return [
    handler ? h("div", { class: "muted" }, `Tài khoản: ${r.account}`) : null,
    changes.length
      ? h("ul", { class: "corrections" },
          ...changes.map(([key, value]) => h("li", {}, `${FIELD_LABELS[key] || key}: `, h("strong", {}, value))))
      : null,
    r.reason ? h("div", { class: "wrap" }, `Lý do: ${r.reason}`) : null,
  ];
}

function statusCell(r) {
  return [
    h("span", { class: `badge ${STATUS_TONE[r.status] || ""}` }, r.status_label),
    r.escalated ? h("div", { class: "bad-text" }, "Quá hạn, đã báo lãnh đạo") : null,
  ];
}

function decisionForm(r, onDone) {
  // Closed by default: a leader opens it, writes the reason, ticks the confirmation.
  const reason = h("textarea", { rows: 2, maxlength: 2000, id: `pd-reason-${r.id}` });
  const sure = h("input", { type: "checkbox", id: `pd-sure-${r.id}` });
  const box = h("div", { class: "alert error", role: "alert", hidden: true });
  const decide = async (apply) => {
    hide(box);
    if (!apply && !reason.value.trim()) {
      showError(box, new Error("Nhập lý do từ chối."));
      return;
    }
    if (!sure.checked) {
      showError(box, new Error("Đánh dấu ô xác nhận trước khi gửi."));
      return;
    }
    try {
      await api(`/data-requests/${encodeURIComponent(r.id)}/decision`, {
        method: "POST",
        body: { apply, reason: reason.value.trim() },
      });
      onDone(`Đã ${apply ? "chấp nhận" : "từ chối"} yêu cầu ${r.kind_label}.`);
    } catch (err) {
      showError(box, err);
    }
  };
  return h(
    "details",
    { class: "decision" },
    h("summary", {}, "Quyết định"),
    h("div", { class: "field" }, h("label", { for: reason.id }, "Lý do"), reason),
    h("div", { class: "field confirm" },
      h("label", { for: sure.id }, sure, " Tôi đã xem xét yêu cầu và xác nhận quyết định này.")),
    box,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => decide(true) }, "Chấp nhận"),
      h("button", { type: "button", class: "danger", onclick: () => decide(false) }, "Từ chối"),
    ),
  );
}

async function list(user) {
  const mine = user.roles.includes("applicant");
  const leader = user.roles.includes("leader");
  const rows = await api("/data-requests");
  const refresh = (text) => {
    if (text) {
      $("#pd-notice").textContent = text;
      $("#pd-notice").hidden = false;
    }
    list(user);
  };
  $("#pd-requests").replaceChildren(
    rows.length
      ? table({
          caption: mine ? "Yêu cầu của tôi" : "Yêu cầu về dữ liệu cá nhân",
          captionHidden: true,
          id: "pd-table",
          columns: [["Yêu cầu"], ["Tiếp nhận"], ["Hạn trả lời"], ["Trạng thái"], ["Trả lời"]],
          rows: rows.map((r) =>
            h(
              "tr",
              { dataset: { id: r.id } },
              td("Yêu cầu", [h("strong", {}, r.kind_label), h("div", { class: "muted" }, r.id), ...asked(r, !mine)]),
              td("Tiếp nhận", fmtDateTime(r.received_at)),
              td("Hạn trả lời", fmtDateTime(r.due_at)),
              td("Trạng thái", statusCell(r)),
              td("Trả lời", [
                r.answer ? h("div", { class: "wrap" }, r.answer) : h("span", { class: "muted" }, "Chưa có"),
                r.answered_at ? h("div", { class: "muted" }, fmtDateTime(r.answered_at)) : null,
                mine && r.has_export
                  ? h("div", { class: "actions" },
                      h("button", { type: "button", class: "export-text",
                        onclick: () => download(`/v1/data-requests/${encodeURIComponent(r.id)}/export?format=text`, `du-lieu-ca-nhan-${r.id}.txt`) },
                        "Tải bản đọc được"),
                      h("button", { type: "button", class: "export-json",
                        onclick: () => download(`/v1/data-requests/${encodeURIComponent(r.id)}/export`, `du-lieu-ca-nhan-${r.id}.json`) },
                        "Tải tệp dữ liệu (JSON)"))
                  : null,
                leader && r.status === "received" && r.kind !== "access" ? decisionForm(r, refresh) : null,
              ]),
            ),
          ),
        })
      : h("p", { class: "muted", id: "pd-none" }, mine ? "Bạn chưa gửi yêu cầu nào." : "Chưa có yêu cầu nào."),
  );
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#pd-error");
  const handler = ["leader", "auditor"].some((r) => user.roles.includes(r));
  if (!user.roles.includes("applicant") && !handler) {
    showError(error, new Error("Trang này dành cho người dân (tài khoản của mình) và lãnh đạo, kiểm toán viên của Trung tâm."));
    return;
  }
  if (user.roles.includes("applicant")) {
    $("#pd-citizen").hidden = false;
    const kind = $("#pd-kind");
    kind.addEventListener("change", () => {
      $("#pd-corrections").hidden = kind.value !== "correct";
    });
    $("#pd-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      hide(error);
      $("#pd-notice").hidden = true;
      const body = { kind: kind.value, reason: $("#pd-reason").value.trim() };
      if (body.kind === "correct") {
        const corrections = {};
        for (const [key, id] of [["name", "#pd-name"], ["id_number", "#pd-id"], ["phone", "#pd-phone"],
          ["email", "#pd-email"], ["address", "#pd-address"]]) {
          const value = $(id).value.trim();
          if (value) corrections[key] = value;
        }
        if (!Object.keys(corrections).length) {
          showError(error, new Error("Điền ít nhất một thông tin cần sửa."));
          return;
        }
        body.corrections = corrections;
      }
      try {
        const made = await api("/data-requests", { method: "POST", body });
        $("#pd-notice").textContent =
          `Đã tiếp nhận yêu cầu ${made.kind_label}` + (made.due_at ? `; hạn trả lời ${fmtDateTime(made.due_at)}.` : ".");
        $("#pd-notice").hidden = false;
        $("#pd-form").reset();
        $("#pd-corrections").hidden = true;
        await list(user);
      } catch (err) {
        showError(error, err);
      }
    });
  }
  try {
    await list(user);
  } catch (err) {
    showError(error, err);
  }
});
