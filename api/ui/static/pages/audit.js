// The auditor's view of one dossier: planned against actual time per step, pauses and
// escalations, the state changes, the replay against today's workflow code, the hash
// chain and record check, and the signatures on its documents. Every section loads on
// its own (a failing one shows its error, the others still show). Without a code: the
// most recent dossiers. Every read here is itself logged by the API (audit_log).
import {
  $, ApiError, CHANNEL_LABELS, ROLE_LABELS, agencies, api, chrome, fmtDateTime, fmtDuration, h,
  page, requireUser, showError, statusBadge, table, td,
} from "../app.js";
import { fmtNumber, fmtWorkingMinutes, loaded, section } from "../figures.js";

const VERDICTS = {
  early: ["Trước hạn", "ok"],
  on_time: ["Đúng hạn", "ok"],
  late: ["Quá hạn", "bad"],
};

const ESCALATION_LABELS = {
  step_budget: "Bước quá thời hạn, báo lãnh đạo",
  apology_due: "Sắp quá hạn: cần thư xin lỗi, hẹn lại (Mẫu 04)",
  overdue: "Hồ sơ quá hạn trả kết quả",
  handoff_unacknowledged: "Cơ quan chưa xác nhận nhận hồ sơ liên thông",
  child_unacknowledged: "Cơ quan liên thông chưa xác nhận nhận hồ sơ",
};

const SIGNATURE_KINDS = { signer: "Chữ ký cá nhân", seal: "Dấu cơ quan", tsa: "Dấu thời gian" };

const FORM_LABELS = { result: "Kết quả giải quyết" };

const enc = encodeURIComponent;
const agencyName = (names, code) => (code ? names[code] || code : "—");
const short = (hash) => (hash ? `${hash.slice(0, 12)}…` : "—");

function verdictBadge(step) {
  if (step.verdict && VERDICTS[step.verdict]) {
    const [text, tone] = VERDICTS[step.verdict];
    return h("span", { class: `badge ${tone}`, dataset: { verdict: step.verdict } }, text);
  }
  if (!step.ended_at) {
    return step.late_by_working_minutes > 0
      ? h("span", { class: "badge bad", dataset: { verdict: "late" } }, "Đang quá hạn")
      : h("span", { class: "badge info", dataset: { verdict: "open" } }, "Đang xử lý");
  }
  return h("span", { class: "badge", dataset: { verdict: "none" } }, "Không tính hạn");
}

function exclusionReason(reason, stepNames) {
  if (reason === "supplement") return "Chờ người nộp bổ sung hồ sơ";
  if (reason === "financial_obligation") return "Chờ thực hiện nghĩa vụ tài chính";
  return `Bước không tính vào thời hạn: ${stepNames[reason] || reason}`;
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).flatMap(([term, value, id]) => [h("dt", {}, term), h("dd", { id }, value)]),
  );
}

// ------------------------------------------------------------------ sections

function summary(view, names) {
  return facts([
    ["Mã hồ sơ", view.code],
    ["Thủ tục", `${view.procedure_name} (${view.procedure_code}, phiên bản ${view.procedure_version})`],
    ["Trạng thái", statusBadge(view.status, view.status_label), "audit-status"],
    ["Hình thức nộp", CHANNEL_LABELS[view.channel] || view.channel],
    ["Nơi tiếp nhận", agencyName(names, view.centre_agency)],
    ["Cơ quan giải quyết", agencyName(names, view.competent_agency)],
    ["Ngày nộp", fmtDateTime(view.submitted_at)],
    ["Ngày tiếp nhận", fmtDateTime(view.received_at)],
    ["Ngày hẹn trả kết quả", fmtDateTime(view.appointment_at)],
    view.original_appointment_at && view.original_appointment_at !== view.appointment_at
      ? ["Ngày hẹn ban đầu", fmtDateTime(view.original_appointment_at)]
      : null,
    ["Đã xử lý xong lúc", fmtDateTime(view.processed_at)],
    ["Kết thúc lúc", fmtDateTime(view.closed_at)],
    ["Lịch làm việc áp dụng", view.calendar_version || "—"],
  ]);
}

