// motcua web interface: what every page shares. The browser is one more client of the
// /v1 API. After an OpenID Connect sign-in the session is an HttpOnly cookie this script
// never sees (GET /ui/session says who is signed in; requests that change something
// carry X-Motcua-CSRF); a pasted or development token is kept for this tab
// (sessionStorage) and sent as a bearer token. Every rule is the API's. DOM is built with h() (text nodes, never
// innerHTML), so nothing a user typed can become markup.

export const TZ = "Asia/Ho_Chi_Minh";
const TOKEN_KEY = "motcua.token";

// ------------------------------------------------------------------ labels (Vietnamese)

export const ROLE_LABELS = {
  applicant: "Người nộp hồ sơ",
  intake_officer: "Cán bộ tiếp nhận",
  specialist: "Chuyên viên xử lý",
  leader: "Lãnh đạo",
  signer: "Người ký",
  return_officer: "Cán bộ trả kết quả",
  auditor: "Kiểm toán viên",
  admin: "Quản trị",
  catalog_admin: "Quản lý danh mục thủ tục",
  system: "Hệ thống",
};

export const ACTION_LABELS = {
  accept: "Tiếp nhận hồ sơ",
  request_supplement: "Yêu cầu bổ sung hồ sơ",
  supplement: "Bổ sung hồ sơ",
  refuse: "Từ chối",
  forward: "Chuyển hồ sơ",
  appraise: "Thẩm định",
  schedule_inspection: "Hẹn kiểm tra thực địa",
  approve: "Phê duyệt",
  reject: "Không phê duyệt",
  sign: "Ký số kết quả",
  pay: "Nộp phí, nghĩa vụ tài chính",
  return: "Trả kết quả",
  withdraw: "Rút hồ sơ",
  request_extension: "Xin lỗi và hẹn lại ngày trả (Mẫu 04)",
  assign: "Phân công xử lý",
  claim: "Nhận xử lý",
};

export const EVENT_LABELS = {
  ...ACTION_LABELS,
  submitted: "Nộp hồ sơ",
  step_started: "Bắt đầu bước",
  to_agency: "Chuyển đến cơ quan",
  handoff_acknowledged: "Cơ quan đã nhận hồ sơ",
  agency_moved: "Chuyển cơ quan kế thừa (sáp nhập)",
  acknowledged: "Đã nhận",
  escalated: "Quá hạn bước, báo lãnh đạo",
  overdue: "Quá hạn trả kết quả",
  warning: "Cảnh báo sắp đến hạn",
  signing_started: "Bắt đầu ký số",
  signing_failed: "Ký số không thành công",
  result_issued: "Đã phát hành kết quả",
  stopped: "Dừng xử lý",
  supplement_expired: "Hết hạn bổ sung",
  deemed_consent: "Coi như đồng ý (quá hạn lấy ý kiến)",
  inspection_due: "Đến lịch kiểm tra thực địa",
  child_started: "Bắt đầu hồ sơ liên thông",
  child_acknowledged: "Cơ quan liên thông đã nhận",
  child_appointment: "Hẹn của hồ sơ liên thông",
  child_finished: "Hồ sơ liên thông hoàn thành",
  closed: "Kết thúc hồ sơ",
  data_reused: "Khai thác dữ liệu từ cơ sở dữ liệu",
  data_not_supplied: "Không khai thác được dữ liệu",
  database_correction_requested: "Đề nghị điều chỉnh thông tin trong cơ sở dữ liệu",
};

// The national databases a component may be taken from (domain/datasources.py).
export const DATABASE_LABELS = {
  population: "CSDL quốc gia về dân cư",
  civil_status: "CSDL hộ tịch điện tử",
  business_registration: "CSDL quốc gia về đăng ký doanh nghiệp",
  land: "CSDL quốc gia về đất đai",
  insurance: "CSDL quốc gia về bảo hiểm",
};

// What a database answered for a component.
export const DATA_ANSWER_LABELS = {
  found: "Đã khai thác được dữ liệu",
  not_found: "Không có dữ liệu",
  mismatch: "Dữ liệu không khớp với tờ khai",
  unavailable: "Cơ sở dữ liệu chưa phản hồi",
};

export const OUTCOME_LABELS = {
  granted: "Giải quyết, cấp kết quả",
  refused: "Từ chối giải quyết",
  not_received: "Không tiếp nhận",
  withdrawn: "Rút hồ sơ, dừng xử lý",
  abandoned: "Dừng xử lý (không bổ sung đúng hạn)",
};

export const CHANNEL_LABELS = {
  counter: "Trực tiếp tại Bộ phận Một cửa",
  online: "Trực tuyến",
  post: "Bưu chính công ích",
};

