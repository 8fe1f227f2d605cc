// Public tracking: the status, step, appointment and working time left of a dossier, given its code and the
// applicant's ID number (nothing else is shown, and no token is needed).
import { $, api, chrome, fmtDateTime, h, hide, leftText, page, showError, statusBadge } from "../app.js";

// While the clock is paused there is no date yet: say so (the time left says why).
function appointment(t) {
  if (t.appointment_at) return fmtDateTime(t.appointment_at);
  return t.time_left && t.time_left.paused ? "Sẽ hẹn lại khi thời hạn được tính tiếp" : "—";
}

page(async () => {
  chrome();
  const form = $("#track-form");
  const error = $("#track-error");
  const result = $("#track-result");
  const params = new URLSearchParams(location.search);
  if (params.get("code")) $("#track-code").value = params.get("code");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error);
    result.hidden = true;
    const code = $("#track-code").value.trim();
    const id = $("#track-id").value.trim();
    const problems = [];
    $("#track-code").setAttribute("aria-invalid", String(!code));
    if (!code) problems.push("Nhập mã hồ sơ.");
    const idOk = /^\d{9}$|^\d{12}$/.test(id);
    $("#track-id").setAttribute("aria-invalid", String(!idOk));
    if (!idOk) problems.push("Số định danh gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND).");
    if (problems.length) {
      showError(error, new Error(problems.join(" ")));
      return;
    }
    try {
      const t = await api(`/track/${encodeURIComponent(code)}?id_number=${encodeURIComponent(id)}`);
      $("#track-facts").replaceChildren(
        h("dt", {}, "Mã hồ sơ"), h("dd", { id: "track-code-value" }, t.code),
        h("dt", {}, "Thủ tục"), h("dd", {}, t.procedure_name),
        h("dt", {}, "Trạng thái"), h("dd", { id: "track-status" }, statusBadge(t.status, t.status_label)),
        h("dt", {}, "Bước đang xử lý"), h("dd", {}, t.step || "—"),
        h("dt", {}, "Ngày hẹn trả kết quả"), h("dd", { id: "track-appointment" }, appointment(t)),
        ...(t.time_left ? [h("dt", {}, "Thời hạn còn lại"), h("dd", { id: "track-time-left" }, leftText(t.time_left))] : []),
      );
      result.hidden = false;
    } catch (err) {
      if (err.status === 404) {
        showError(error, new Error("Không tìm thấy hồ sơ với mã và số định danh này. Vui lòng kiểm tra lại."));
      } else {
        showError(error, err);
      }
    }
  });
});
