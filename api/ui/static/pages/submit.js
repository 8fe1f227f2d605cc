// Submit a dossier: an applicant online, or an intake officer at the counter. Every field
// is checked here first (with the reason next to it), then again by the API.
import {
  $, api, chrome, DATABASE_LABELS, fmtDateTime, h, hide, page, requireUser, showError, withFiles,
} from "../app.js";
import { RETURN_CHANNEL_LABELS } from "../step-data.js";
import { formText } from "./checklist.js";

const MAX_BYTES = 10 * 1024 * 1024;
let procedure = null;
let atCounter = false; // an intake officer files for the citizen at the counter

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
        h("input", { id, type: "file", dataset: { kind: d.kind, required: String(d.required !== false) }, accept: ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.xml,.docx,.xlsx" }),
        h("p", { class: "hint", id: `${id}-form` }, `${formText(d)}${d.required === false ? " · không bắt buộc" : " · bắt buộc"}`),
        d.source ? consentFields(d, id) : null);
    }),
    h("p", { class: "hint" }, "Mỗi tệp tối đa 10 MB: PDF, JPEG, PNG, TIFF, XML, DOCX, XLSX."),
  );
  fieldset.hidden = false;
}

/** A component a national database supplies (NQ 66.7/2025/NQ-CP): the citizen may agree
 * that it be taken from there instead of a file, naming whose records (ID numbers). */
function consentFields(d, id) {
  const name = d.source.label || DATABASE_LABELS[d.source.database] || d.source.database;
  const subjects = h("div", { class: "field", hidden: true },
    h("label", { for: `${id}-subjects` }, "Số định danh cá nhân của những người cần khai thác thông tin"),
    h("input", { id: `${id}-subjects`, type: "text", inputmode: "numeric", autocomplete: "off",
      dataset: { kind: d.kind }, "aria-describedby": `${id}-subjects-hint` }),
    h("p", { class: "hint", id: `${id}-subjects-hint` }, "12 chữ số mỗi người, cách nhau bằng dấu phẩy (ví dụ: cha, mẹ)."));
  const box = h("input", { id: `${id}-consent`, type: "checkbox", class: "data-consent", dataset: { kind: d.kind, file: id } });
  box.addEventListener("change", () => {
    subjects.hidden = !box.checked;
    $(`#${id}`).disabled = box.checked;
  });
  return h("div", { class: "consent" },
    h("label", { for: `${id}-consent`, class: "check" }, box,
      atCounter
        ? ` Công dân đồng ý khai thác thông tin này từ ${name} thay cho giấy tờ (cán bộ xác nhận)`
        : ` Tôi đồng ý để cơ quan giải quyết khai thác thông tin này từ ${name} thay cho giấy tờ`),
    subjects);
}

/** The consents given on the form, as the API takes them. */
function dataConsents() {
  return [...document.querySelectorAll("#documents input.data-consent:checked")].map((box) => ({
    component: box.dataset.kind,
    consent: true,
    subject_ids: $(`#${box.dataset.file}-subjects`).value.split(",").map((v) => v.trim()).filter(Boolean),
  }));
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
  for (const box of document.querySelectorAll("#documents input.data-consent:checked")) {
    const input = $(`#${box.dataset.file}-subjects`);
    const ids = input.value.split(",").map((v) => v.trim()).filter(Boolean);
    const ok = ids.length >= 1 && ids.length <= 4 && ids.every((v) => /^\d{9}$|^\d{12}$/.test(v));
    const message = ok ? null : "Nhập từ 1 đến 4 số định danh (12 chữ số), cách nhau bằng dấu phẩy.";
    if (setInvalid(input, message)) problems.push(message);
  }
  for (const input of document.querySelectorAll("#documents input[type=file]")) {
    const file = input.files[0];
    let message = null;
    if (input.disabled) message = null; // taken from a database, with the citizen's consent
    else if (!file && input.dataset.required === "true") message = "Đính kèm giấy tờ này.";
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
  atCounter = officer;
  if (!officer && !user.roles.includes("applicant")) {
    showError(error, new Error("Chỉ người nộp hồ sơ hoặc cán bộ tiếp nhận được nộp hồ sơ."));
    $("#submit-form").hidden = true;
    return;
  }
  const list = await api("/procedures");
  // A stand-in code (no national code found for it) says so: "mã tạm".
  const codeOf = (p) => (p.code_placeholder ? `${p.code} (mã tạm)` : p.code);
  $("#procedure").append(...list.map((p) => h("option", { value: p.code }, `${codeOf(p)} · ${p.name}`)));
  $("#procedure").addEventListener("change", (e) => chooseProcedure(e.target.value).catch((err) => showError(error, err)));
  const preset = new URLSearchParams(location.search).get("procedure");
  if (preset && list.some((p) => p.code === preset)) {
    $("#procedure").value = preset;
    await chooseProcedure(preset);
  }
  // Where the result may be collected: every centre in operation today (a merged
  // commune's is no longer offered), or by post.
  const centres = (await api("/agencies?in_operation=true")).filter((a) => a.kind === "centre");
  $("#return_to").append(
    ...centres.map((a) => h("option", { value: a.code }, a.name)),
    h("option", { value: "post" }, RETURN_CHANNEL_LABELS.post),
  );
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
        if (input.files[0] && !input.disabled) files.push({ kind: input.dataset.kind, file: input.files[0] });
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
        data_consents: dataConsents(),
      };
      const returnTo = $("#return_to").value;
      if (returnTo === "post") body.return_by_post = true;
      else if (returnTo) body.return_agency = returnTo;
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