export const STATUS_TONE = {
  submitted: "info",
  received: "info",
  in_progress: "info",
  supplement_requested: "warn",
  financial_obligation: "warn",
  withdrawal_requested: "warn",
  processed: "ok",
  returned: "ok",
  not_received: "bad",
  stopped: "bad",
};

// ------------------------------------------------------------------ DOM

/** h("a", {href, class}, "text", child...): an element; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function showError(box, err) {
  box.replaceChildren(...errorContent(err));
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

export function hide(box) {
  box.hidden = true;
  box.replaceChildren();
}

const STATUS_LEADS = {
  0: "Không kết nối được máy chủ",
  400: "Yêu cầu không hợp lệ",
  401: "Phiên đăng nhập không hợp lệ hoặc đã hết hạn",
  403: "Không có quyền thực hiện",
  404: "Không tìm thấy",
  409: "Không thực hiện được ở bước này",
  413: "Tệp quá lớn",
  415: "Loại tệp không được chấp nhận",
  422: "Dữ liệu chưa hợp lệ",
  429: "Quá nhiều yêu cầu",
  503: "Hệ thống tạm thời không sẵn sàng",
};

/** The refusal as the user sees it: a Vietnamese lead, then the engine's own reason. */
export function errorContent(err) {
  if (!(err instanceof ApiError)) {
    return [h("strong", {}, "Đã có lỗi"), String(err && err.message ? err.message : err)];
  }
  const lead = STATUS_LEADS[err.status] || `Lỗi ${err.status}`;
  return [h("strong", {}, lead), h("span", { class: "reason" }, err.message)];
}

// ------------------------------------------------------------------ dates and countdowns

function parts(date, options) {
  const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hourCycle: "h23", ...options });
  return Object.fromEntries(fmt.formatToParts(date).map((p) => [p.type, p.value]));
}

/** dd/mm/yyyy in Vietnam time. */
export function fmtDate(iso) {
  if (!iso) return "—";
  const p = parts(new Date(iso), { day: "2-digit", month: "2-digit", year: "numeric" });
  return `${p.day}/${p.month}/${p.year}`;
}

/** dd/mm/yyyy HH:mm in Vietnam time. */
export function fmtDateTime(iso) {
  if (!iso) return "—";
  const p = parts(new Date(iso), {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}

/** Real (calendar) minutes as "2 ngày 3 giờ" / "5 giờ 10 phút" / "12 phút". */
export function fmtDuration(ms) {
  let m = Math.max(0, Math.round(ms / 60000));
  const days = Math.floor(m / 1440);
  m %= 1440;
  const hours = Math.floor(m / 60);
  m %= 60;
  if (days) return `${days} ngày ${hours} giờ`;
  if (hours) return `${hours} giờ ${m} phút`;
  return `${m} phút`;
}

/** "Còn 2 ngày 3 giờ" / "Quá hạn 5 giờ 10 phút" (wall-clock time to or past `ms`); within
 * the last hour to the second, so the countdown is seen to move. */
export function fmtRemaining(ms) {
  const left = Math.abs(ms);
  const s = Math.floor(left / 1000);
  const text = s < 3600 ? `${Math.floor(s / 60)} phút ${s % 60} giây` : fmtDuration(left);
  return ms < 0 ? `Quá hạn ${text}` : `Còn ${text}`;
}

const SOON_MS = 4 * 3600 * 1000;

function tick(el) {
  const due = Date.parse(el.dataset.due);
  const left = due - Date.now();
  el.textContent = fmtRemaining(left);
  el.classList.toggle("overdue", left < 0);
  el.classList.toggle("soon", left >= 0 && left < SOON_MS);
}

/** A date with a live countdown under it (red once past). */
export function dueCell(iso, { withDate = true, live = true } = {}) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const time = h("time", { datetime: iso }, fmtDateTime(iso));
  if (!live) return time;
  const countdown = h("span", { class: "countdown", dataset: { due: iso } });
  tick(countdown);
  return h("span", {}, withDate ? time : null, countdown);
}

/** The working time left to a deadline as the API counted it (in the clock's own units, over
 * the working calendar, at the moment of reading): "Còn 3 ngày làm việc", "Quá hạn 1 ngày làm
 * việc", or, while the clock is paused, why and what is left. */
export function leftText(left) {
  const soon = !left.paused && !left.overdue && left.minutes < 4 * 60;
  const state = left.paused ? "paused" : left.overdue ? "overdue" : soon ? "soon" : null;
  return h("span", { class: `countdown working-time${state ? ` ${state}` : ""}` }, left.label);
}

/** A deadline's date with the working time left under it; a paused clock has no date but
 * says why and what is left. */
export function leftCell(left, iso = left ? left.due_at : null) {
  if (!left) return iso ? h("time", { datetime: iso }, fmtDateTime(iso)) : h("span", { class: "muted" }, "—");
  return h("span", {}, iso ? h("time", { datetime: iso }, fmtDateTime(iso)) : null, leftText(left));
}

let ticking = null;
export function startCountdowns() {
  if (ticking) return;
  ticking = setInterval(() => document.querySelectorAll("[data-due]").forEach(tick), 1000);
}

/** A data table inside .table-wrap: `columns` are [label, {num}] pairs; rows are <tr>s.
 * With `stack`, the rows become cards on a phone (each td carries its data-label). */
export function table({ caption, columns, rows, foot = null, stack = true, id = null, captionHidden = false }) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: `data-table${stack ? " stack" : ""}`, id },
      h("caption", { class: captionHidden ? "visually-hidden" : "table-caption" }, caption),
      h(
        "thead",
        {},
        h("tr", {}, columns.map(([label, opts = {}]) => h("th", { scope: "col", class: opts.num ? "num" : null }, label))),
      ),
      h("tbody", {}, rows),
      foot ? h("tfoot", {}, foot) : null,
    ),
  );
}

