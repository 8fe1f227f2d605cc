// The intake checklist (the view's `checklist`): each component of the procedure (thành
// phần hồ sơ), required or not, original or copy, how many, the file or reused record that
// satisfies it, and the required ones missing, flagged. The dossier page shows it and
// pre-fills the supplement request with what is missing; the submit page labels its
// file fields the same way. A component taken from a national database instead of a file
// (NQ 66.7/2025/NQ-CP) says so: "Khai thác từ CSDL quốc gia về dân cư", with the record's
// ids and when it was taken; one the database could not supply says why.
import { DATABASE_LABELS, download, fmtDateTime, h, table, td } from "../app.js";

/** "Bản chính · 2 bộ": what the procedure asks for of one component. */
export function formText(component) {
  const form = component.original ? "Bản chính" : "Bản sao";
  return component.copies > 1 ? `${form} · ${component.copies} bộ` : form;
}

/** How a supplement request names a component (as the engine's refusal names it). */
export function componentLine(item) {
  const form = item.original ? "bản chính" : "bản sao";
  const issue = item.data_issue ? `; ${item.data_issue}` : "";
  return `${item.name} (${form}${item.copies > 1 ? `, ${item.copies} bộ` : ""}${issue})`;
}

export function missingItems(view) {
  return (view.checklist?.items || []).filter((i) => i.missing);
}

/** An online dossier at intake missing a required component: held until supplemented. */
export function heldAtIntake(view) {
  return view.channel === "online" && view.current_step?.kind === "intake"
    && view.status !== "supplement_requested" && missingItems(view).length > 0;
}

/** A component taken from a database: which one, its record ids, when. */
function fromDatabase(f) {
  const s = f.source;
  return h("li", { dataset: { sha256: f.sha256, source: s.database }, class: "from-database" },
    h("strong", {}, `Khai thác từ ${s.database_name}`),
    h("span", { class: "muted" }, ` · mã bản ghi ${s.record_ids.join(", ")} · lúc ${fmtDateTime(s.fetched_at)}`));
}

/** What a component with a database says before any file: offered, or why it failed. */
function databaseNote(item) {
  if (!item.source) return null;
  const name = item.source.label || DATABASE_LABELS[item.source.database] || item.source.database;
  if (item.data_issue) {
    return h("p", { class: "data-issue", role: "note" },
      `Không khai thác được: ${item.data_issue}. Công dân bổ sung giấy tờ và đề nghị cơ quan quản lý `
      + "cơ sở dữ liệu điều chỉnh thông tin.");
  }
  if (item.files.length) return null;
  return h("p", { class: "muted" }, `Có thể khai thác từ ${name} nếu công dân đồng ý`);
}

function fileList(item, files, docs) {
  const note = item ? databaseNote(item) : null;
  if (!files.length) return note || h("span", { class: "muted" }, "Chưa có");
  return h("div", {}, h("ul", { class: "plain" }, files.map((f) => {
    if (f.source) return fromDatabase(f);
    const stored = docs.documents.find((d) => d.sha256 === f.sha256);
    return h("li", { dataset: { sha256: f.sha256 } },
      stored
        ? h("button", { type: "button", class: "link", onclick: () => download(stored.href, f.filename) }, f.filename)
        : f.filename,
      f.reused ? h("span", { class: "muted" }, " · dữ liệu dùng lại") : null);
  })), note);
}

function stateBadge(item) {
  if (item.missing) return h("span", { class: "badge bad" }, "Thiếu");
  if (item.files.length) return h("span", { class: "badge ok" }, "Đã có");
  return h("span", { class: "muted" }, "Không bắt buộc");
}

export function checklistSection(view, docs) {
  const checklist = view.checklist;
  if (!checklist || !(checklist.items.length || checklist.unmatched.length)) return null;
  const missing = missingItems(view);
  const rows = checklist.items.map((item) =>
    h("tr", { dataset: { kind: item.kind }, class: item.missing ? "missing" : null },
      td("Thành phần hồ sơ", item.name),
      td("Yêu cầu", item.required ? "Bắt buộc" : h("span", { class: "muted" }, "Nếu có")),
      td("Loại bản", formText(item)),
      td("Tệp đã nộp", fileList(item, item.files, docs)),
      td("Tình trạng", stateBadge(item)),
    ));
  if (checklist.unmatched.length) {
    rows.push(h("tr", { dataset: { kind: "" } },
      td("Thành phần hồ sơ", h("span", { class: "muted" }, "Tệp khác (không thuộc thành phần nào)")),
      td("Yêu cầu", "—"), td("Loại bản", "—"),
      td("Tệp đã nộp", fileList(null, checklist.unmatched, docs)),
      td("Tình trạng", "—")));
  }
  let alert = null;
  if (missing.length && !view.closed_at) {
    const names = missing.map((i) => i.name).join("; ");
    alert = h("div", { class: "alert warn", role: "status", id: "checklist-missing" },
      h("strong", {}, `Còn thiếu ${missing.length} thành phần bắt buộc`), names,
      heldAtIntake(view)
        ? h("p", {}, "Hồ sơ nộp trực tuyến chưa thể tiếp nhận khi còn thiếu thành phần bắt buộc: "
          + "yêu cầu bổ sung một lần, đầy đủ (đã điền sẵn trong mục Xử lý hồ sơ), hoặc từ chối tiếp nhận.")
        : null);
  }
  return h("section", { class: "card", id: "checklist-section", "aria-labelledby": "checklist-title" },
    h("h2", { id: "checklist-title" }, "Thành phần hồ sơ"),
    alert,
    table({ caption: "Thành phần hồ sơ theo thủ tục và tệp đã nộp cho từng thành phần", captionHidden: true,
      id: "checklist", rows,
      columns: [["Thành phần hồ sơ"], ["Yêu cầu"], ["Loại bản"], ["Tệp đã nộp"], ["Tình trạng"]] }));
}