function stepsTable(report, view, names) {
  const escalatedSteps = new Set((view?.escalations || []).map((e) => e.step_id).filter(Boolean));
  const rows = report.steps.map((s) => {
    const late = s.late_by_working_minutes > 0;
    const escalated = s.escalated || escalatedSteps.has(s.step_id);
    const officer = s.officer_name
      ? [s.officer_name, h("div", { class: "muted" }, s.officer_id)]
      : s.role === "system"
        ? h("span", { class: "muted" }, "Hệ thống (tự động)")
        : h("span", { class: "muted" }, "—");
    return h(
      "tr",
      { class: late ? "overdue" : null, dataset: { step: s.step_id, verdict: s.verdict || "" } },
      td(
        "Bước",
        [
          h("strong", {}, s.step_name),
          h("div", { class: "muted" }, `${ROLE_LABELS[s.role] || s.role} · bắt đầu ${fmtDateTime(s.started_at)}`),
        ],
      ),
      td("Cơ quan", agencyName(names, s.agency)),
      td("Cán bộ thực hiện", officer),
      td("Hạn theo kế hoạch", fmtDateTime(s.planned_due_at)),
      td("Kết thúc thực tế", s.ended_at ? fmtDateTime(s.ended_at) : h("span", { class: "muted" }, "Chưa kết thúc")),
      td("Đánh giá", [
        verdictBadge(s),
        escalated ? [" ", h("span", { class: "badge warn" }, "Đã báo lãnh đạo")] : null,
      ]),
      td(
        "Trễ hạn",
        late ? h("span", { class: "bad-text" }, fmtWorkingMinutes(s.late_by_working_minutes)) : "—",
        { num: true, cls: "late-by" },
      ),
    );
  });
  const late = report.steps.filter((s) => s.late_by_working_minutes > 0).length;
  const lead = h(
    "p",
    { id: "audit-steps-summary" },
    `${report.steps.length} lượt xử lý; `,
    late
      ? h("span", { class: "bad-text" }, `${late} lượt trễ hạn`)
      : h("span", { class: "ok-text" }, "không có bước nào trễ hạn"),
    ".",
  );
  const delay = report.delay
    ? h(
        "div",
        { class: "alert warn", id: "audit-delay" },
        h(
          "strong",
          {},
          `Hồ sơ quá hạn ${fmtWorkingMinutes(report.delay.overdue_by_working_minutes)} làm việc ` +
            `so với ngày hẹn ${fmtDateTime(report.delay.appointment_at)}`,
        ),
        report.delay.culprits.length
          ? h(
              "ul",
              {},
              report.delay.culprits.map((c) =>
                h(
                  "li",
                  {},
                  `${c.step_name} — ${agencyName(names, c.agency)}` +
                    (c.officer_name ? `, ${c.officer_name}` : "") +
                    `: trễ ${fmtWorkingMinutes(c.late_by_working_minutes)}`,
                ),
              ),
            )
          : h("p", {}, "Không xác định được bước gây trễ."),
      )
    : null;
  return [
    lead,
    delay,
    table({
      caption: "Thời hạn theo kế hoạch và thời điểm kết thúc thực tế của từng bước (Phiếu kiểm soát quá trình giải quyết)",
      columns: [
        ["Bước"], ["Cơ quan"], ["Cán bộ thực hiện"], ["Hạn theo kế hoạch"], ["Kết thúc thực tế"],
        ["Đánh giá"], ["Trễ hạn", { num: true }],
      ],
      rows,
      id: "audit-steps-table",
    }),
  ];
}