/** A <td> with its column name for the phone layout. */
export function td(label, content, { num = false, cls = null } = {}) {
  const classes = [num ? "num" : null, cls].filter(Boolean).join(" ") || null;
  // On a phone the cell shows its column name before this (see app.css).
  return h("td", { "data-label": label, class: classes }, h("div", { class: "cell" }, content));
}

export function statusBadge(status, label) {
  return h("span", { class: `badge ${STATUS_TONE[status] || ""}` }, label || status);
}

// ------------------------------------------------------------------ the session

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// The user of the OpenID Connect session cookie (loadSession), when there is no token.
let sessionUser = null;

/** Ask the server who the session cookie (if any) signs in; page() does it first. */
export async function loadSession() {
  if (getToken()) return;
  try {
    const res = await fetch("/ui/session", { headers: { Accept: "application/json" } });
    sessionUser = res.ok ? (await res.json()).user || null : null;
  } catch {
    sessionUser = null;
  }
}

/** The signed-in user: the session's (verified by the server) or the token's claims
 * (not verified here: the API verifies every request). */
export function claims() {
  const token = getToken();
  if (!token) return sessionUser;
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    const c = JSON.parse(new TextDecoder().decode(bytes));
    const roles = Array.isArray(c.roles) ? c.roles : c.role ? [c.role] : [];
    if (c.exp && c.exp * 1000 < Date.now()) return null;
    return { sub: c.sub, name: c.name || c.sub, roles, agency: c.agency || null };
  } catch {
    return null;
  }
}

export const OFFICER_ROLES = ["intake_officer", "specialist", "leader", "signer", "return_officer"];

export function isOfficer(user) {
  return !!user && user.roles.some((r) => OFFICER_ROLES.includes(r));
}

/** Where a user starts after signing in. */
export function homeFor(user) {
  if (!user) return "/ui/";
  if (isOfficer(user)) return "/ui/queue";
  if (user.roles.includes("auditor")) return "/ui/audit";
  if (user.roles.includes("admin")) return "/ui/index";
  if (user.roles.includes("catalog_admin")) return "/ui/catalog";
  if (user.roles.includes("applicant")) return "/ui/my";
  return "/ui/track";
}

/** The signed-in user, or a redirect to the login page (returning here afterwards). */
export function requireUser() {
  const user = claims();
  if (!user) {
    clearToken();
    const next = location.pathname + location.search;
    location.replace(`/ui/?next=${encodeURIComponent(next)}`);
    throw new Error("not signed in");
  }
  return user;
}

