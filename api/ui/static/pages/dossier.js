// One dossier: where it is, who holds it and until when; the actions this user may take
// at this step (and only those), each with its form; documents; events and refused
// attempts. Officers, applicants (their own dossiers) and auditors read it.
import {
  $, ACTION_LABELS, agencies, agencyNote, api, CHANNEL_LABELS, chrome, download, dueCell, EVENT_LABELS,
  fmtDateTime, h, hide, isOfficer, leftCell, OUTCOME_LABELS, page, requireUser, ROLE_LABELS, showError,
  startCountdowns, statusBadge, table, td, withFiles,
} from "../app.js";
import { findingsSection, PAYMENT_METHOD_LABELS, RETURN_CHANNEL_LABELS, stepData } from "../step-data.js";
import { checklistSection, componentLine, heldAtIntake, missingItems } from "./checklist.js";

const code = document.body.dataset.code;
let user;
let names = {};
let procedure = null;
let pollTimer = null;
let stepNames = {};
let catchingUp = 0;

// ------------------------------------------------------------------ forms for actions

function field(label, control, hint) {
  const id = control.id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null);
}

function textArea(id, { required = false, rows = 3 } = {}) {
  return h("textarea", { id, name: id, rows, required, maxlength: 2000 });
}

function input(id, attrs = {}) {
  return h("input", { id, name: id, ...attrs });
}