function pausesAndEscalations(view, names) {
  const stepNames = Object.fromEntries(view.steps.map((s) => [s.step_id, s.name]));
  const parts = [];
  parts.push(
    facts([
      ["Số lần yêu cầu bổ sung", fmtNumber(view.supplement_requests, { digits: 0 })],
      ["Thời gian tạm dừng tính hạn", view.exclusions.length || view.time_paused_minutes ? fmtDuration(view.time_paused_minutes * 60000) : "Không có"],
      ["Đồng hồ tính hạn", view.clock_paused ? `Đang tạm dừng từ ${fmtDateTime(view.paused_since)}` : view.closed_at ? "Đã dừng (hồ sơ đã kết thúc)" : "Đang chạy"],
    ]),
  );
  if (view.overdue) {
    parts.push(
      h(
        "div",
        { class: "alert error", role: "note" },
        h("strong", {}, `Quá hạn trả kết quả từ ${fmtDateTime(view.overdue.at)} (hẹn ${fmtDateTime(view.overdue.appointment)})`),
        view.overdue.step_id
          ? `Khi đó hồ sơ ở bước “${stepNames[view.overdue.step_id] || view.overdue.step_id}” của ${agencyName(names, view.overdue.agency)}.`
          : null,
      ),
    );
  }
  parts.push(h("h3", {}, "Thời gian tạm dừng (không tính vào thời hạn)"));
  parts.push(
    view.exclusions.length
      ? table({
          caption: "Các khoảng thời gian không tính vào thời hạn giải quyết",
          captionHidden: true,
          columns: [["Lý do"], ["Từ"], ["Đến"], ["Thời gian", { num: true }]],
          rows: view.exclusions.map((x) =>
            h(
              "tr",
              {},
              td("Lý do", exclusionReason(x.reason, stepNames)),
              td("Từ", fmtDateTime(x.start)),
              td("Đến", x.end ? fmtDateTime(x.end) : h("span", { class: "badge warn" }, "Đang tạm dừng")),
              td("Thời gian", x.end ? fmtDuration(Date.parse(x.end) - Date.parse(x.start)) : "—", { num: true }),
            ),
          ),
          id: "audit-exclusions",
        })
      : h("p", { class: "muted", id: "audit-exclusions" }, "Không có lần tạm dừng nào."),
  );
  if (view.extensions.length) {
    parts.push(h("h3", {}, "Gia hạn, hẹn lại ngày trả (Mẫu 04)"));
    parts.push(
      table({
        caption: "Các lần xin lỗi và hẹn lại ngày trả kết quả",
        captionHidden: true,
        columns: [["Thời điểm"], ["Người thực hiện"], ["Hẹn cũ"], ["Hẹn mới"], ["Lý do"]],
        rows: view.extensions.map((x) =>
          h(
            "tr",
            {},
            td("Thời điểm", fmtDateTime(x.at)),
            td("Người thực hiện", [x.by, h("div", { class: "muted" }, agencyName(names, x.agency))]),
            td("Hẹn cũ", fmtDateTime(x.previous_appointment)),
            td("Hẹn mới", fmtDateTime(x.new_appointment)),
            td("Lý do", x.reason || "—"),
          ),
        ),
      }),
    );
  }
  parts.push(h("h3", {}, "Cảnh báo, báo lãnh đạo"));
  parts.push(
    view.escalations.length
      ? table({
          caption: "Các lần hệ thống cảnh báo và báo lên lãnh đạo",
          captionHidden: true,
          columns: [["Thời điểm"], ["Loại cảnh báo"], ["Bước"], ["Cơ quan"], ["Báo đến"]],
          rows: view.escalations.map((e) =>
            h(
              "tr",
              { class: e.kind === "overdue" ? "overdue" : null },
              td("Thời điểm", fmtDateTime(e.at)),
              td("Loại cảnh báo", [
                ESCALATION_LABELS[e.kind] || e.kind,
                e.message ? h("div", { class: "muted small" }, e.message) : null,
              ]),
              td("Bước", e.step_id ? stepNames[e.step_id] || e.step_id : "—"),
              td("Cơ quan", agencyName(names, e.agency)),
              td("Báo đến", ROLE_LABELS[e.to_role] || e.to_role),
            ),
          ),
          id: "audit-escalations",
        })
      : h("p", { class: "muted", id: "audit-escalations" }, "Không có cảnh báo nào."),
  );
  return parts;
}

