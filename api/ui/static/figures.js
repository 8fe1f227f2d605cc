// Figures shared by the auditor's view and the service index: Vietnamese number,
// percentage and working-time formats, a page section that loads on its own, and
// plain HTML/CSS bar charts. (Pages import it next to ../app.js.)
import { TZ, errorContent, h } from "./app.js";

const NUMBER = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
const INTEGER = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 0 });

/** 1.234 / 2,5 (Vietnamese separators); "—" when there is no figure. */
export function fmtNumber(value, { digits = 1 } = {}) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return digits === 0 ? INTEGER.format(value) : NUMBER.format(value);
}

/** "95,5 %"; "—" when the rate is undefined (nothing to divide by). */
export function fmtPercent(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return `${NUMBER.format(value)} %`;
}

/** Minutes of a working day (07:30–11:30, 13:00–17:00: motcua's default sessions). */
export const WORKING_DAY_MINUTES = 480;

/** Working minutes as "1 ngày 2 giờ 30 phút" (8-hour working days); "—" for none. */
export function fmtWorkingMinutes(minutes) {
  if (!minutes || minutes <= 0) return "—";
  const days = Math.floor(minutes / WORKING_DAY_MINUTES);
  const hours = Math.floor((minutes % WORKING_DAY_MINUTES) / 60);
  const mins = Math.round(minutes % 60);
  const out = [];
  if (days) out.push(`${days} ngày`);
  if (hours) out.push(`${hours} giờ`);
  if (mins || !out.length) out.push(`${mins} phút`);
  return out.join(" ");
}

/** The current month in Vietnam time, "YYYY-MM". */
export function currentMonth(now = new Date()) {
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit" });
  const p = Object.fromEntries(fmt.formatToParts(now).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}`;
}

/**
 * A page section that loads on its own: <section id aria-labelledby aria-busy> with its
 * heading, a body that `fill` fills, and its own error box. A failing section shows its
 * error; the others are not affected.
 */
export function section(id, title, { level = "h2", lead = null } = {}) {
  const heading = h(level, { id: `${id}-title` }, title);
  const body = h("div", { class: "section-body" }, h("p", { class: "muted loading" }, "Đang tải…"));
  const el = h(
    "section",
    { id, class: "report-section", "aria-labelledby": `${id}-title`, "aria-busy": "true" },
    heading,
    lead ? h("p", { class: "hint" }, lead) : null,
    body,
  );
  return {
    el,
    body,
    /** Run `load` (a promise of DOM nodes) and put what it gives, or its error, here. */
    async fill(load) {
      el.setAttribute("aria-busy", "true");
      try {
        const nodes = await load();
        body.replaceChildren(...[nodes].flat(Infinity).filter((n) => n !== null && n !== undefined));
      } catch (err) {
        body.replaceChildren(
          h("div", { class: "alert error section-error", role: "alert" }, ...errorContent(err)),
        );
      } finally {
        el.setAttribute("aria-busy", "false");
      }
    },
  };
}

/**
 * A bar chart in HTML/CSS: one row per item, its label, a bar of `value`% width, and the
 * number as text. Each bar is an image to assistive technology, named by label and value.
 */
export function barChart({ title, items, format = fmtPercent, max = 100, tone = null, id = null }) {
  const titleId = id ? `${id}-title` : null;
  return h(
    "figure",
    { class: "chart-figure", id },
    h("figcaption", { id: titleId, class: "chart-title" }, title),
    items.length
      ? h(
          "div",
          { class: "chart", role: "list", "aria-labelledby": titleId },
          items.map((item) => {
            const value = item.value;
            const text = format(value);
            const width = value === null || value === undefined ? 0 : Math.max(0, Math.min(100, (100 * value) / max));
            const cls = tone ? tone(value) : "";
            // Set through the CSSOM: the pages' CSP forbids inline style attributes.
            const fill = h("span");
            fill.style.width = `${width.toFixed(1)}%`;
            return h(
              "div",
              { class: "bar-row", role: "listitem" },
              h("span", { class: "bar-label", title: item.title || item.label }, item.label),
              h(
                "div",
                { class: `bar ${cls}`, role: "img", "aria-label": `${item.title || item.label}: ${text}` },
                fill,
              ),
              h("span", { class: "bar-value", "aria-hidden": "true" }, text),
            );
          }),
        )
      : h("p", { class: "muted" }, "Chưa có số liệu."),
  );
}

/** Tell assistive technology (through a role=status element) how the sections loaded. */
export function loaded(status, what, sections) {
  const failed = sections.filter((s) => s.el.querySelector(".section-error")).length;
  status.textContent = failed
    ? `Đã tải ${what}; ${failed} phần không tải được.`
    : `Đã tải xong ${what}.`;
}
