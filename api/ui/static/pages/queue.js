// The officer's queue: the dossiers the officer's roles and agency must act on now, with
// tabs (all of it, assigned to me, unassigned, and a leader's whole unit), filters
// (procedure, status, due today, overdue), a sort, a search (code, applicant's name, ID
// number) and pages with the total. The tab, filters, sort and page live in the address,
// so a reload or a bookmark keeps them; the search text does not (a name or an ID number
// has no place in the browser's history). Countdowns are the working time left, live.
import {
  $, agencies, api, chrome, h, hide, isOfficer, leftCell, page, requireUser, ROLE_LABELS,
  showError, startCountdowns, statusBadge,
} from "../app.js";

const REFRESH_MS = 30_000;
const PAGE_SIZE = 50;
const FILTERS = ["q", "procedure", "status", "due", "sort"];
const IN_ADDRESS = ["procedure", "status", "due", "sort"];
const TAB_LABELS = {
  "": "cần bạn xử lý",
  me: "được phân công cho bạn",
  unassigned: "chưa phân công cho ai",
  unit: "đang ở đơn vị",
};

function assigneeCell(item) {
  if (item.assignee_id) {
    return h("span", { class: "assignee" }, item.assignee_name || item.assignee_id);
  }
  return h("span", { class: "assignee none" }, "Chưa phân công");
}

function row(item, names, { search = false } = {}) {
  const link = h("a", { href: `/ui/dossiers/${encodeURIComponent(item.code)}` }, item.code);
  const flags = [];
  if (item.overdue) flags.push(h("span", { class: "badge bad" }, "Quá hạn"));
  if (item.escalated) flags.push(h("span", { class: "badge warn" }, "Đã báo lãnh đạo"));
  const step = search
    ? statusBadge(item.status, item.status_label || item.status)
    : [h("span", {}, item.current_step_name || item.current_step_id || "—"), " ",
       item.current_role ? h("span", { class: "muted" }, `(${ROLE_LABELS[item.current_role] || item.current_role})`) : null];
  return h(
    "tr",
    { class: item.overdue ? "overdue" : null, dataset: { code: item.code } },
    h("td", { "data-label": "Mã hồ sơ" }, link, h("div", {}, flags)),
    h("td", { "data-label": "Thủ tục" }, item.procedure_name,
      h("div", { class: "muted" }, names[item.current_agency] || "")),
    h("td", { "data-label": "Người nộp" }, item.applicant_name),
    h("td", { "data-label": search ? "Trạng thái" : "Bước hiện tại" }, step),
    h("td", { "data-label": "Người xử lý" }, item.closed_at ? "—" : assigneeCell(item)),
    h("td", { "data-label": "Hạn của bước" }, item.closed_at ? "—" : leftCell(item.step_time_left, item.step_due_at)),
    h("td", { "data-label": "Ngày hẹn trả" }, item.closed_at ? "—" : leftCell(item.time_left, item.appointment_at)),
  );
}

/** The queue's state, read from and written to the address (?tab=me&due=today&page=2...). */
function readState() {
  const params = new URLSearchParams(window.location.search);
  const state = { tab: params.get("tab") || "", page: Math.max(1, Number(params.get("page")) || 1) };
  for (const name of FILTERS) state[name] = (IN_ADDRESS.includes(name) && params.get(name)) || "";
  return state;
}

