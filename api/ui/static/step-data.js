// What a step recorded (an event's `data` and comment, or a finding: what the steps so far
// concluded), in Vietnamese: a label for each key, its value translated (a recommendation,
// an outcome, a channel, dates in Vietnam time, amounts in đồng). Technical keys (hashes,
// document ids, workers) are left out, and so is any key without a label: nothing
// reaches the page in English.
import {
  ACTION_LABELS, CHANNEL_LABELS, DATA_ANSWER_LABELS, DATABASE_LABELS, fmtDate, fmtDateTime, h,
  OUTCOME_LABELS, ROLE_LABELS,
} from "./app.js";

export const RECOMMENDATION_LABELS = {
  grant: "Đề nghị phê duyệt (đủ điều kiện giải quyết)",
  approve: "Đề nghị phê duyệt (đủ điều kiện giải quyết)",
  refuse: "Đề nghị từ chối (không đủ điều kiện giải quyết)",
  reject: "Đề nghị từ chối (không đủ điều kiện giải quyết)",
};

export const RETURN_CHANNEL_LABELS = {
  counter: "Tại Bộ phận Một cửa",
  post: "Qua dịch vụ bưu chính công ích",
  online: "Trực tuyến (kết quả điện tử đã ký số)",
};

export const PAYMENT_METHOD_LABELS = {
  online: "Thanh toán trực tuyến",
  bank: "Chuyển khoản ngân hàng",
  counter: "Nộp trực tiếp",
};

const STAGE_LABELS = {
  intake: "Tiếp nhận", handoff: "Chuyển hồ sơ", appraisal: "Thẩm định", consultation: "Lấy ý kiến",
  approval: "Phê duyệt", signature: "Ký số", payment: "Nghĩa vụ tài chính", linked: "Liên thông",
  return: "Trả kết quả",
};

const UNIT_LABELS = { "working days": "ngày làm việc", "working hours": "giờ làm việc", "calendar days": "ngày" };

const ESCALATION_LABELS = {
  step_budget: "Quá hạn của bước",
  apology_due: "Sắp đến hạn, cần xin lỗi và hẹn lại",
  overdue: "Quá hạn trả kết quả",
  handoff_unacknowledged: "Cơ quan nhận chưa xác nhận hồ sơ",
  child_unacknowledged: "Cơ quan liên thông chưa xác nhận hồ sơ",
};

// The comment's label, by the action that wrote it.
const COMMENT_LABELS = {
  approve: "Ý kiến phê duyệt",
  reject: "Lý do không phê duyệt",
  refuse: "Lý do từ chối",
  withdraw: "Lý do rút hồ sơ",
  request_extension: "Lý do chậm và lời xin lỗi",
  request_supplement: "Hướng dẫn bổ sung",
  assign: "Ý kiến chỉ đạo",
};

const number = (v) => Number(v).toLocaleString("vi-VN");
const text = (v) => (typeof v === "string" || typeof v === "number" ? String(v) : null);
const from = (labels) => (v) => labels[v] || text(v);
const duration = (v) => {
  const m = /^([\d.]+) ([a-z ]+)$/.exec(String(v));
  return m && UNIT_LABELS[m[2]] ? `${number(m[1])} ${UNIT_LABELS[m[2]]}` : null;
};

