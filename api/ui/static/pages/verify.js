// Public verification of an issued document (the page a result's QR code opens): what was
// issued for the dossier (number, kind, agency, date; never the applicant), and whether a
// PDF the visitor holds is that document, untouched and validly signed. No token needed.
import { $, api, chrome, fmtDateTime, h, hide, page, showError } from "../app.js";

function issuedList(documents) {
  if (!documents.length) {
    return h("p", { id: "verify-none" }, "Chưa có văn bản nào được cấp cho mã hồ sơ này (hoặc mã hồ sơ không đúng).");
  }
  return h("ul", { class: "plain" }, ...documents.map((d) =>
    h("li", { class: "issued" },
      h("strong", {}, d.title || (d.granted ? "Văn bản kết quả" : "Quyết định từ chối")),
      h("dl", { class: "facts" },
        h("dt", {}, "Số"), h("dd", {}, d.number),
        h("dt", {}, "Cơ quan cấp"), h("dd", {}, d.agency_name),
        h("dt", {}, "Đóng dấu"), h("dd", {}, d.sealed_by_name || "—"),
        h("dt", {}, "Ngày ký"), h("dd", {}, fmtDateTime(d.issued_at)),
        h("dt", {}, "Mã băm SHA-256"), h("dd", { class: "hash" }, d.sha256),
      ))));
}

function verdict(report, code, documents) {
  // A copy downloaded after the archive renewed the result's timestamps (PAdES B-LTA) is
  // the recorded result, not the file first issued: the API says so (dossier.form).
  const issued = documents.find((d) => d.sha256 === report.signatures.sha256)
    || (report.dossier.recorded && report.dossier.form === "result" ? documents.at(-1) : undefined);
  const sameDossier = report.dossier.recorded && report.dossier.dossier_code === code;
  if (report.valid && sameDossier && issued) {
    return h("div", { class: "alert ok", id: "verify-ok" },
      h("strong", {}, "Văn bản hợp lệ. "),
      `Đây đúng là văn bản số ${issued.number} do ${issued.agency_name} cấp lúc ${fmtDateTime(issued.issued_at)}; `
        + "nội dung còn nguyên vẹn và chữ ký số được tin cậy.");
  }
  const reasons = [];
  if (!report.dossier.recorded) reasons.push("tệp này không phải văn bản đã được cấp (không khớp mã băm đã lưu)");
  else if (!sameDossier) reasons.push("tệp này là văn bản của một hồ sơ khác");
  const sigs = report.signatures.signatures || [];
  if (!sigs.length) reasons.push("tệp không có chữ ký số");
  if (sigs.some((s) => !s.intact)) reasons.push("nội dung đã bị thay đổi sau khi ký");
  if (sigs.some((s) => !s.trusted)) reasons.push("chữ ký không thuộc chứng thư số được tin cậy");
  if (!reasons.length) reasons.push("không xác nhận được văn bản");
  return h("div", { class: "alert error", id: "verify-bad" },
    h("strong", {}, "Không xác nhận được văn bản. "), `Lý do: ${reasons.join("; ")}.`);
}

page(async () => {
  chrome();
  const error = $("#verify-error");
  let current = { code: "", documents: [] };

  async function load(code) {
    hide(error);
    $("#verify-issued").hidden = true;
    $("#verify-file").hidden = true;
    $("#verify-verdict").replaceChildren();
    try {
      const r = await api(`/issued/${encodeURIComponent(code)}`);
      current = { code, documents: r.documents };
      $("#verify-list").replaceChildren(issuedList(r.documents));
      $("#verify-issued").hidden = false;
      $("#verify-file").hidden = !r.documents.length;
    } catch (err) {
      showError(error, err);
    }
  }

  $("#verify-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("#verify-code").value.trim();
    $("#verify-code").setAttribute("aria-invalid", String(!code));
    if (!code) {
      showError(error, new Error("Nhập mã hồ sơ."));
      return;
    }
    history.replaceState(null, "", `?code=${encodeURIComponent(code)}`);
    load(code);
  });

  $("#verify-pdf").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    hide(error);
    $("#verify-verdict").replaceChildren(h("p", {}, "Đang kiểm tra…"));
    try {
      const report = await api("/verify", {
        method: "POST", body: file, headers: { "Content-Type": "application/pdf" },
      });
      $("#verify-verdict").replaceChildren(verdict(report, current.code, current.documents));
    } catch (err) {
      $("#verify-verdict").replaceChildren();
      showError(error, err);
    }
  });

  const code = new URLSearchParams(location.search).get("code");
  if (code) {
    $("#verify-code").value = code;
    await load(code);
  }
});