function statesTable(states, names) {
  if (!states.length) return h("p", { class: "muted" }, "Chưa có thay đổi trạng thái nào.");
  return table({
    caption: "Trạng thái của hồ sơ sau mỗi lần thay đổi (theo lịch sử quy trình)",
    columns: [["Thời điểm"], ["Trạng thái"], ["Bước"], ["Người phải xử lý"], ["Hạn của bước"], ["Ngày hẹn trả"], ["Ghi chú"]],
    rows: states.map((s) => {
      const notes = [];
      if (s.clock_paused) notes.push(h("span", { class: "badge warn" }, "Tạm dừng tính hạn"));
      if (s.overdue) notes.push(h("span", { class: "badge bad" }, "Quá hạn"));
      if (s.escalations) notes.push(h("span", { class: "badge warn" }, `${s.escalations} cảnh báo`));
      if (s.supplement_requests) notes.push(h("span", { class: "badge" }, `${s.supplement_requests} lần bổ sung`));
      if (s.source === "events") notes.push(h("span", { class: "muted" }, "dựng lại từ sự kiện"));
      const holder = s.holder_role
        ? [s.holder_officer_id ? h("div", {}, s.holder_officer_name || s.holder_officer_id) : null,
           ROLE_LABELS[s.holder_role] || s.holder_role, s.holder_agency ? h("div", { class: "muted" }, agencyName(names, s.holder_agency)) : null]
        : "—";
      return h(
        "tr",
        { dataset: { status: s.status, seq: s.last_event_seq } },
        td("Thời điểm", [fmtDateTime(s.at), h("div", { class: "muted" }, `sự kiện #${s.last_event_seq}`)]),
        td("Trạng thái", statusBadge(s.status, s.status_label)),
        td("Bước", s.step_name || "—"),
        td("Người phải xử lý", holder),
        td("Hạn của bước", fmtDateTime(s.step_due_at)),
        td("Ngày hẹn trả", fmtDateTime(s.appointment_at)),
        td("Ghi chú", notes.length ? notes.flatMap((n) => [n, " "]) : "—"),
      );
    }),
    id: "audit-states-table",
  });
}

function replayResult(result) {
  const runs = result.runs.length;
  const verdict = result.deterministic
    ? h(
        "p",
        { class: "verdict ok", id: "audit-replay-verdict", dataset: { deterministic: "true" } },
        h("span", { class: "badge ok" }, "Tất định"),
        ` Phát lại ${runs} lần chạy của quy trình với mã nguồn hiện hành: kết quả khớp hoàn toàn với lịch sử.`,
      )
    : h(
        "p",
        { class: "verdict bad", id: "audit-replay-verdict", dataset: { deterministic: "false" } },
        h("span", { class: "badge bad" }, "Không tất định"),
        ` Phát lại ${runs} lần chạy: mã nguồn hiện hành không tái tạo đúng lịch sử của hồ sơ.`,
      );
  return [
    verdict,
    table({
      caption: "Các lần chạy (run) của quy trình đã được phát lại",
      captionHidden: true,
      columns: [["Lần chạy"], ["Nguồn lịch sử"], ["Số sự kiện", { num: true }], ["Kết quả"]],
      rows: result.runs.map((r) =>
        h(
          "tr",
          { class: r.deterministic ? null : "overdue" },
          td("Lần chạy", h("code", { title: r.run_id }, r.run_id)),
          td("Nguồn lịch sử", r.source === "archive" ? "Kho lưu trữ" : "Temporal"),
          td("Số sự kiện", fmtNumber(r.events, { digits: 0 }), { num: true }),
          td(
            "Kết quả",
            r.deterministic
              ? h("span", { class: "badge ok" }, "Khớp")
              : [h("span", { class: "badge bad" }, "Không khớp"), h("div", { class: "muted small", lang: "en" }, r.error || "")],
          ),
        ),
      ),
    }),
  ];
}

function chainResult(verification) {
  const r = verification.record;
  const heads = r.chain_head_workflow
    ? r.chain_head_workflow === r.chain_head_read_model
      ? h("span", { class: "ok-text" }, "khớp")
      : h("span", { class: "bad-text" }, "không khớp")
    : h("span", { class: "muted" }, "không có");
  const verdict = r.intact
    ? h(
        "p",
        { class: "verdict ok", id: "audit-chain-verdict", dataset: { intact: "true" } },
        h("span", { class: "badge ok" }, "Nguyên vẹn"),
        ` Chuỗi băm của ${r.events_in_read_model} sự kiện liền mạch; mọi sự kiện trong cơ sở dữ liệu khớp với lịch sử quy trình.`,
      )
    : h(
        "p",
        { class: "verdict bad", id: "audit-chain-verdict", dataset: { intact: "false" } },
        h("span", { class: "badge bad" }, "Không nguyên vẹn"),
        ` Phát hiện ${r.problems.length} sai lệch giữa cơ sở dữ liệu và lịch sử quy trình.`,
      );
  const parts = [
    verdict,
    facts([
      ["Sự kiện trong cơ sở dữ liệu", fmtNumber(r.events_in_read_model, { digits: 0 })],
      ["Sự kiện trong lịch sử quy trình", r.events_in_history === null ? "—" : fmtNumber(r.events_in_history, { digits: 0 })],
      ["Sự kiện có mã băm", fmtNumber(r.chained_events, { digits: 0 })],
      ["Mã băm cuối (cơ sở dữ liệu)", h("code", { title: r.chain_head_read_model }, short(r.chain_head_read_model))],
      ["Mã băm cuối (quy trình)", [h("code", { title: r.chain_head_workflow || "" }, short(r.chain_head_workflow)), " · ", heads]],
    ]),
  ];
  if (r.problems.length) {
    parts.push(
      table({
        caption: "Các sai lệch: sự kiện nào, trường nào khác",
        columns: [["Sự kiện"], ["Sai lệch"]],
        rows: r.problems.map((p) =>
          h(
            "tr",
            { class: "overdue" },
            td("Sự kiện", p.seq === null ? "Cả chuỗi" : [`#${p.seq}`, p.event_id ? h("div", { class: "muted" }, p.event_id) : null]),
            td("Sai lệch", h("span", {}, p.message)),
          ),
        ),
        id: "audit-chain-problems",
      }),
    );
  }
  return parts;
}

