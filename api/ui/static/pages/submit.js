// Submit a dossier: an applicant online, or an intake officer at the counter. Every field
// is checked here first (with the reason next to it), then again by the API.
import {
  $, api, chrome, fmtDateTime, h, hide, page, requireUser, showError, withFiles,
} from "../app.js";

const MAX_BYTES = 10 * 1024 * 1024;
let procedure = null;

function setInvalid(input, message) {
  const id = `${input.id}-error`;
  document.getElementById(id)?.remove();
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.after(h("p", { class: "field-error", id }, message));
  } else {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  return message;
}

function unitText(t) {
  const unit = { working_days: "ngày làm việc", working_hours: "giờ làm việc", calendar_days: "ngày" }[t.unit] || t.unit;
  return `${String(t.value).replace(".", ",")} ${unit}`;
}

async function chooseProcedure(codeValue) {
  const fieldset = $("#documents-fieldset");
  const box = $("#documents");
  if (!codeValue) {
    procedure = null;
    fieldset.hidden = true;
    $("#procedure-info").textContent = "";
    return;
  }
  procedure = await api(`/procedures/${encodeURIComponent(codeValue)}`);
  const fees = procedure.fees.map((f) => `${f.name}: ${f.amount_vnd.toLocaleString("vi-VN")} đồng`).join("; ");
  $("#procedure-info").textContent =
    `Thời hạn giải quyết: ${unitText(procedure.statutory_time)}.` + (fees ? ` Phí, lệ phí: ${fees}.` : "");
  box.replaceChildren(
    ...procedure.documents.map((d, i) => {
      const id = `doc-${i}`;
      return h("div", { class: "field" },
        h("label", { for: id }, d.name, d.required === false ? h("span", { class: "muted" }, " (nếu có)") : h("span", { class: "req", "aria-hidden": "true" }, " *")),
        h("input", { id, type: "file", dataset: { kind: d.kind, required: String(d.required !== false) }, accept: ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.xml,.docx,.xlsx" }));
    }),
    h("p", { class: "hint" }, "Mỗi tệp tối đa 10 MB: PDF, JPEG, PNG, TIFF, XML, DOCX, XLSX."),
  );
  fieldset.hidden = false;
}

function validate() {
  const problems = [];
  const need = (id, ok, message) => {
    const input = $(`#${id}`);
    if (setInvalid(input, ok(input.value.trim()) ? null : message)) problems.push(message);
  };
  need("procedure", (v) => !!v, "Chọn thủ tục hành chính.");
  need("name", (v) => !!v, "Nhập họ và tên người nộp.");
  need("id_number", (v) => /^\d{9}$|^\d{12}$/.test(v), "Số định danh gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND).");
  need("phone", (v) => /^[0-9+ ]*$/.test(v), "Số điện thoại chỉ gồm chữ số, dấu + và khoảng trắng.");
  need("email", (v) => !v || /^[^@\s]+@[^@\s]+$/.test(v), "Thư điện tử chưa đúng định dạng.");
  for (const input of document.querySelectorAll("#documents input[type=file]")) {
    const file = input.files[0];
    let message = null;
    if (!file && input.dataset.required === "true") message = "Đính kèm giấy tờ này.";
    else if (file && file.size > MAX_BYTES) message = `Tệp ${file.name} lớn hơn 10 MB.`;
    if (setInvalid(input, message)) problems.push(message);
  }
  return problems;
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#submit-error");
  const officer = user.roles.includes("intake_officer");
  if (!officer && !user.roles.includes("applicant")) {
    showError(error, new Error("Chỉ người nộp hồ sơ hoặc cán bộ tiếp nhận được nộp hồ sơ."));
    $("#submit-form").hidden = true;
    return;
  }
  const list = await api("/procedures");
  $("#procedure").append(...list.map((p) => h("option", { value: p.code }, `${p.code} · ${p.name}`)));
  $("#procedure").addEventListener("change", (e) => chooseProcedure(e.target.value).catch((err) => showError(error, err)));
  const preset = new URLSearchParams(location.search).get("procedure");
  if (preset && list.some((p) => p.code === preset)) {
    $("#procedure").value = preset;
    await chooseProcedure(preset);
  }
  if (!officer) $("#name").value = user.name || "";
  const key = crypto.randomUUID(); // one submission, however often the button is pressed

  $("#submit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error);
    const problems = validate();
    if (problems.length) {
      showError(error, new Error(`Vui lòng kiểm tra lại: ${problems.join(" ")}`));
      return;
    }
    const button = $("#submit-button");
    button.disabled = true;
    try {
      const files = [];
      for (const input of document.querySelectorAll("#documents input[type=file]")) {
        if (input.files[0]) files.push({ kind: input.dataset.kind, file: input.files[0] });
      }
      const body = {
        procedure_code: $("#procedure").value,
        channel: officer ? "counter" : "online",
        applicant: {
          name: $("#name").value.trim(),
          id_number: $("#id_number").value.trim(),
          phone: $("#phone").value.trim(),
          email: $("#email").value.trim(),
          address: $("#address").value.trim(),
        },
      };
      const created = await api("/dossiers", {
        method: "POST", body: withFiles(body, files), headers: { "Idempotency-Key": key },
      });
      $("#submit-form").hidden = true;
      $("#submitted-facts").replaceChildren(
        h("dt", {}, "Mã hồ sơ"), h("dd", { id: "new-code" }, created.code),
        h("dt", {}, "Trạng thái"), h("dd", {}, created.status_label || created.status),
        h("dt", {}, "Thời điểm nộp"), h("dd", {}, fmtDateTime(created.submitted_at)),
        h("dt", {}, "Ngày hẹn trả kết quả"),
        h("dd", {}, created.appointment_at ? fmtDateTime(created.appointment_at) : "Sẽ có khi hồ sơ được tiếp nhận"),
      );
      $("#submitted-link").href = `/ui/dossiers/${encodeURIComponent(created.code)}`;
      $("#submitted").hidden = false;
      $("#submitted").focus();
    } catch (err) {
      showError(error, err);
      button.disabled = false;
    }
  });
});