function writeState(state) {
  const params = new URLSearchParams();
  if (state.tab) params.set("tab", state.tab);
  for (const name of IN_ADDRESS) if (state[name] && !(name === "sort" && state[name] === "urgency")) params.set(name, state[name]);
  if (state.page > 1) params.set("page", String(state.page));
  const query = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}`);
}

function queryOf(state) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String((state.page - 1) * PAGE_SIZE) });
  if (state.tab === "me" || state.tab === "unassigned") params.set("assigned", state.tab);
  if (state.tab === "unit") params.set("scope", "unit");
  for (const name of FILTERS) if (state[name]) params.set(name, state[name]);
  return params.toString();
}

function describe(state, list, names) {
  if (!list.total) {
    const filtered = FILTERS.some((n) => state[n] && n !== "sort");
    return filtered
      ? "Không có hồ sơ nào khớp với bộ lọc."
      : `Không có hồ sơ nào ${TAB_LABELS[state.tab] || TAB_LABELS[""]}.`;
  }
  const first = list.offset + 1;
  const last = list.offset + list.items.length;
  const overdue = list.items.filter((i) => i.overdue).length;
  return `${list.total} hồ sơ ${TAB_LABELS[state.tab] || TAB_LABELS[""]}` +
    (state.q ? ` khớp với “${state.q}”` : "") +
    ` · hiển thị ${first}–${last}` +
    (overdue ? ` · ${overdue} hồ sơ quá hạn trên trang này` : "");
}

page(async () => {
  const user = requireUser();
  chrome(user);
  const error = $("#queue-error");
  const body = $("#queue tbody");
  $("#queue").classList.add("stack");
  if (!isOfficer(user)) {
    showError(error, new Error("Trang này dành cho cán bộ, công chức của cơ quan."));
    return;
  }
  const names = await agencies();
  const roles = user.roles.map((r) => ROLE_LABELS[r] || r).join(", ");
  $("#queue-scope").textContent = `${roles} · ${names[user.agency] || user.agency}`;
  const leader = user.roles.includes("leader");
  $("#queue-tabs button[data-tab='unit']").hidden = !leader;

  const procedures = await api("/procedures").catch(() => []);
  $("#f-procedure").append(...procedures.map((p) => h("option", { value: p.code }, `${p.code} · ${p.name}`)));

  let state = readState();
  if (state.tab === "unit" && !leader) state.tab = "";
  let searchingEverywhere = false;

  // The controls show the state; the search box is left as the person typed it (it may
  // be filled in while the page is still loading, and the address never carries it).
  function showState() {
    for (const name of IN_ADDRESS) {
      $(`#f-${name}`).value = state[name] || (name === "sort" ? "urgency" : "");
    }
    for (const tab of document.querySelectorAll("#queue-tabs button")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.tab === state.tab));
    }
  }

  async function loadQueue() {
    if (searchingEverywhere) return;
    writeState(state);
    try {
      const list = await api(`/worklist?${queryOf(state)}`);
      hide(error);
      body.replaceChildren(...list.items.map((item) => row(item, names)));
      $("#queue-summary").textContent = describe(state, list, names);
      const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
      $("#page-info").textContent = `Trang ${state.page}/${pages}`;
      $("#prev-page").disabled = state.page <= 1;
      $("#next-page").disabled = list.next_offset === null || list.next_offset === undefined;
      $("#pager").hidden = list.total <= PAGE_SIZE && state.page === 1;
      $("#everywhere").hidden = !state.q;
    } catch (err) {
      showError(error, err);
    }
  }

  function update(change) {
    searchingEverywhere = false;
    state = { ...state, ...change };
    showState();
    return loadQueue();
  }

  for (const tab of document.querySelectorAll("#queue-tabs button")) {
    tab.addEventListener("click", () => update({ tab: tab.dataset.tab, page: 1 }));
  }
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const change = { page: 1 };
    for (const name of FILTERS) change[name] = (name === "q" ? $("#q") : $(`#f-${name}`)).value.trim();
    update(change);
  });
  $("#search-form").addEventListener("reset", (event) => {
    event.preventDefault();
    $("#q").value = "";
    update({ q: "", procedure: "", status: "", due: "", sort: "urgency", page: 1 });
  });
  for (const name of ["procedure", "status", "due", "sort"]) {
    $(`#f-${name}`).addEventListener("change", (event) => update({ [name]: event.target.value, page: 1 }));
  }
  $("#prev-page").addEventListener("click", () => update({ page: Math.max(1, state.page - 1) }));
  $("#next-page").addEventListener("click", () => update({ page: state.page + 1 }));

  // Beyond the queue: every dossier the officer may list (its agency's, closed ones too).
  $("#search-everywhere").addEventListener("click", async () => {
    searchingEverywhere = true;
    try {
      const found = await api(`/dossiers?limit=50&q=${encodeURIComponent(state.q)}`);
      hide(error);
      body.replaceChildren(...found.items.map((item) => row(item, names, { search: true })));
      $("#pager").hidden = true;
      $("#queue-summary").textContent = found.items.length
        ? `${found.items.length}${found.next_cursor ? "+" : ""} hồ sơ của cơ quan khớp với “${state.q}” (chọn một thẻ ở trên để về danh sách cần xử lý)`
        : `Không có hồ sơ nào của cơ quan khớp với “${state.q}”.`;
    } catch (err) {
      showError(error, err);
    }
  });

  showState();
  await loadQueue();
  startCountdowns();
  setInterval(loadQueue, REFRESH_MS);
});
