// Gửi phản ánh, kiến nghị: a citizen files feedback or a complaint, online or on a counter
// tablet, without signing in (about a dossier: its code and the applicant's ID number, as
// tracking asks); the answer comes by phone or e-mail and is published below, the filer's
// name masked (the API masks it). A signed-in applicant files as themself.
import { $, api, chrome, fmtDateTime, h, hide, leftText, page, showError, table, td } from "../app.js";

async function published() {
  const items = await api("/public/feedback");
  $("#pakn-published").replaceChildren(
    items.length
      ? table({
          caption: "Trả lời phản ánh, kiến nghị",
          captionHidden: true,
          id: "pakn-published-table",
          columns: [["Mã"], ["Nội dung"], ["Trả lời"]],
          rows: items.map((i) =>
            h(
              "tr",
              { dataset: { code: i.code } },
              td("Mã", [h("strong", {}, i.code), h("div", { class: "muted" }, `${i.kind_label} · ${i.filer_name}`)]),
              td("Nội dung", h("div", { class: "wrap" }, i.text)),
              td("Trả lời", [h("div", { class: "wrap" }, i.answer), h("div", { class: "muted" }, fmtDateTime(i.answered_at))]),
            ),
          ),
        })
      : h("p", { class: "muted" }, "Chưa có trả lời nào được công khai."),
  );
}

page(async () => {
  chrome();
  const error = $("#pakn-error");
  const params = new URLSearchParams(location.search);
  if (params.get("code")) $("#pakn-dossier").value = params.get("code");
  $("#pakn-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error);
    $("#pakn-result").hidden = true;
    const value = (id) => $(id).value.trim();
    const body = {
      kind: value("#pakn-kind"),
      text: value("#pakn-text"),
      channel: params.get("counter") ? "counter" : "online",
    };
    for (const [key, id] of [["dossier_code", "#pakn-dossier"], ["name", "#pakn-name"], ["id_number", "#pakn-id"],
      ["phone", "#pakn-phone"], ["email", "#pakn-email"]]) {
      if (value(id)) body[key] = value(id);
    }
    if (!body.text) {
      showError(error, new Error("Nhập nội dung phản ánh, kiến nghị."));
      return;
    }
    try {
      const item = await api("/feedback", { method: "POST", body });
      $("#pakn-facts").replaceChildren(
        h("dt", {}, "Mã phản ánh, kiến nghị"), h("dd", { id: "pakn-code" }, item.code),
        h("dt", {}, "Hạn trả lời"), h("dd", {}, fmtDateTime(item.due_at)),
        ...(item.time_left ? [h("dt", {}, "Thời hạn còn lại"), h("dd", {}, leftText(item.time_left))] : []),
      );
      $("#pakn-result").hidden = false;
      $("#pakn-form").reset();
    } catch (err) {
      showError(error, err);
    }
  });
  await published();
});