// key: [label, value as shown (null: not shown)]; `names` maps agency codes to names.
const FIELDS = {
  opinion: ["Ý kiến thẩm định", text],
  recommendation: ["Đề xuất", from(RECOMMENDATION_LABELS)],
  outcome: ["Kết quả", from(OUTCOME_LABELS)],
  granted: ["Nội dung văn bản", (v) => (v ? "Giải quyết, cấp kết quả" : "Từ chối giải quyết")],
  inspection_at: ["Thời gian kiểm tra", fmtDateTime],
  place: ["Địa điểm", text],
  missing: ["Giấy tờ cần bổ sung", (v) => (Array.isArray(v) ? v.join("; ") : text(v))],
  supplement_due_at: ["Hạn bổ sung", fmtDateTime],
  request_number: ["Lần yêu cầu bổ sung", text],
  stage: ["Giai đoạn", from(STAGE_LABELS)],
  received_at: ["Thời điểm nhận hồ sơ", fmtDateTime],
  effective_receipt_day: ["Ngày tiếp nhận tính hạn", fmtDate],
  statutory_time: ["Thời hạn giải quyết", duration],
  appointment_at: ["Ngày hẹn trả kết quả", fmtDateTime],
  previous_appointment: ["Ngày hẹn trước đó", fmtDateTime],
  new_appointment: ["Ngày hẹn trả mới", fmtDateTime],
  remote_area: ["Địa bàn khó khăn (cộng thêm thời gian)", (v) => (v ? "Có" : null)],
  receipt_number: ["Số biên lai, chứng từ", text],
  amount_vnd: ["Số tiền", (v) => `${number(v)} đồng`],
  method: ["Hình thức nộp tiền", from(PAYMENT_METHOD_LABELS)],
  received_by: ["Người nhận kết quả", text],
  authorization: ["Giấy ủy quyền", text],
  tracking_number: ["Số hiệu bưu gửi", text],
  address: ["Địa chỉ nhận", text],
  owner_role: ["Người xử lý", from(ROLE_LABELS)],
  due_at: ["Hạn của bước", fmtDateTime],
  budget: ["Thời hạn của bước", duration],
  escalation: ["Cảnh báo", from(ESCALATION_LABELS)],
  to_role: ["Báo cho", from(ROLE_LABELS)],
  to_officer_name: ["Báo lãnh đạo đã phân công", text],
  assignee_name: ["Người được phân công", text],
  previous_assignee_name: ["Thay cho", text],
  reason: ["Lý do", text],
  failures: ["Số lần không thành công", text],
  documents: ["Giấy tờ", (v) => (Array.isArray(v) ? v.map((d) => d && d.filename).filter(Boolean).join("; ") : null)],
  form: ["Văn bản phát hành", (v) => `Mẫu ${v}`],
  // A component taken from a national database (domain/machine/reuse.py).
  database: ["Cơ sở dữ liệu", from(DATABASE_LABELS)],
  answer: ["Kết quả khai thác", from(DATA_ANSWER_LABELS)],
  mismatched: ["Thông tin không khớp", (v) => (Array.isArray(v) && v.length ? v.join(", ") : null)],
  consent: ["Công dân đồng ý khai thác", consentText],
  data_consents: ["Công dân đồng ý khai thác dữ liệu",
    (v) => (Array.isArray(v) && v.length ? v.map(consentText).join("; ") : null)],
};

function consentText(c) {
  if (!c || !c.consented_at) return null;
  const by = c.confirmed_by ? `tại quầy, cán bộ ${c.confirmed_by} xác nhận` : `tài khoản ${c.consented_by}`;
  return `${by}, lúc ${fmtDateTime(c.consented_at)}`;
}
const AGENCY_FIELDS = {
  to_agency: "Chuyển đến",
  owner_agency: "Cơ quan xử lý",
  consulted_agency: "Cơ quan được lấy ý kiến",
  from_agency: "Chuyển từ",  // a merger (agency_moved)
  handoff_to: "Gửi lại hồ sơ đến",  // a merger while the handoff was not yet acknowledged
  result_to: "Trả kết quả tại",
  received_at_centre: "Nơi tiếp nhận",
};

// Values of an agency field that name no agency: the result sent by post (`result_to`).
const NOT_AN_AGENCY = { post: RETURN_CHANNEL_LABELS.post };

/** [label, text] for each part of what a step recorded that a person reads. */
export function stepDataItems(kind, comment, data, names = {}) {
  const items = [];
  if (comment) items.push([COMMENT_LABELS[kind] || "Ý kiến", comment]);
  for (const [key, value] of Object.entries(data || {})) {
    if (value === null || value === undefined || value === "") continue;
    if (key in AGENCY_FIELDS) {
      items.push([AGENCY_FIELDS[key], NOT_AN_AGENCY[value] || names[value] || value]);
      continue;
    }
    const field = FIELDS[key];
    if (!field) continue;
    const shown = field[1](value);
    if (shown) items.push([field[0], shown]);
  }
  if (data && data.channel) {
    const labels = kind === "return" ? RETURN_CHANNEL_LABELS : CHANNEL_LABELS;
    items.push(["Hình thức", labels[data.channel] || data.channel]);
  }
  return items;
}

/** What a step recorded, as a definition list (nothing when it recorded nothing to read). */
export function stepData(kind, comment, data, names) {
  const items = stepDataItems(kind, comment, data, names);
  if (!items.length) return null;
  return h("dl", { class: "step-data" }, items.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** "Kết quả các bước trước": what the steps so far concluded, for the next holders. */
export function findingsSection(view, names = {}) {
  const findings = view.findings || [];
  if (!findings.length) return null;
  return h("section", { class: "card", id: "findings", "aria-labelledby": "findings-title" },
    h("h2", { id: "findings-title" }, "Kết quả xử lý các bước trước"),
    findings.map((f) => {
      const role = ROLE_LABELS[f.role] || f.role;
      const agency = f.agency ? ` · ${names[f.agency] || f.agency}` : "";
      return h("article", { class: "finding", dataset: { kind: f.kind, step: f.step_id || "" } },
        h("h3", {}, `${ACTION_LABELS[f.kind] || f.kind}${f.step_name ? ` — ${f.step_name}` : ""}`),
        h("p", { class: "muted" }, `${f.actor_name || f.actor_id} (${role})${agency} · ${fmtDateTime(f.at)}`),
        stepData(f.kind, f.comment, f.data, names));
    }));
}