function signerText(signer, names) {
  // "signer:<user>@<agency>" or "seal:<agency>"
  const [kind, rest = ""] = signer.split(/:(.*)/s);
  if (kind === "seal") return `Dấu cơ quan: ${agencyName(names, rest)}`;
  if (kind === "signer") {
    const at = rest.lastIndexOf("@");
    const user = at >= 0 ? rest.slice(0, at) : rest;
    const agency = at >= 0 ? rest.slice(at + 1) : "";
    return `Người ký: ${user}${agency ? ` (${agencyName(names, agency)})` : ""}`;
  }
  return signer;
}

function documentTitle(doc) {
  const form = FORM_LABELS[doc.form] || (/^\d\d$/.test(doc.form) ? `Mẫu ${doc.form}` : doc.form);
  return `${doc.title} · ${form}`;
}

function signatureChecks(checks, listed, names) {
  const parts = [];
  const checked = new Set(checks.map((c) => c.document_id));
  if (!checks.length) parts.push(h("p", { class: "muted" }, "Hồ sơ chưa có biểu mẫu hay kết quả nào cần kiểm tra chữ ký."));
  for (const c of checks) {
    const v = c.verification;
    let badge;
    if (!v) badge = h("span", { class: "badge bad" }, "Không kiểm tra được");
    else if (!v.signatures.signed) badge = h("span", { class: "badge" }, "Không có chữ ký số");
    else badge = v.valid ? h("span", { class: "badge ok" }, "Chữ ký hợp lệ") : h("span", { class: "badge bad" }, "Chữ ký không hợp lệ");
    const problems = [c.problem, ...(v ? v.problems : [])].filter(Boolean);
    parts.push(
      h(
        "article",
        { class: "doc-check", dataset: { document: c.document_id, valid: v ? String(v.valid) : "false" } },
        h("h3", {}, documentTitle(c), " ", badge),
        v && v.signatures.signatures.length
          ? table({
              caption: `Chữ ký trên “${c.title}”`,
              captionHidden: true,
              columns: [["Loại"], ["Người ký / đơn vị"], ["Thời điểm ký"], ["Chứng thư"], ["Kết quả"]],
              rows: v.signatures.signatures.map((s) =>
                h(
                  "tr",
                  { class: s.ok ? null : "overdue" },
                  td("Loại", SIGNATURE_KINDS[s.kind] || s.kind || "—"),
                  td("Người ký / đơn vị", [
                    s.name || "—",
                    s.title && s.kind !== "seal" ? h("div", { class: "muted" }, s.title) : null,
                    (s.agency_name || s.agency_code) && (s.agency_name || agencyName(names, s.agency_code)) !== s.name
                      ? h("div", { class: "muted" }, s.agency_name || agencyName(names, s.agency_code))
                      : null,
                  ]),
                  td("Thời điểm ký", [
                    fmtDateTime(s.signing_time),
                    s.timestamp_time ? h("div", { class: "muted" }, `dấu thời gian ${fmtDateTime(s.timestamp_time)}`) : null,
                  ]),
                  td("Chứng thư", [
                    `hiệu lực đến ${fmtDateTime(s.cert_valid_until)}`,
                    h("div", { class: "muted" }, s.trusted ? "tin cậy" : "không tin cậy", s.expired ? ", đã hết hạn" : ""),
                  ]),
                  td(
                    "Kết quả",
                    s.ok
                      ? h("span", { class: "badge ok" }, s.intact ? "Hợp lệ, nguyên vẹn" : "Hợp lệ")
                      : h("span", { class: "badge bad" }, s.intact ? "Không hợp lệ" : "Tài liệu đã bị sửa"),
                  ),
                ),
              ),
            })
          : null,
        problems.length
          ? h("ul", { class: "problems bad-text" }, problems.map((p) => h("li", { lang: "en" }, p)))
          : null,
      ),
    );
  }
  const unchecked = (listed || []).filter((d) => d.signers.length && !checked.has(d.id));
  if (unchecked.length) {
    parts.push(h("h3", {}, "Tài liệu có chữ ký chưa được kiểm tra"));
    parts.push(signerList(unchecked, names));
  }
  return parts;
}