// ------------------------------------------------------------------ the API

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** fetch /v1<path> with the bearer token; JSON in and out; ApiError on any non-2xx. */
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  // Proves to the API that a cookie-authenticated request comes from our pages (CSRF);
  // the pages are Vietnamese: ask for the API's messages in Vietnamese whatever the
  // browser's own language (the API answers English to Accept-Language: en).
  const sent = { "X-Motcua-CSRF": "1", "Accept-Language": "vi", ...headers };
  const token = getToken();
  if (token) sent.Authorization = `Bearer ${token}`;
  let payload = body;
  // FormData (files): the browser sets multipart/form-data and its boundary itself.
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof FormData)) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/v1${path}`, { method, headers: sent, body: payload });
  } catch {
    throw new ApiError(0, "network", "Vui lòng kiểm tra kết nối mạng và thử lại.");
  }
  if (!res.ok) {
    let code = "error";
    let message = res.statusText;
    try {
      const j = await res.json();
      if (j.error) ({ code, message } = j.error);
      else if (j.detail) message = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
    } catch {
      /* not JSON: keep the status text */
    }
    throw new ApiError(res.status, code, message);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

/** Download a document the API serves behind the token (a blob, saved under its name). */
export async function download(href, filename) {
  const res = await api(href.replace(/^\/v1/, ""), { raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A request body with files, as multipart/form-data: the JSON in the part "dossier",
 * each file ({kind, file} from an <input type=file>) in a part named by its document
 * kind. The API streams the files to the document store (no base64, no size in JSON). */
export function withFiles(json, files) {
  const form = new FormData();
  form.append("dossier", JSON.stringify(json));
  for (const { kind, file } of files) form.append(kind, file, file.name);
  return form;
}

// ------------------------------------------------------------------ page chrome

let agencyNames = null;
let agencyNotes = {};
/** code -> name of every agency in the catalog (cached for the page). */
export async function agencies() {
  if (!agencyNames) {
    const list = await api("/agencies");
    agencyNames = Object.fromEntries(list.map((a) => [a.code, a.name]));
    // Two-level local government: an agency no longer in operation says since when and
    // who took over (`agencyNote`).
    agencyNotes = Object.fromEntries(list.filter((a) => !a.in_operation).map((a) => {
      const until = a.valid_to ? `đã thôi hoạt động sau ngày ${fmtDate(a.valid_to)}` : "chưa hoạt động";
      const after = a.current_successor ? `; kế thừa: ${agencyNames[a.current_successor] || a.current_successor}` : "";
      return [a.code, `${until}${after}`];
    }));
  }
  return agencyNames;
}

/** Why an agency is no longer in operation ("" when it is); after `agencies()`. */
export function agencyNote(code) {
  return agencyNotes[code] || "";
}

function navLinks(user) {
  const links = [];
  if (user && isOfficer(user)) links.push(["/ui/queue", "Hồ sơ cần xử lý"]);
  if (user && (user.roles.includes("intake_officer") || user.roles.includes("applicant"))) {
    links.push(["/ui/submit", "Nộp hồ sơ"]);
  }
  if (user && user.roles.includes("applicant")) links.push(["/ui/my", "Hồ sơ của tôi"]);
  if (user && ["leader", "auditor", "admin"].some((r) => user.roles.includes(r))) {
    links.push(["/ui/index", "Chỉ số phục vụ"]);
  }
  if (user && (isOfficer(user) || user.roles.includes("auditor"))) {
    links.push(["/ui/feedback", "Phản ánh, kiến nghị"]);
  }
  if (user && ["applicant", "leader", "auditor"].some((r) => user.roles.includes(r))) {
    links.push(["/ui/du-lieu-ca-nhan", "Dữ liệu cá nhân"]);
  }
  if (user && user.roles.includes("auditor")) links.push(["/ui/audit", "Kiểm toán"]);
  links.push(["/ui/procedures", "Thủ tục hành chính"]);
  if (user && user.roles.includes("catalog_admin")) links.push(["/ui/catalog", "Danh mục thủ tục"]);
  links.push(["/ui/track", "Tra cứu hồ sơ"]);
  if (!user || !isOfficer(user)) links.push(["/ui/pakn", "Gửi phản ánh"]);
  return links;
}

/** Sign out: forget the tab's token, or end the session (and the provider's session,
 * where it offers RP-initiated logout: the server answers where to go). */
export async function signOut() {
  if (getToken()) {
    clearToken();
    location.assign("/ui/");
    return;
  }
  let target = "/ui/";
  try {
    const res = await fetch("/ui/logout", { method: "POST", headers: { "X-Motcua-CSRF": "1" } });
    if (res.ok) target = (await res.json()).redirect || "/ui/";
  } catch {
    /* the cookie may stay until it expires; the login page is still the place to go */
  }
  sessionUser = null;
  location.assign(target);
}

/** Fill the header: the navigation for the user's roles, who is signed in, sign out. */
export function chrome(user = claims()) {
  const nav = $("#nav");
  const here = location.pathname;
  nav.replaceChildren(
    ...navLinks(user).map(([href, text]) =>
      h("a", { href, "aria-current": here === href ? "page" : null }, text),
    ),
  );
  const who = $("#who");
  if (!user) {
    who.replaceChildren(h("a", { href: "/ui/" }, "Đăng nhập"));
    return;
  }
  const roles = user.roles.map((r) => ROLE_LABELS[r] || r).join(", ");
  who.replaceChildren(
    h("span", { id: "who-name" }, h("strong", {}, user.name), ` · ${roles}`),
    h(
      "button",
      {
        type: "button",
        id: "logout",
        onclick: signOut,
      },
      "Đăng xuất",
    ),
  );
}

/** Run a page's main function; an unexpected failure is shown, not swallowed. */
export function page(main) {
  const run = async () => {
    try {
      await loadSession();
      await main();
    } catch (err) {
      if (err && err.message === "not signed in") return;
      const box = document.querySelector(".alert.error") || h("div", { class: "alert error" });
      if (!box.isConnected) $("#main").prepend(box);
      box.setAttribute("role", "alert");
      showError(box, err);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
}
