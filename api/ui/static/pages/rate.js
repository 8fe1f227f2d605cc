// The counter's kiosk: an applicant rates the service of their dossier on a tablet, without a login. The
// receipt (Form 01) prints the dossier code and the rating code; its rating link fills both in. A barcode
// scanner that types the receipt's link into the first field works too: the codes are read from it.
import { $, api, h, hide, page, showError } from "../app.js";

const LABELS = { like: "Hài lòng", neutral: "Bình thường", dislike: "Không hài lòng" };
const RESET_SECONDS = 20; // the next person finds the kiosk empty

// A scanned link (…/ui/rate?code=…&t=… or …/ui/track?code=…) in the code field: take its codes.
function fromLink(text) {
  try {
    const url = new URL(text);
    return { code: url.searchParams.get("code") || "", token: url.searchParams.get("t") || "" };
  } catch {
    return null;
  }
}

page(async () => {
  const find = $("#rate-find");
  const error = $("#rate-error");
  const choose = $("#rate-choose");
  const form = $("#rate-form");
  const done = $("#rate-done");
  const send = $("#rate-send");
  let current = null; // { code, token }
  let rating = null;
  let timer = null;

  function reset() {
    clearTimeout(timer);
    current = null;
    rating = null;
    hide(error);
    choose.hidden = true;
    done.hidden = true;
    find.hidden = false;
    find.reset();
    form.reset();
    select(null);
    history.replaceState(null, "", location.pathname);
    $("#rate-code").focus();
  }

  function select(value) {
    rating = value;
    for (const b of form.querySelectorAll(".kiosk-choice")) {
      b.setAttribute("aria-pressed", String(b.dataset.rating === value));
    }
    send.disabled = !value;
  }

  async function lookUp(code, token) {
    hide(error);
    const problems = [];
    $("#rate-code").setAttribute("aria-invalid", String(!code));
    $("#rate-token").setAttribute("aria-invalid", String(!token));
    if (!code) problems.push("Nhập mã hồ sơ.");
    if (!token) problems.push("Nhập mã đánh giá in trên giấy tiếp nhận.");
    if (problems.length) {
      showError(error, new Error(problems.join(" ")));
      return;
    }
    try {
      const d = await api(`/kiosk/dossiers/${encodeURIComponent(code)}?rating_code=${encodeURIComponent(token)}`);
      current = { code: d.code, token };
      $("#rate-dossier-code").textContent = d.code;
      $("#rate-procedure").textContent = d.procedure_name;
      const closed = $("#rate-closed");
      closed.hidden = d.can_rate;
      closed.textContent = d.can_rate
        ? ""
        : `Hồ sơ đang ở trạng thái “${d.status_label}”. Ông/bà đánh giá sau khi nhận kết quả.`;
      form.hidden = !d.can_rate;
      find.hidden = true;
      choose.hidden = false;
      choose.scrollIntoView({ block: "start" });
    } catch (err) {
      showError(error, err);
    }
  }

  $("#rate-code").addEventListener("change", () => {
    const link = fromLink($("#rate-code").value.trim());
    if (link) {
      $("#rate-code").value = link.code;
      if (link.token) $("#rate-token").value = link.token;
    }
  });
  find.addEventListener("submit", (event) => {
    event.preventDefault();
    const link = fromLink($("#rate-code").value.trim());
    if (link) {
      $("#rate-code").value = link.code;
      if (link.token) $("#rate-token").value = link.token;
    }
    lookUp($("#rate-code").value.trim(), $("#rate-token").value.trim());
  });
  for (const b of form.querySelectorAll(".kiosk-choice")) {
    b.addEventListener("click", () => select(b.dataset.rating));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current || !rating) return;
    hide(error);
    send.disabled = true;
    try {
      await api("/kiosk/ratings", {
        method: "POST",
        body: { code: current.code, rating_code: current.token, rating, comment: $("#rate-comment").value.trim() },
      });
      $("#rate-done-text").replaceChildren(
        "Đánh giá “", h("strong", {}, LABELS[rating]), `” cho hồ sơ ${current.code} đã được ghi nhận.`,
      );
      choose.hidden = true;
      done.hidden = false;
      timer = setTimeout(reset, RESET_SECONDS * 1000);
    } catch (err) {
      send.disabled = false;
      showError(error, err);
    }
  });
  $("#rate-back").addEventListener("click", reset);
  $("#rate-again").addEventListener("click", reset);

  const params = new URLSearchParams(location.search);
  if (params.get("code")) $("#rate-code").value = params.get("code");
  if (params.get("t")) $("#rate-token").value = params.get("t");
  if (params.get("code") && params.get("t")) await lookUp(params.get("code"), params.get("t"));
});
