// The Decision 766/QĐ-TTg service index for one month: the totals as tiles, the on-time
// rate and satisfaction per agency and per procedure as bars (plain HTML/CSS), the
// figures per agency and procedure, the CSV, and the month's late list. The month is in
// the URL (?period=YYYY-MM) so a view can be linked; the default is this month in
// Vietnam time.
import {
  $, ApiError, agencies, api, chrome, download, fmtDate, fmtDateTime, h, hide, page, requireUser,
  showError, table, td,
} from "../app.js";
import {
  barChart, currentMonth, fmtNumber, fmtPercent, fmtWorkingMinutes, loaded, section,
} from "../figures.js";

const READERS = ["leader", "auditor", "admin"];
const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;
const UNIT_LABELS = { working_days: "ngày làm việc", working_hours: "giờ làm việc", calendar_days: "ngày" };

const enc = encodeURIComponent;
const tone = (value) => (value === null || value === undefined ? "" : value >= 90 ? "ok" : value >= 70 ? "warn" : "bad");

/** The average resolution time of the whole: only where one procedure is in the period
 * (averages of procedures counted in different units do not add up; the API gives none). */
function totalAverage(index) {
  if (index.procedures.length !== 1) return { value: null, unit: null, mixed: index.procedures.length > 1 };
  const p = index.procedures[0];
  return { value: p.average_resolution, unit: p.resolution_unit, mixed: false };
}

function fmtAverage(value, unit) {
  if (value === null || value === undefined) return "—";
  return `${fmtNumber(value)} ${UNIT_LABELS[unit] || unit || ""}`.trim();
}

function ratio(part, whole) {
  return whole ? `${fmtNumber(part, { digits: 0 })}/${fmtNumber(whole, { digits: 0 })} hồ sơ` : "không có hồ sơ để tính";
}

// ------------------------------------------------------------------ sections

function kpiTiles(index) {
  const t = index.total;
  const c = t.counts;
  const avg = totalAverage(index);
  const tile = (key, label, value, detail, { cls = null } = {}) =>
    h(
      "li",
      { class: `kpi${cls ? ` ${cls}` : ""}`, dataset: { kpi: key } },
      h("span", { class: "label" }, label),
      h("span", { class: "value" }, value),
      detail ? h("span", { class: "detail" }, detail) : null,
    );
  const rateTile = (key, label, value, detail) => tile(key, label, fmtPercent(value), detail, { cls: `tone-${tone(value) || "none"}` });
  return [
    h("h3", {}, "Các chỉ số"),
    h(
      "ul",
      { class: "kpis", "aria-label": "Các chỉ số theo Quyết định 766" },
      rateTile("on_time_rate", "Giải quyết đúng hạn (2.1)", t.on_time_rate, ratio(c.on_time, c.received)),
      tile(
        "average_resolution",
        "Thời gian giải quyết trung bình (2.2)",
        avg.value === null
          ? "—"
          : [fmtNumber(avg.value), " ", h("span", { class: "unit" }, UNIT_LABELS[avg.unit] || avg.unit)],
        avg.mixed ? "các thủ tục khác đơn vị thời gian: xem bảng" : `${fmtNumber(c.resolution_minutes_count, { digits: 0 })} hồ sơ đã giải quyết`,
      ),
      rateTile("online_submission_rate", "Nộp hồ sơ trực tuyến (3.3)", t.online_submission_rate, ratio(c.online, c.received)),
      rateTile("online_payment_rate", "Thanh toán trực tuyến (3.6)", t.online_payment_rate, ratio(c.paid_online, c.fee_bearing)),
      rateTile("electronic_result_rate", "Kết quả điện tử (4.1)", t.electronic_result_rate, ratio(c.e_result, c.result_required)),
      rateTile("digitisation_rate", "Số hóa hồ sơ (4.2)", t.digitisation_rate, ratio(c.digitised, c.received)),
      rateTile("reuse_rate", "Tái sử dụng dữ liệu (4.3)", t.reuse_rate, ratio(c.reused, c.received)),
      rateTile("satisfaction", "Mức độ hài lòng (5.4)", t.satisfaction, "100 % − tỷ lệ quá hạn − tỷ lệ phản ánh"),
    ),
    h("h3", {}, "Số hồ sơ"),
    h(
      "ul",
      { class: "kpis counts", "aria-label": "Số hồ sơ trong kỳ" },
      tile("received", "Hồ sơ tiếp nhận, xử lý trong kỳ", fmtNumber(c.received, { digits: 0 })),
      tile("finished", "Đã giải quyết xong", fmtNumber(c.finished, { digits: 0 })),
      tile("on_time", "Đúng hạn", fmtNumber(c.on_time, { digits: 0 })),
      tile("overdue", "Quá hạn", fmtNumber(c.received - c.on_time, { digits: 0 }), null, {
        cls: c.received - c.on_time > 0 ? "tone-bad" : null,
      }),
      tile("multiple_supplements", "Yêu cầu bổ sung quá 1 lần", fmtNumber(c.multiple_supplements, { digits: 0 })),
      tile("complained", "Có phản ánh hoặc không hài lòng", fmtNumber(c.complained_or_disliked, { digits: 0 })),
    ),
  ];
}