function signerList(docs, names) {
  const signed = docs.filter((d) => d.signers.length);
  if (!signed.length) return h("p", { class: "muted" }, "Không có tài liệu nào mang chữ ký số.");
  return h(
    "ul",
    { class: "signer-list" },
    signed.map((d) =>
      h(
        "li",
        { dataset: { document: d.id } },
        h("strong", {}, documentTitle(d)),
        h("ul", {}, d.signers.map((s) => h("li", {}, signerText(s, names)))),
      ),
    ),
  );
}

// ------------------------------------------------------------------ the pages

async function recent(root, names) {
  const s = section("audit-recent", "Hồ sơ gần đây", {
    lead: "Các hồ sơ nộp gần nhất (tối đa 50). Chọn mã hồ sơ để xem kết quả kiểm toán.",
  });
  root.replaceChildren(s.el);
  const progress = $("#audit-progress");
  progress.textContent = "Đang tải danh sách hồ sơ…";
  await s.fill(async () => {
    const list = await api("/dossiers?limit=50");
    if (!list.items.length) return h("p", { class: "muted" }, "Chưa có hồ sơ nào.");
    return table({
      caption: "Hồ sơ nộp gần nhất, mới nhất trước",
      captionHidden: true,
      columns: [["Mã hồ sơ"], ["Thủ tục"], ["Trạng thái"], ["Ngày nộp"], ["Ngày hẹn trả"]],
      rows: list.items.map((item) =>
        h(
          "tr",
          { class: item.overdue ? "overdue" : null, dataset: { code: item.code } },
          td("Mã hồ sơ", [
            h("a", { href: `/ui/audit/${enc(item.code)}`, class: "dossier-code" }, item.code),
            item.overdue ? [" ", h("span", { class: "badge bad" }, "Quá hạn")] : null,
          ]),
          td("Thủ tục", [item.procedure_name, h("div", { class: "muted" }, agencyName(names, item.competent_agency))]),
          td("Trạng thái", statusBadge(item.status, item.status_label)),
          td("Ngày nộp", fmtDateTime(item.submitted_at)),
          td("Ngày hẹn trả", fmtDateTime(item.appointment_at)),
        ),
      ),
    });
  });
  loaded(progress, "danh sách hồ sơ", [s]);
}