function select(id, options, value) {
  return h("select", { id, name: id },
    ...Object.entries(options).map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

function todayInVietnam() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Ho_Chi_Minh" }).format(new Date());
}

// Actions that end or turn back a dossier: their forms start closed, and each asks the
// person to confirm what it does before anything is sent.
const CONFIRMATIONS = {
  refuse: "Tôi xác nhận từ chối giải quyết hồ sơ này; người nộp sẽ nhận văn bản từ chối.",
  reject: "Tôi xác nhận không phê duyệt kết quả giải quyết này.",
  withdraw: "Tôi xác nhận rút hồ sơ này; hồ sơ sẽ dừng giải quyết và không thể khôi phục.",
};

/** The fields of an action's form, and how to read them into {comment, data} (or an error). */
function actionFields(action, prefix, view) {
  const id = (name) => `${prefix}-${name}`;
  const comment = (label, required) => field(label, textArea(id("comment"), { required }));
  const val = (name) => $(`#${id(name)}`).value.trim();
  const needComment = (what) => () => (val("comment") ? null : `Nhập ${what}.`);
  switch (action) {
    case "request_supplement": {
      // Pre-filled with the checklist's missing components: one complete request.
      const missing = textArea(id("missing"), { required: true, rows: 4 });
      missing.value = missingItems(view).map(componentLine).join("\n");
      return {
        fields: [
          field("Giấy tờ cần bổ sung, hoàn thiện (mỗi dòng một loại, ghi đủ một lần)", missing,
            missing.value ? "Đã điền sẵn các thành phần bắt buộc còn thiếu theo danh mục; sửa, thêm nếu cần." : null),
          comment("Hướng dẫn cho người nộp"),
        ],
        check: () => (val("missing") ? null : "Liệt kê ít nhất một giấy tờ cần bổ sung."),
        read: () => ({
          comment: val("comment"),
          data: { missing: val("missing").split("\n").map((s) => s.trim()).filter(Boolean) },
        }),
      };
    }
    case "refuse":
    case "reject":
    case "withdraw": {
      // Ends or turns back the dossier: asked to confirm, on top of the reason.
      const confirm = input(id("confirm"), { type: "checkbox", required: true });
      return {
        fields: [
          comment("Lý do (ghi rõ, in trên văn bản gửi người nộp)", true),
          h("div", { class: "field confirm" }, h("label", { for: id("confirm") }, confirm, ` ${CONFIRMATIONS[action]}`)),
        ],
        check: () => needComment("lý do")() || (confirm.checked ? null : "Đánh dấu ô xác nhận trước khi gửi."),
        read: () => ({ comment: val("comment"), data: {} }),
      };
    }
    case "request_extension":
      return {
        fields: [
          comment("Lý do chậm và lời xin lỗi (Mẫu 04)", true),
          field("Ngày hẹn trả mới", input(id("new_appointment"), { type: "date", min: todayInVietnam(), required: true }),
            "Phải là ngày làm việc."),
        ],
        check: () => (!val("comment") ? "Nhập lý do." : !val("new_appointment") ? "Chọn ngày hẹn trả mới." : null),
        read: () => ({ comment: val("comment"), data: { new_appointment: val("new_appointment") } }),
      };
    case "appraise":
      return {
        fields: [
          field("Ý kiến thẩm định", textArea(id("opinion"), { required: true, rows: 4 })),
          field("Đề xuất", select(id("recommendation"), { grant: "Đủ điều kiện giải quyết", refuse: "Không đủ điều kiện, đề xuất từ chối" }, "grant")),
        ],
        check: () => (val("opinion") ? null : "Nhập ý kiến thẩm định."),
        read: () => ({ comment: "", data: { opinion: val("opinion"), recommendation: val("recommendation") } }),
      };
    case "schedule_inspection":
      return {
        fields: [
          field("Thời gian kiểm tra (giờ Việt Nam)", input(id("at"), { type: "datetime-local", required: true }),
            "Trong giờ hành chính của một ngày làm việc."),
          field("Địa điểm", input(id("place"), { maxlength: 500 })),
          comment("Ghi chú"),
        ],
        check: () => (val("at") ? null : "Chọn thời gian kiểm tra."),
        read: () => ({ comment: val("comment"), data: { at: `${val("at")}:00+07:00`, place: val("place") } }),
      };
    case "pay": {
      const fee = procedure?.fees?.reduce((sum, f) => sum + (f.amount_vnd || 0), 0) || 0;
      return {
        fields: [
          field("Số biên lai, chứng từ nộp tiền", input(id("receipt_number"), { required: true, maxlength: 100 })),
          field("Số tiền (đồng)", input(id("amount_vnd"), { type: "number", min: 0, step: 1000, value: fee ? String(fee) : "" })),
          field("Hình thức", select(id("method"), PAYMENT_METHOD_LABELS, "online")),
        ],
        check: () => (val("receipt_number") ? null : "Nhập số biên lai hoặc chứng từ."),
        read: () => ({
          comment: "",
          data: { receipt_number: val("receipt_number"), amount_vnd: Number(val("amount_vnd") || 0), method: val("method") },
        }),
      };
    }
    case "return": {
      const channel = select(id("channel"), RETURN_CHANNEL_LABELS, view.result ? "counter" : "counter");
      const proxyHint = "Người nhận khác người nộp phải xuất trình giấy ủy quyền.";
      return {
        fields: [
          field("Hình thức trả kết quả", channel),
          field("Người nhận kết quả (để trống nếu là người nộp)", input(id("received_by"), { maxlength: 500 }), proxyHint),
          field("Giấy ủy quyền (số, ngày)", input(id("authorization"), { maxlength: 500 })),
          field("Số hiệu bưu gửi (khi trả qua bưu chính)", input(id("tracking_number"), { maxlength: 500 })),
          field("Địa chỉ nhận (khi trả qua bưu chính)", input(id("address"), { maxlength: 500 })),
        ],
        check: () => (val("channel") === "post" && !val("tracking_number") ? "Nhập số hiệu bưu gửi." : null),
        read: () => {
          const data = { channel: val("channel") };
          for (const k of ["received_by", "authorization", "tracking_number", "address"]) {
            if (val(k)) data[k] = val(k);
          }
          return { comment: "", data };
        },
      };
    }
    case "supplement": {
      const kinds = Object.fromEntries((procedure?.documents || []).map((d) => [d.kind, d.name]));
      kinds.bo_sung = "Giấy tờ bổ sung khác";
      const first = missingItems(view)[0]?.kind; // the first component still missing
      return {
        fields: [
          field("Thành phần hồ sơ", select(id("kind"), kinds, first in kinds ? first : Object.keys(kinds)[0])),
          field("Tệp đính kèm (có thể chọn nhiều tệp)", input(id("files"), { type: "file", multiple: true, required: true, accept: ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.xml,.docx,.xlsx" })),
          comment("Ghi chú"),
        ],
        check: () => ($(`#${id("files")}`).files.length ? null : "Chọn ít nhất một tệp."),
        read: async () => ({
          comment: val("comment"),
          files: [...$(`#${id("files")}`).files].map((file) => ({ kind: val("kind"), file })),
        }),
      };
    }
    case "assign": {
      // A named officer of the step's role and agency, from those the system has seen.
      const role = view.current_step ? view.current_step.role : "";
      const held = view.assignment ? view.assignment.officer_id : null;
      const choice = h("select", { id: id("assignee"), name: id("assignee"), required: true },
        h("option", { value: "" }, "Đang tải danh sách cán bộ…"));
      api(`/officers?role=${encodeURIComponent(role)}`).then((list) => {
        const people = list.officers.filter((o) => o.sub !== held);
        choice.replaceChildren(h("option", { value: "" }, people.length ? "— Chọn cán bộ —" : "Chưa có cán bộ nào khác"),
          ...people.map((o) => h("option", { value: o.sub }, `${o.name || o.sub} (${o.sub})`)));
      }).catch(() => choice.replaceChildren(h("option", { value: "" }, "Không tải được danh sách cán bộ")));
      return {
        fields: [
          field(held ? "Phân công lại cho" : "Phân công cho", choice,
            `${ROLE_LABELS[role] || role} của ${names[view.current_step?.agency] || ""}; sau khi phân công, chỉ người được phân công xử lý bước này.`),
          comment("Ý kiến chỉ đạo (không bắt buộc)", false),
        ],
        check: () => (val("assignee") ? null : "Chọn cán bộ được phân công."),
        read: () => ({ comment: val("comment"), data: { assignee: val("assignee") } }),
      };
    }
    default: // accept, forward, approve, sign, claim
      return {
        fields: [comment("Ý kiến (không bắt buộc)", false)],
        check: () => null,
        read: () => ({ comment: val("comment"), data: {} }),
      };
  }
}

// Every action is sent with an Idempotency-Key (one per submission of the form, kept
// while the officer sends the same thing again after an error: the API then answers as
// the first time and never takes the action twice) and the step the page showed
// (`expected_step`: if the dossier has moved on meanwhile, 409 saying where it is).
function newKey() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

async function send(action, role, body, { key, step }) {
  const path = `/dossiers/${encodeURIComponent(code)}`;
  const headers = { "Idempotency-Key": key };
  const expected_step = step || undefined;
  if (action === "supplement") {
    return api(`${path}/supplements`, { method: "POST", headers, body: withFiles({ comment: body.comment, expected_step }, body.files) });
  }
  if (action === "withdraw") {
    return api(`${path}/withdraw`, { method: "POST", headers, body: { comment: body.comment, expected_step } });
  }
  return api(`${path}/actions`, { method: "POST", headers, body: { action, role, comment: body.comment, data: body.data, expected_step } });
}

function actionForm(allowed, view) {
  const prefix = `act-${allowed.action}-${allowed.role}`;
  const spec = actionFields(allowed.action, prefix, view);
  const error = h("div", { class: "alert error", role: "alert", hidden: true, id: `${prefix}-error` });
  const button = h("button", { type: "submit", class: allowed.action === "refuse" || allowed.action === "reject" || allowed.action === "withdraw" ? "danger" : "primary" },
    ACTION_LABELS[allowed.action] || allowed.action);
  const form = h("form", { novalidate: true, dataset: { action: allowed.action } }, ...spec.fields, error, button);
  const step = view.current_step ? view.current_step.step_id : null; // the step shown
  let attempt = null; // { key, sent }: kept across retries of the same submission
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error);
    const problem = spec.check();
    if (problem) {
      showError(error, new Error(problem));
      return;
    }
    button.disabled = true;
    try {
      const body = await spec.read();
      // Files stand for themselves by name, size and time: other files are another request.
      const sent = JSON.stringify(body, (_, v) => (v instanceof File ? [v.name, v.size, v.lastModified] : v));
      if (!attempt || attempt.sent !== sent) attempt = { key: newKey(), sent }; // changed: a new request
      const after = await send(allowed.action, allowed.role, body, { key: attempt.key, step });
      attempt = null;
      notice(`Đã thực hiện: ${ACTION_LABELS[allowed.action] || allowed.action}.`);
      await load(after);
    } catch (err) {
      showError(error, err);
      button.disabled = false;
    }
  });
  const who = allowed.role === user.roles[0] && user.roles.length === 1 ? "" : ` (${ROLE_LABELS[allowed.role] || allowed.role})`;
  return h("details", { id: prefix }, h("summary", {}, `${ACTION_LABELS[allowed.action] || allowed.action}${who}`), form);
}

function mine(allowed, view) {
  const seen = new Set();
  return allowed.filter((a) => {
    if (a.role === "system" || !user.roles.includes(a.role)) return false;
    if (a.role === "applicant" && view.applicant_account !== user.sub) return false;
    if (a.role !== "applicant" && a.agency && a.agency !== user.agency) return false;
    if (a.officer_id && a.officer_id !== user.sub) return false; // assigned to someone else
    const key = `${a.action}/${a.role}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ------------------------------------------------------------------ sections

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v, id]) => [h("dt", {}, k), h("dd", { id }, v)]));
}

function holderText(view) {
  if (!view.holder) return view.closed_at ? "Đã kết thúc" : "—";
  const role = ROLE_LABELS[view.holder.role] || view.holder.role;
  const where = view.holder.agency ? `${role} · ${names[view.holder.agency] || view.holder.agency}` : role;
  return view.holder.officer_id ? `${view.holder.officer_name || view.holder.officer_id} (${where})` : where;
}

/** Who assigned the current step, and when ("" when nobody holds it by name). */
function assignmentText(a) {
  if (!a) return "Chưa phân công (cán bộ cùng vai trò có thể nhận xử lý)";
  const by = a.claimed ? "tự nhận xử lý" : `phân công bởi ${a.by_name || a.by_id}`;
  return `${a.officer_name || a.officer_id}, ${by} lúc ${fmtDateTime(a.at)}`;
}

function clockText(view, left) {
  const unit = view.clock_unit === "working_hours" ? 60 : 8 * 60;
  const unitName = view.clock_unit === "working_hours" ? "giờ làm việc" : view.clock_unit === "calendar_days" ? "ngày" : "ngày làm việc";
  if (!view.clock_budget_minutes) return "Chưa bắt đầu tính";
  const used = (view.clock_consumed_minutes / unit).toLocaleString("vi-VN", { maximumFractionDigits: 1 });
  const budget = (view.clock_budget_minutes / unit).toLocaleString("vi-VN", { maximumFractionDigits: 1 });
  const paused = left && left.paused ? ` · đang tạm dừng (${left.reason})` : view.clock_paused ? " · đang tạm dừng" : "";
  return `Đã dùng ${used}/${budget} ${unitName}${paused}`;
}

function summary(view, row) {
  // Working time left, as the API counted it: the dossier's own read has it; an action's
  // answer does not, and the list's row (current once the action has answered) does.
  const counted = "time_left" in view ? view : row || {};
  const left = counted.time_left || null;
  const stepLeft = counted.step_time_left || null;
  const overdue = view.overdue
    ? h("span", { class: "bad-text" }, `Quá hạn từ ${fmtDateTime(view.overdue.appointment)}`)
    : null;
  return h("section", { class: "card", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, view.procedure_name),
    facts([
      ["Trạng thái", h("span", {}, statusBadge(view.status, view.status_label), " ", overdue), "status"],
      view.applicant || row ? ["Người nộp", view.applicant ? view.applicant.name : row.applicant_name, "applicant"] : null,
      ["Hình thức nộp", CHANNEL_LABELS[view.channel] || view.channel],
      ["Ngày nộp", fmtDateTime(view.submitted_at)],
      // Boundary-free intake (Decree 118/2025): who received it, who decides, where it returns.
      view.centre_agency ? ["Nơi tiếp nhận", agencyText(view.centre_agency), "centre-agency"] : null,
      view.competent_agency ? ["Cơ quan giải quyết", agencyText(view.competent_agency), "competent-agency"] : null,
      view.centre_agency ? ["Nơi trả kết quả", view.return_by_post ? "Gửi qua dịch vụ bưu chính công ích"
        : agencyText(view.return_agency || view.centre_agency), "return-agency"] : null,
      ["Ngày tiếp nhận", fmtDateTime(view.received_at)],
      ["Ngày hẹn trả kết quả", view.closed_at || view.processed_at ? fmtDateTime(view.appointment_at) : leftCell(left, view.appointment_at), "appointment"],
      view.original_appointment_at && view.original_appointment_at !== view.appointment_at
        ? ["Ngày hẹn ban đầu", fmtDateTime(view.original_appointment_at)] : null,
      ["Bước hiện tại", view.current_step ? view.current_step.name : "—", "current-step"],
      ["Người đang xử lý", holderText(view), "holder"],
      view.current_step && !view.closed_at && view.holder && view.holder.role !== "applicant"
        ? ["Phân công", assignmentText(view.assignment), "assignment"] : null,
      view.current_step && view.current_step.due_at && !view.closed_at
        ? ["Hạn của bước", leftCell(stepLeft, view.current_step.due_at), "step-due"] : null,
      ["Thời hạn giải quyết", clockText(view, left)],
      view.supplement_due_at
        ? ["Hạn bổ sung hồ sơ", view.supplement_time_left ? leftCell(view.supplement_time_left, view.supplement_due_at) : dueCell(view.supplement_due_at), "supplement-due"] : null,
      view.outcome ? ["Kết quả giải quyết", OUTCOME_LABELS[view.outcome] || view.outcome, "outcome"] : null,
      view.result ? ["Văn bản kết quả", `${view.result.title || ""} số ${view.result.number}`] : null,
    ]),
  );
}

function actionsSection(view) {
  const list = mine(view.allowed_actions, view);
  const section = h("section", { class: "card actions", id: "actions", "aria-labelledby": "actions-title" },
    h("h2", { id: "actions-title" }, "Xử lý hồ sơ"));
  if (view.issuing) {
    section.append(h("p", { class: "alert info", role: "status" }, "Đang ký số và đóng dấu văn bản kết quả…"));
  }
  if (!list.length) {
    section.append(h("p", { class: "muted", id: "no-actions" },
      view.closed_at ? "Hồ sơ đã kết thúc." : `Bạn không có thao tác nào ở bước này. Người đang xử lý: ${holderText(view)}.`));
    return section;
  }
  section.append(...list.map((a) => actionForm(a, view)));
  // The one action there is starts open, unless it ends or turns back the dossier.
  const first = section.querySelector("details");
  if (first && list.length === 1 && !(list[0].action in CONFIRMATIONS)) first.open = true;
  // Held at intake for missing components: the pre-filled supplement request is the way on.
  const request = section.querySelector("details[id^='act-request_supplement-']");
  if (request && heldAtIntake(view)) request.open = true;
  return section;
}

function stepsSection(view) {
  return h("section", { class: "card", "aria-labelledby": "steps-title" },
    h("h2", { id: "steps-title" }, "Quy trình xử lý"),
    h("ol", { class: "steps", id: "steps" }, view.steps.map((s) => {
      const current = view.current_step && view.current_step.index === s.index;
      const late = s.escalated || (s.ended_at && s.due_at && s.ended_at > s.due_at);
      return h("li", { class: [s.ended_at ? "done" : "", current ? "current" : "", late ? "late" : ""].join(" ") },
        h("strong", {}, s.name),
        h("div", { class: "muted" }, `${ROLE_LABELS[s.role] || s.role} · ${names[s.agency] || s.agency}`),
        s.assignment ? h("div", {}, `Người xử lý: ${s.assignment.officer_name || s.assignment.officer_id}`) : null,
        s.due_at ? h("div", {}, `Hạn: ${fmtDateTime(s.due_at)}`) : null,
        s.ended_at ? h("div", {}, `Xong: ${fmtDateTime(s.ended_at)}`, late ? h("span", { class: "bad-text" }, " · trễ hạn") : null) : null,
        current && !view.closed_at ? h("span", { class: "badge info" }, "Đang ở bước này") : null);
    })),
  );
}

/** "signer:<user>@<agency>" or "seal:<agency>" as the reader says it. */
function signerText(signer) {
  const [kind, rest] = [signer.slice(0, signer.indexOf(":")), signer.slice(signer.indexOf(":") + 1)];
  if (kind === "seal") return `Đóng dấu: ${names[rest] || rest}`;
  const at = rest.lastIndexOf("@");
  const [person, agency] = at > 0 ? [rest.slice(0, at), rest.slice(at + 1)] : [rest, ""];
  return `Ký số: ${person}${agency ? ` (${names[agency] || agency})` : ""}`;
}

const SHORT_TYPES = {
  "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF", "application/xml": "XML",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
};

/** "PDF · 12,5 KB": a document's type and size. */
function fileFacts(d) {
  const kb = d.size / 1024;
  const size = kb < 1024
    ? `${kb.toLocaleString("vi-VN", { maximumFractionDigits: kb < 10 ? 1 : 0 })} KB`
    : `${(kb / 1024).toLocaleString("vi-VN", { maximumFractionDigits: 1 })} MB`;
  return `${SHORT_TYPES[d.media_type] || d.media_type} · ${size}`;
}

function documentsSection(docs) {
  const rows = docs.documents.map((d) => d.source === "database"
    // Taken from a national database: no file to download, only where it came from.
    ? h("tr", { dataset: { source: "database" } },
      td("Văn bản", [d.title, h("div", { class: "muted file-facts" }, "Khai thác từ cơ sở dữ liệu, không có tệp")]),
      td("Ký số", h("span", { class: "muted" }, "—")),
      td("Ngày", fmtDateTime(d.created_at)),
      td("Tải về", h("span", { class: "muted" }, "—")))
    : h("tr", {},
      td("Văn bản", [d.title || d.filename, h("div", { class: "muted file-facts" }, fileFacts(d))]),
      td("Ký số", d.signers.length
        ? h("ul", { class: "plain" }, d.signers.map((s) => h("li", {}, signerText(s))))
        : h("span", { class: "muted" }, "Không")),
      td("Ngày", fmtDateTime(d.created_at)),
      td("Tải về",
        h("button", { type: "button", dataset: { document: d.id }, onclick: () => download(d.href, d.filename) }, "Tải về")),
    ));
  return h("section", { class: "card", id: "documents-section", "aria-labelledby": "documents-title" },
    h("h2", { id: "documents-title" }, "Văn bản, giấy tờ"),
    rows.length
      ? table({ caption: "Văn bản của hồ sơ", captionHidden: true, id: "documents", rows,
          columns: [["Văn bản"], ["Ký số"], ["Ngày"], ["Tải về"]] })
      : h("p", { class: "muted" }, "Chưa có văn bản."));
}

function who(record) {
  if (!record.actor_id) return "—";
  const role = ROLE_LABELS[record.role] || record.role || "";
  return `${record.actor_name || record.actor_id}${role ? ` (${role})` : ""}`;
}

/** An agency's name, and (a merged commune's) since when it no longer operates. */
function agencyText(code) {
  const note = agencyNote(code);
  return note ? [names[code] || code, h("div", { class: "muted agency-note" }, `(${note})`)] : names[code] || code;
}

function eventsSection(events) {
  const evRows = events.events.map((e) =>
    h("tr", {},
      td("Thời gian", fmtDateTime(e.at)),
      td("Sự kiện", [EVENT_LABELS[e.kind] || e.kind,
        e.step_id && stepNames[e.step_id] ? h("div", { class: "muted" }, stepNames[e.step_id]) : null]),
      td("Người thực hiện", who(e)),
      td("Nội dung", stepData(e.kind, e.comment, e.data, names) || ""),
    ));
  const refused = events.refused_attempts.map((r) =>
    h("tr", {},
      td("Thời gian", fmtDateTime(r.at)),
      td("Thao tác", ACTION_LABELS[r.action] || r.action),
      td("Người thử", who(r)),
      td("Lý do bị từ chối", r.reason),
    ));
  const columns = (...labels) => labels.map((l) => [l]);
  return h("section", { class: "card", id: "events-section", "aria-labelledby": "events-title" },
    h("h2", { id: "events-title" }, "Nhật ký xử lý"),
    table({ caption: "Các sự kiện của hồ sơ", captionHidden: true, id: "events", rows: evRows,
      columns: columns("Thời gian", "Sự kiện", "Người thực hiện", "Nội dung") }),
    refused.length
      ? [h("h3", {}, "Thao tác bị từ chối"),
         table({ caption: "Thao tác bị từ chối, ai thử và lý do", captionHidden: true, id: "refused", rows: refused,
           columns: columns("Thời gian", "Thao tác", "Người thử", "Lý do bị từ chối") })]
      : null);
}

// What the steps so far concluded, beside the action form: for the officers who hold the
// dossier next (the leader reads the appraisal, the signer the approval) and auditors.
function findingsFor(view) {
  return user.roles.some((r) => r !== "applicant") ? findingsSection(view, names) : null;
}

// ------------------------------------------------------------------ online payment

// The applicant (or the officer at the counter, who shows the QR code) pays what the
// dossier owes now through the gateway: its page, or its QR code scanned with a bank app.
// The amount is the engine's; the order's status follows as the gateway tells motcua.
const PAYMENT_STATUS_CLASS = { paid: "ok-text", refunded: "muted", expired: "bad-text", failed: "bad-text" };
let paymentTimer = null;

function mayPay(view, pays) {
  if (!pays || (view.closed_at && !pays.requests.length)) return false;
  if (view.applicant_account && view.applicant_account === user.sub) return true;
  return view.allowed_actions.some((a) => a.action === "pay" && a.role !== "system" && user.roles.includes(a.role) && (!a.agency || a.agency === user.agency));
}

function paymentSection(view, pays) {
  clearTimeout(paymentTimer);
  // Nothing to show: no fee owed now (or no gateway to pay it through) and no request yet.
  const payable = pays && pays.online_payment && pays.fee_due_vnd && !view.closed_at;
  if (!mayPay(view, pays) || (!payable && !pays.requests.length)) return h("div", { id: "payment-section", hidden: true });
  const path = `/dossiers/${encodeURIComponent(code)}/payments`;
  const error = h("div", { class: "alert error", role: "alert", hidden: true, id: "payment-error" });
  const live = pays.requests.find((r) => r.status === "pending");
  const body = [];
  if (live) {
    body.push(
      h("p", {}, "Số tiền: ", h("strong", {}, live.amount_text), ` · ${live.status_label} · hạn thanh toán ${fmtDateTime(live.expires_at)}`),
      h("p", {}, h("a", { class: "button primary", id: "payment-link", href: live.payment_url, target: "_blank", rel: "noopener" }, "Mở trang thanh toán")),
      live.qr_svg ? h("figure", { class: "payment-qr" },
        h("img", { src: live.qr_svg, alt: `Mã QR thanh toán ${live.amount_text} cho hồ sơ ${code}`, width: 200, height: 200 }),
        h("figcaption", { class: "hint" }, "Quét mã bằng ứng dụng ngân hàng hoặc ví điện tử.")) : null,
    );
    // While the order is open: look again every few seconds (the gateway tells motcua).
    paymentTimer = setTimeout(async () => {
      try {
        const now = await api(path);
        const same = now.requests.find((r) => r.order_id === live.order_id);
        if (same && same.status !== "pending") await load();
        else $("#payment-section").replaceWith(paymentSection(view, now));
      } catch (err) {
        showError(error, err);
      }
    }, 3000);
  } else if (payable) {
    const button = h("button", { type: "button", class: "primary", id: "pay-online" }, "Thanh toán trực tuyến");
    button.addEventListener("click", async () => {
      hide(error);
      button.disabled = true;
      try {
        await api(path, { method: "POST" });
        $("#payment-section").replaceWith(paymentSection(view, await api(path)));
      } catch (err) {
        button.disabled = false;
        showError(error, err);
      }
    });
    body.push(
      h("p", {}, "Phí, lệ phí cần nộp: ", h("strong", {}, `${pays.fee_due_vnd.toLocaleString("vi-VN")} đồng`)),
      button,
    );
  }
  const past = pays.requests.filter((r) => r !== live);
  if (past.length) {
    body.push(table({
      caption: "Các lần yêu cầu thanh toán",
      columns: [["Mã thanh toán"], ["Số tiền", { num: true }], ["Trạng thái"], ["Thời điểm"]],
      rows: past.map((r) => h("tr", { dataset: { order: r.order_id } },
        td("Mã thanh toán", h("code", {}, r.order_id)),
        td("Số tiền", r.amount_text, { num: true }),
        td("Trạng thái", [h("span", { class: PAYMENT_STATUS_CLASS[r.status] || "" }, r.status_label),
          r.refund_amount_vnd ? h("div", { class: "hint" }, `Đã hoàn ${r.refund_amount_vnd.toLocaleString("vi-VN")} đồng`) : null]),
        td("Thời điểm", fmtDateTime(r.refunded_at || r.paid_at || r.requested_at)))),
    }));
  }
  return h("section", { class: "card", id: "payment-section", "aria-labelledby": "payment-title" },
    h("h2", { id: "payment-title" }, "Thanh toán trực tuyến"), error, ...body);
}

// ------------------------------------------------------------------ loading

async function load(view) {
  const path = `/dossiers/${encodeURIComponent(code)}`;
  const [live, docs, events, found, pays] = await Promise.all([
    view ? Promise.resolve(view) : api(path),
    api(`${path}/documents`).catch(() => ({ documents: [] })),
    api(`${path}/events`).catch(() => ({ events: [], refused_attempts: [] })),
    api(`/dossiers?limit=5&q=${encodeURIComponent(code)}`).catch(() => ({ items: [] })),
    api(`${path}/payments`).catch(() => null),
  ]);
  if (!procedure || procedure.code !== live.procedure_code) {
    procedure = await api(`/procedures/${encodeURIComponent(live.procedure_code)}`).catch(() => null);
  }
  stepNames = Object.fromEntries(live.steps.map((s) => [s.step_id, s.name]));
  const row = found.items.find((i) => i.code === live.code);
  const root = $("#dossier");
  root.replaceChildren(
    h("div", { class: "grid-3" },
      h("div", {}, summary(live, row), checklistSection(live, docs), findingsFor(live), paymentSection(live, pays), actionsSection(live), documentsSection(docs)),
      h("div", {}, stepsSection(live))),
    eventsSection(events),
  );
  root.setAttribute("aria-busy", "false");
  startCountdowns();
  schedule(live, events);
}

// The events and documents lists are the read model, a moment behind the workflow: they are
// fetched again (alone, so a form being filled in is left as it is) until they have caught
// up. While the result is being signed, the whole dossier is looked at again once it moves.
function schedule(live, events) {
  clearTimeout(pollTimer);
  const behind = events.events.length < live.event_seq;
  catchingUp = behind ? catchingUp + 1 : 0;
  const failed = (err) => showError($("#dossier-error"), err);
  if (live.issuing) {
    pollTimer = setTimeout(async () => {
      try {
        const now = await api(`/dossiers/${encodeURIComponent(code)}`);
        if (now.event_seq !== live.event_seq || !now.issuing) await load(now);
        else schedule(live, events);
      } catch (err) {
        failed(err);
      }
    }, 2000);
  } else if (behind && catchingUp <= 30) {
    pollTimer = setTimeout(() => refreshRecords(live).catch(failed), 500);
  }
}

async function refreshRecords(live) {
  const path = `/dossiers/${encodeURIComponent(code)}`;
  const [docs, events] = await Promise.all([api(`${path}/documents`), api(`${path}/events`)]);
  $("#documents-section").replaceWith(documentsSection(docs));
  const checklist = checklistSection(live, docs); // its files' download buttons
  if (checklist) $("#checklist-section")?.replaceWith(checklist);
  $("#events-section").replaceWith(eventsSection(events));
  schedule(live, events);
}

page(async () => {
  user = requireUser();
  chrome(user);
  $("#back-link").href = isOfficer(user) ? "/ui/queue" : user.roles.includes("applicant") ? "/ui/my" : "/ui/audit";
  if (user.roles.includes("auditor")) {
    $("#back-link").after(" · ", h("a", { href: `/ui/audit/${encodeURIComponent(code)}` }, "Xem kiểm toán"));
  }
  names = await agencies();
  try {
    await load();
  } catch (err) {
    $("#dossier").replaceChildren();
    showError($("#dossier-error"), err);
  }
});