function byAgency(index, names) {
  const agenciesRows = index.agencies
    .map((a) => ({ ...a, name: names[a.agency] || a.agency, average: { value: a.average_resolution, unit: a.resolution_unit } }))
    .sort((a, b) => a.name.localeCompare(b.name, "vi"));
  if (!agenciesRows.length) return h("p", { class: "muted" }, "Không có hồ sơ nào trong kỳ.");
  const items = (key) => agenciesRows.map((a) => ({ label: a.name, value: a[key] }));
  return [
    h(
      "div",
      { class: "grid-2 charts" },
      barChart({ title: "Tỷ lệ giải quyết đúng hạn", items: items("on_time_rate"), tone, id: "chart-agency-on-time" }),
      barChart({ title: "Mức độ hài lòng", items: items("satisfaction"), tone, id: "chart-agency-satisfaction" }),
    ),
    table({
      caption: "Số liệu theo cơ quan giải quyết",
      columns: [
        ["Cơ quan"], ["Tiếp nhận", { num: true }], ["Đã giải quyết", { num: true }], ["Đúng hạn", { num: true }],
        ["Tỷ lệ đúng hạn", { num: true }], ["TG giải quyết TB", { num: true }], ["Nộp trực tuyến", { num: true }],
        ["Hài lòng", { num: true }],
      ],
      rows: agenciesRows.map((a) =>
        h(
          "tr",
          { dataset: { agency: a.agency } },
          td("Cơ quan", [a.name, h("div", { class: "muted" }, a.agency)]),
          td("Tiếp nhận", fmtNumber(a.counts.received, { digits: 0 }), { num: true }),
          td("Đã giải quyết", fmtNumber(a.counts.finished, { digits: 0 }), { num: true }),
          td("Đúng hạn", fmtNumber(a.counts.on_time, { digits: 0 }), { num: true }),
          td("Tỷ lệ đúng hạn", fmtPercent(a.on_time_rate), { num: true, cls: tone(a.on_time_rate) === "bad" ? "bad-text" : null }),
          td("TG giải quyết TB", fmtAverage(a.average.value, a.average.unit), { num: true, cls: "wrap" }),
          td("Nộp trực tuyến", fmtPercent(a.online_submission_rate), { num: true }),
          td("Hài lòng", fmtPercent(a.satisfaction), { num: true }),
        ),
      ),
      id: "index-agency-table",
    }),
  ];
}