async function audit(root, code, names) {
  const path = `/audit/dossiers/${enc(code)}`;
  // Each request once; the sections that share one wait for the same answer.
  const stateP = api(`/dossiers/${enc(code)}`);
  const lateP = api(`${path}/late`);
  const verifyP = api(`${path}/verify`);
  const docsP = api(`/dossiers/${enc(code)}/documents`);
  const statesP = api(`${path}/timeline`);
  const replayP = api(`${path}/replay`);
  for (const p of [stateP, lateP, verifyP, docsP, statesP, replayP]) p.catch(() => {});

  const sections = {
    summary: section("audit-summary", "Thông tin hồ sơ"),
    steps: section("audit-steps", "Tiến độ từng bước: kế hoạch và thực tế", {
      lead: "Hạn của mỗi bước theo quy trình so với thời điểm bước kết thúc; thời gian trễ tính theo giờ làm việc.",
    }),
    pauses: section("audit-pauses", "Tạm dừng, gia hạn và cảnh báo"),
    states: section("audit-states", "Các lần thay đổi trạng thái"),
    replay: section("audit-replay", "Kiểm tra phát lại (replay) quy trình", {
      lead: "Lịch sử của hồ sơ được chạy lại với mã nguồn quy trình hiện hành: tất định nghĩa là cho đúng kết quả đã ghi.",
    }),
    chain: section("audit-chain", "Chuỗi băm và đối chiếu bản ghi", {
      lead: "Mỗi sự kiện mang mã băm của sự kiện trước; bản ghi trong cơ sở dữ liệu được đối chiếu với lịch sử quy trình từng trường.",
    }),
    signatures: section("audit-signatures", "Chữ ký số trên biểu mẫu và kết quả"),
  };
  const back = h(
    "p",
    { class: "back-link" },
    h("a", { href: `/ui/dossiers/${enc(code)}`, id: "audit-dossier-link" }, `Mở hồ sơ ${code} ở trang xử lý`),
  );
  root.replaceChildren(
    h("h2", { class: "audit-code" }, "Hồ sơ ", h("span", { id: "audit-code-value" }, code)),
    back,
    ...Object.values(sections).map((s) => s.el),
  );

  const progress = $("#audit-progress");
  progress.textContent = `Đang tải kết quả kiểm toán hồ sơ ${code}…`;
  const view = async () => {
    try {
      return await stateP;
    } catch {
      return null; // the steps table stands without the live state
    }
  };
  await Promise.all([
    sections.summary.fill(async () => summary(await stateP, names)),
    sections.steps.fill(async () => stepsTable(await lateP, await view(), names)),
    sections.pauses.fill(async () => pausesAndEscalations(await stateP, names)),
    sections.states.fill(async () => statesTable(await statesP, names)),
    sections.replay.fill(async () => replayResult(await replayP)),
    sections.chain.fill(async () => chainResult(await verifyP)),
    sections.signatures.fill(async () => {
      let listed = null;
      try {
        listed = (await docsP).documents;
      } catch {
        /* the checks stand without the list */
      }
      try {
        const verification = await verifyP;
        return signatureChecks(verification.documents, listed, names);
      } catch (err) {
        if (!listed) throw err;
        // No signature checks: at least who signed each document, as recorded.
        return [
          h("p", { class: "alert warn" }, "Chưa kiểm tra được chữ ký; danh sách người ký theo hồ sơ lưu trữ:"),
          signerList(listed, names),
        ];
      }
    }),
  ]);
  const answers = await Promise.allSettled([stateP, lateP, verifyP, statesP, replayP]);
  if (answers.every((a) => a.status === "rejected" && a.reason && a.reason.status === 404)) {
    // No such dossier anywhere: one message, not one per section.
    root.replaceChildren();
    showError(
      $("#audit-error"),
      new ApiError(404, "not_found", `Không có hồ sơ mã ${code}, cả trong hệ thống lẫn kho lưu trữ. Kiểm tra lại mã hồ sơ.`),
    );
    progress.textContent = `Không tìm thấy hồ sơ ${code}.`;
    return;
  }
  loaded(progress, `kết quả kiểm toán hồ sơ ${code}`, Object.values(sections));
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#audit-error");
  const root = $("#audit");
  const form = $("#audit-form");
  const input = $("#audit-code");
  const code = (document.body.dataset.code || "").trim();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    input.setAttribute("aria-invalid", String(!value));
    if (!value) {
      showError(error, new ApiError(422, "invalid", "Nhập mã hồ sơ cần kiểm toán."));
      input.focus();
      return;
    }
    location.assign(`/ui/audit/${enc(value)}`);
  });

  if (!user.roles.includes("auditor")) {
    form.hidden = true;
    showError(
      error,
      new ApiError(
        403,
        "forbidden",
        "Trang kiểm toán chỉ dành cho kiểm toán viên. Tài khoản của bạn không có vai trò " +
          "“Kiểm toán viên” nên không xem được lịch sử, chuỗi băm và chữ ký của hồ sơ.",
      ),
    );
    return;
  }
  let names = {};
  try {
    names = await agencies();
  } catch {
    /* agency codes instead of names */
  }
  if (code) {
    document.title = `Kiểm toán hồ sơ ${code} · Bộ phận Một cửa`;
    await audit(root, code, names);
  } else {
    await recent(root, names);
  }
});