function byProcedure(index, names) {
  if (!index.rows.length) return h("p", { class: "muted" }, "Không có hồ sơ nào trong kỳ.");
  const procedures = index.procedures.map((p) => ({ ...p, code: p.procedure_code, name: p.procedure_name }));
  const items = (key) =>
    procedures.map((p) => ({ label: `${p.code} · ${p.name}`, title: `${p.name} (${p.code})`, value: p[key] }));
  const t = index.total;
  const average = totalAverage(index);
  const row = (r, { total = false } = {}) =>
    h(
      "tr",
      { class: total ? "total" : null, dataset: { procedure: r.procedure_code || "", agency: r.agency } },
      total
        ? h("th", { scope: "row", colspan: 2, "data-label": "Thủ tục" }, "Tổng cộng")
        : [
            td("Cơ quan", names[r.agency] || r.agency, { cls: "agency-name" }),
            td("Thủ tục", [h("span", { class: "procedure-name" }, r.procedure_name), h("div", { class: "muted" }, r.procedure_code)]),
          ],
      td("Tiếp nhận", fmtNumber(r.counts.received, { digits: 0 }), { num: true }),
      td("Đúng hạn", fmtNumber(r.counts.on_time, { digits: 0 }), { num: true }),
      td("Tỷ lệ đúng hạn", fmtPercent(r.on_time_rate), { num: true, cls: tone(r.on_time_rate) === "bad" ? "bad-text" : null }),
      td("TG giải quyết TB", total ? fmtAverage(average.value, average.unit) : fmtAverage(r.average_resolution, r.resolution_unit), { num: true, cls: "wrap" }),
      td("Nộp trực tuyến", fmtPercent(r.online_submission_rate), { num: true }),
      td("Thanh toán trực tuyến", fmtPercent(r.online_payment_rate), { num: true }),
      td("Kết quả điện tử", fmtPercent(r.electronic_result_rate), { num: true }),
      td("Số hóa", fmtPercent(r.digitisation_rate), { num: true }),
      td("Tái sử dụng", fmtPercent(r.reuse_rate), { num: true }),
      td("Hài lòng", fmtPercent(r.satisfaction), { num: true }),
    );
  return [
    h(
      "div",
      { class: "grid-2 charts" },
      barChart({ title: "Tỷ lệ giải quyết đúng hạn", items: items("on_time_rate"), tone, id: "chart-procedure-on-time" }),
      barChart({ title: "Mức độ hài lòng", items: items("satisfaction"), tone, id: "chart-procedure-satisfaction" }),
    ),
    table({
      caption: "Số liệu theo cơ quan và thủ tục (tỷ lệ tính theo Quyết định 766/QĐ-TTg)",
      columns: [
        ["Cơ quan"], ["Thủ tục"], ["Tiếp nhận", { num: true }], ["Đúng hạn", { num: true }],
        ["Tỷ lệ đúng hạn", { num: true }], ["TG giải quyết TB", { num: true }], ["Nộp trực tuyến", { num: true }],
        ["Thanh toán trực tuyến", { num: true }], ["Kết quả điện tử", { num: true }], ["Số hóa", { num: true }],
        ["Tái sử dụng", { num: true }], ["Hài lòng", { num: true }],
      ],
      rows: index.rows.map((r) => row(r)),
      foot: row(t, { total: true }),
      id: "index-procedure-table",
    }),
  ];
}

async function lateList(list, index, names) {
  if (!list.length) {
    return h("p", { class: "ok-text", id: "index-late-empty" }, "Không có hồ sơ nào trễ hạn trong kỳ.");
  }
  const procedureNames = Object.fromEntries(index ? index.rows.map((r) => [r.procedure_code, r.procedure_name]) : []);
  if (list.some((d) => !procedureNames[d.procedure_code])) {
    try {
      for (const p of await api("/procedures")) procedureNames[p.code] ||= p.name;
    } catch {
      /* codes instead of names */
    }
  }
  const rows = [];
  for (const d of list) {
    const culprits = d.culprits.length ? d.culprits : [null];
    for (const c of culprits) {
      rows.push(
        h(
          "tr",
          { class: "overdue", dataset: { code: d.dossier_code } },
          td("Mã hồ sơ", [
            h("a", { href: `/ui/dossiers/${enc(d.dossier_code)}`, class: "dossier-code" }, d.dossier_code),
            h("div", { class: "muted" }, `hẹn ${fmtDateTime(d.appointment_at)}`),
          ]),
          td("Thủ tục", [procedureNames[d.procedure_code] || d.procedure_code, h("div", { class: "muted" }, d.procedure_code)]),
          td("Bước gây trễ", c ? c.step_name : "—"),
          td("Cơ quan", c ? names[c.agency] || c.agency : "—"),
          td("Cán bộ", c ? c.officer_name || (c.role === "system" ? "Hệ thống" : "—") : "—"),
          td("Bước trễ", c ? h("span", { class: "bad-text" }, fmtWorkingMinutes(c.late_by_working_minutes)) : "—", { num: true }),
          td("Hồ sơ trễ hạn", h("span", { class: "bad-text" }, fmtWorkingMinutes(d.overdue_by_working_minutes)), { num: true }),
        ),
      );
    }
  }
  return [
    h("p", {}, `${fmtNumber(list.length, { digits: 0 })} hồ sơ trễ hạn; thời gian trễ tính theo giờ làm việc (8 giờ một ngày).`),
    table({
      caption: "Hồ sơ trễ hạn trong kỳ và bước, cơ quan, cán bộ đã làm trễ",
      columns: [
        ["Mã hồ sơ"], ["Thủ tục"], ["Bước gây trễ"], ["Cơ quan"], ["Cán bộ"],
        ["Bước trễ", { num: true }], ["Hồ sơ trễ hạn", { num: true }],
      ],
      rows,
      id: "index-late-table",
    }),
  ];
}

// ------------------------------------------------------------------ the page

function periodLabel(index) {
  const last = new Date(Date.parse(index.period_end) - 1);
  return `${fmtDate(index.period_start)} – ${fmtDate(last.toISOString())}`;
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#index-error");
  const root = $("#index");
  const form = $("#index-form");
  const input = $("#period");

  if (!READERS.some((r) => user.roles.includes(r))) {
    form.hidden = true;
    showError(
      error,
      new ApiError(403, "forbidden", "Chỉ số phục vụ chỉ dành cho lãnh đạo, kiểm toán viên và quản trị hệ thống."),
    );
    return;
  }
  let names = {};
  try {
    names = await agencies();
  } catch {
    /* agency codes instead of names */
  }

  async function show() {
    hide(error);
    const params = new URLSearchParams(location.search);
    let period = params.get("period") || currentMonth();
    if (!PERIOD.test(period)) {
      showError(error, new ApiError(422, "invalid", `“${period}” không phải một tháng (ví dụ 2026-11); đang hiển thị tháng này.`));
      period = currentMonth();
    }
    input.value = period;
    const query = new URLSearchParams({ period });
    for (const key of ["agency", "procedure"]) if (params.get(key)) query.set(key, params.get(key));
    const [year, month] = period.split("-");

    const kpis = section("index-kpis", `Tổng hợp tháng ${month}/${year}`);
    const agency = section("index-by-agency", "Theo cơ quan giải quyết");
    const procedure = section("index-by-procedure", "Theo thủ tục hành chính");
    const late = section("index-late", "Hồ sơ trễ hạn trong tháng", {
      lead: "Mỗi hồ sơ quá hạn, với bước, cơ quan và cán bộ đã làm trễ (danh sách công khai hằng tháng).",
    });
    const filters = [];
    if (query.get("agency")) filters.push(`cơ quan ${names[query.get("agency")] || query.get("agency")}`);
    if (query.get("procedure")) filters.push(`thủ tục ${query.get("procedure")}`);
    const csv = h(
      "button",
      {
        type: "button",
        id: "index-csv",
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          try {
            await download(`/v1/index?${query}&format=csv`, `chi-so-766-${period}.csv`);
          } catch (err) {
            showError(error, err);
          } finally {
            button.disabled = false;
          }
        },
      },
      "Tải về bảng số liệu (CSV)",
    );
    const scope = h("p", { id: "index-scope", class: "muted" }, `Tháng ${month}/${year}`, filters.length ? ` · chỉ ${filters.join(", ")}` : "");
    root.replaceChildren(
      h("div", { class: "index-toolbar" }, scope, csv),
      kpis.el,
      agency.el,
      procedure.el,
      late.el,
    );

    const progress = $("#index-progress");
    progress.textContent = `Đang tải chỉ số tháng ${month}/${year}…`;
    const indexP = api(`/index?${query}`);
    const lateP = api(`/index/late?period=${enc(period)}`);
    indexP.catch(() => {});
    lateP.catch(() => {});
    const indexOrNull = async () => {
      try {
        return await indexP;
      } catch {
        return null;
      }
    };
    await Promise.all([
      kpis.fill(async () => {
        const index = await indexP;
        scope.replaceChildren(
          `Kỳ báo cáo: ${periodLabel(index)}`,
          filters.length ? ` · chỉ ${filters.join(", ")}` : "",
          ` · ${fmtNumber(index.total.counts.received, { digits: 0 })} hồ sơ`,
        );
        return kpiTiles(index);
      }),
      agency.fill(async () => byAgency(await indexP, names)),
      procedure.fill(async () => byProcedure(await indexP, names)),
      late.fill(async () => lateList(await lateP, await indexOrNull(), names)),
    ]);
    loaded(progress, `chỉ số tháng ${month}/${year}`, [kpis, agency, procedure, late]);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    input.setAttribute("aria-invalid", String(!PERIOD.test(value)));
    if (!PERIOD.test(value)) {
      showError(error, new ApiError(422, "invalid", "Chọn một tháng (tháng/năm)."));
      input.focus();
      return;
    }
    const params = new URLSearchParams(location.search);
    params.set("period", value);
    history.pushState(null, "", `${location.pathname}?${params}`);
    show();
  });
  window.addEventListener("popstate", () => show());
  await show();
});
