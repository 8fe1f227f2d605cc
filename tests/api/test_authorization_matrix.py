"""The authorisation matrix: every role x every action x own / other agency, through the
real HTTP API, against the policy written down as data in docs/authorization.yaml (the
prose is docs/authorization.md). The test derives every expected answer from that file
alone; the engine's own `allowed_actions` must agree with it too.

The dossiers are received at a commune's centre, so the callers' agencies play every part:
the receiving centre (intake, return), the competent agency (the provincial police for a
judicial record certificate, 3.000333: appraisal, approval, signature), and the provincial
centre, which the dossier never touches. Each of the five officer roles comes from each of
these three agencies; then the dossier's own applicant, another applicant, another
applicant whose token carries an agency claim, an auditor, an administrator, and an
auditor acting as an applicant (the one way past the API's read check to the engine's own
"this dossier's applicant" check).

A dossier is brought to each step once, and there every caller attempts every action: a
refusal changes nothing, so one dossier serves every attempt. The answer must be the
policy's:
- not allowed: the policy's refusal (403 forbidden, 409 wrong_step or closed), recorded in
  the dossier's refused attempts or not as the policy says, and nothing changed (the same
  status, step and event_seq; the same events in the read model);
- allowed: shown without changing anything by sending data the taker's own check refuses
  (422 invalid, recorded: the engine got past "who may act" to "what was sent"), or, for the
  actions without such data (accept, approve, sign, pay), taken: that is the step's move
  forward, made last, and the test fails if any allowed pair was left untaken.
Steps: intake, appraisal, approval, signature, return, closed; waiting for a supplement,
after the one extension; a counter dossier; a consultation (1.009994); a linked step and a
payment (1.013831). Worklists at each of them.

The reads (the dossier, its events, documents and downloads, the control slip, the list,
the audit routes, the index, the tracking books, rating and feedback, the catalog,
submission) are checked for the same callers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from api.auth import OFFICER_ROLES, issue_token
from domain.catalog import Role
from domain.dossier import Action
from infra.docstore import FolderStore
from tests.api.support import (
    AUDITOR,
    CENTRE,
    COMMUNE_CENTRE,
    POLICE,
    PROCEDURE,
    Api,
    ChildDoor,
    Person,
    caught_up,
    document,
    error_of,
    submission,
    wait_closed,
    wait_for_step,
    wait_view,
)
from tests.files import pdf

POLICY_FILE = Path(__file__).resolve().parents[2] / "docs" / "authorization.yaml"
POLICY: dict[str, Any] = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))

RECEIVING = COMMUNE_CENTRE  # the matrix dossiers' centre: intake and return
OTHER_CENTRE = CENTRE  # the provincial centre: never touches these dossiers
OFFICERS = [Role(r) for r in POLICY["officer_roles"]]
CONCURRENCY = 6

# Data the taker's own check refuses (422 invalid): the attempt got past who may act, and
# nothing changes.
BAD_DATA: dict[str, dict[str, Any]] = {
    "request_supplement": {"data": {"missing": []}},
    "refuse": {"comment": " "},
    "appraise": {"data": {"opinion": " "}},
    "schedule_inspection": {"data": {"at": "không phải thời điểm"}},
    "reject": {"comment": " "},
    "return": {"data": {"channel": "bồ câu"}},
    "pay": {"data": {"amount_vnd": -1, "method": "cash"}},
    "withdraw": {"comment": " "},
    "request_extension": {"comment": "Cần thêm thời gian xác minh", "data": {}},
    "supplement": {"data": {"documents": []}},
    "assign": {"data": {}},  # nobody named
    "claim": {"data": {"assignee": "nguoi-khac"}},  # a claim is for oneself
}
# Actions with no data to refuse: their taker takes them (the step's own move, last).
TAKEN_ONLY = {a.value for a in Action} - set(BAD_DATA)


def test_the_policy_covers_every_action_role_and_step_kind() -> None:
    """The policy file names every action, role and step kind the code has, and only those
    (a new action or role without a policy fails here first)."""
    from domain.catalog import StepKind

    step_actions = POLICY["step_actions"]
    assert set(step_actions) == {k.value for k in StepKind}
    named = {a for kind in step_actions.values() for a in kind} | set(POLICY["dossier_actions"])
    assert named == {a.value for a in Action}
    assert set(POLICY["roles"]) == {r.value for r in Role} - {"system"}
    assert set(POLICY["officer_roles"]) == {r.value for r in OFFICER_ROLES}
    groups = {"officer", "owner", "anyone", "gateway"}
    places = {
        "step",
        "centre",
        "competent",
        "step_not_centre",
        "touched",
        "listed",
        "path",
        "any",
        "own",
    }
    grants = [g for kind in step_actions.values() for gs in kind.values() for g in gs]
    grants += [g for spec in POLICY["dossier_actions"].values() for g in spec["by"]]
    grants += [g for gs in POLICY["reads"].values() for g in gs]
    grants += [g for gs in POLICY["endpoints"].values() for g in gs]
    for g in grants:
        role, place = g.split("@")
        assert role in set(POLICY["roles"]) | groups, g
        assert place in places, g


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class Caller:
    label: str
    role: Role  # the role it acts in
    agency: str | None  # the token's agency claim
    sub: str
    also: tuple[Role, ...] = ()  # other roles the token carries (then `role` is named)

    def headers(self, api: Api) -> dict[str, str]:
        if not self.also:
            return api.headers(self.role, self.agency, self.sub)
        roles = [self.role, *self.also]
        token = issue_token(api.settings, sub=self.sub, roles=roles, agency=self.agency)
        return {"Authorization": f"Bearer {token}"}

    @property
    def roles(self) -> tuple[Role, ...]:
        return (self.role, *self.also)

    @property
    def body(self) -> dict[str, str]:
        return {"role": self.role.value} if self.also else {}

    @property
    def recorded_as(self) -> tuple[str, str | None]:
        """(role, agency) of the actor the API builds: an applicant acts for themself."""
        return self.role.value, None if self.role is Role.APPLICANT else self.agency


def callers_for(api: Api, applicant: Person, competent: str) -> list[Caller]:
    agencies = {
        "receiving centre": RECEIVING,
        "competent": competent,
        "another centre": OTHER_CENTRE,
    }
    out = [
        Caller(f"{role.value}@{name}", role, agency, f"{role.value}@{agency}")
        for role in OFFICERS
        for name, agency in agencies.items()
    ]
    out += [
        Caller("applicant (the dossier's)", Role.APPLICANT, None, applicant.sub),
        Caller("applicant (another)", Role.APPLICANT, None, api.person().sub),
        Caller("applicant (another, agency claim)", Role.APPLICANT, RECEIVING, api.person().sub),
        Caller("auditor", Role.AUDITOR, None, "auditor-matrix"),
        Caller("admin", Role.ADMIN, None, "admin-matrix"),
        # The catalog's administrator reads no dossier and acts on none (docs/authorization.md).
        Caller("catalog admin", Role.CATALOG_ADMIN, None, "catalog-admin-matrix"),
        # Reads every dossier as an auditor, acts as an applicant: not this dossier's.
        Caller(
            "auditor acting as an applicant (another)",
            Role.APPLICANT,
            None,
            api.person().sub,
            also=(Role.AUDITOR,),
        ),
    ]
    return out


@dataclass(frozen=True)
class Facts:
    """Where a dossier is, as the policy's conditions and places need it."""

    code: str
    centre: str
    competent: str
    step_agencies: frozenset[str]
    account: str | None
    closed: bool
    status: str
    step_kind: str | None
    step_agency: str | None
    step_role: str | None
    waiting_for_applicant: bool
    issuing: bool
    decided: bool
    extension_window: bool
    assignee: str | None  # the officer the current step is assigned to
    fee_due: bool = False  # a fee is open at an intake or return step (view.fee_due_vnd)


def facts_of(view: dict[str, Any], max_extensions: int) -> Facts:
    closed = view["closed_at"] is not None
    step = None if closed else view["current_step"]
    appointment = view["appointment_at"]
    window = bool(
        not closed
        and view["received_at"]
        and appointment
        and view["processed_at"] is None
        and not view["clock_paused"]
        and len(view["extensions"]) < max_extensions
    )
    if window:
        # The last moment for Form 04 (one working day before the appointment) is days
        # away for these fresh dossiers; the policy's window is then open.
        assert datetime.fromisoformat(appointment) - datetime.now(UTC) > timedelta(days=3)
    assert step is None or step["kind"] != "handoff", "a handoff's forward depends on `auto`"
    return Facts(
        code=view["code"],
        centre=view["centre_agency"],
        competent=view["competent_agency"],
        step_agencies=frozenset(s["agency"] for s in view["steps"]),
        account=view["applicant_account"],
        closed=closed,
        status=view["status"],
        step_kind=step["kind"] if step else None,
        step_agency=step["agency"] if step else None,
        step_role=step["role"] if step else None,
        waiting_for_applicant=view["status"] == "supplement_requested",
        issuing=view["issuing"] is not None,
        decided=view["decided_at"] is not None,
        extension_window=window,
        assignee=(view["assignment"] or {}).get("officer_id") if not closed else None,
        fee_due=view.get("fee_due_vnd") is not None,
    )


def assignable(f: Facts) -> bool:
    return bool(
        f.step_kind not in (None, "handoff", "linked")
        and f.step_role in POLICY["officer_roles"]
        and not f.waiting_for_applicant
        and not f.issuing
    )


CONDITIONS = {
    "supplement_requested": lambda f: f.waiting_for_applicant,
    "undecided": lambda f: not f.decided,
    "extension_window": lambda f: f.extension_window,
    "assignable": assignable,
    "unassigned": lambda f: assignable(f) and f.assignee is None,
    "fee_unpaid": lambda f: (
        f.fee_due
        and f.step_kind in ("intake", "return")
        and not f.waiting_for_applicant
        and not f.issuing
    ),
}


def roles_of(group: str, facts: Facts | None) -> set[str]:
    if group == "officer":
        return set(POLICY["officer_roles"])
    if group == "owner":
        return {facts.step_role} if facts and facts.step_role else set()
    if group == "anyone":
        return set(POLICY["roles"])
    if group == "gateway":
        return {"system"}  # no token carries it
    return {group}


def place_ok(place: str, caller: Caller, facts: Facts | None, path_agency: str | None) -> bool:
    if place == "any":
        return True
    if place == "path":
        return caller.agency is not None and caller.agency == path_agency
    assert facts is not None, place
    if place == "own" or caller.role is Role.APPLICANT:
        # An applicant acts for themself only: a payment step owned by `applicant` at the
        # centre is the dossier's own applicant's, whatever agency claim a token carries.
        return (
            caller.role is Role.APPLICANT
            and facts.account is not None
            and (caller.sub == facts.account)
        )
    agencies = {
        "step": {facts.step_agency},
        "centre": {facts.centre},
        "competent": {facts.competent},
        "step_not_centre": {facts.step_agency} - {facts.centre},
        "touched": {facts.centre, facts.competent, *facts.step_agencies},
        "listed": {facts.centre, facts.competent, facts.step_agency},
    }[place] - {None}
    return caller.agency in agencies


def granted(
    grants: Iterable[str],
    caller: Caller,
    facts: Facts | None = None,
    path_agency: str | None = None,
    *,
    any_role: bool = False,
) -> bool:
    """Whether a grant admits the caller: in the role it acts in, or (`any_role`, for
    reads) in any role its token carries."""
    for g in grants:
        group, place = g.split("@")
        for role in caller.roles if any_role else (caller.role,):
            if role.value in roles_of(group, facts) and place_ok(
                place, replace(caller, role=role), facts, path_agency
            ):
                return True
    return False


def open_grants(action: str, facts: Facts) -> list[str]:
    """Who may take `action` now, as the policy's grants."""
    if facts.closed:
        return []
    grants: list[str] = []
    if facts.step_kind and not facts.waiting_for_applicant and not facts.issuing:
        grants += POLICY["step_actions"][facts.step_kind].get(action, [])
    spec = POLICY["dossier_actions"].get(action)
    if spec and CONDITIONS[spec["when"]](facts):
        grants += spec["by"]
    return grants


def engine_form(grant: str, facts: Facts) -> set[tuple[str, str | None]]:
    """A grant as the engine lists it in `allowed_actions`: (role, agency)."""
    group, place = grant.split("@")
    agency: set[str | None] = {
        "step": {facts.step_agency},
        "centre": {facts.centre},
        "competent": {facts.competent},
        "step_not_centre": {facts.step_agency} - {facts.centre, facts.competent},
        "own": {None},
        "any": {None},
    }[place]
    return {(role, a) for role in roles_of(group, facts) for a in agency}


def policy_allowed_actions(facts: Facts) -> set[tuple[str, str, str | None]]:
    return {
        (action.value, role, agency)
        for action in Action
        for g in open_grants(action.value, facts)
        for role, agency in engine_form(g, facts)
    }


@dataclass(frozen=True)
class Expect:
    status: int | None  # None: allowed
    code: str = ""
    recorded: bool = False
    rule: str = "allowed"


ALLOWED = Expect(None)
REFUSALS = {
    r["when"]: Expect(r["status"], r["code"], r["recorded"], r["when"]) for r in POLICY["refusals"]
}


def expected(action: str, caller: Caller, facts: Facts) -> Expect:
    if not granted(POLICY["reads"]["dossier"], caller, facts, any_role=True):
        return REFUSALS["not_readable"]
    if facts.closed:
        return REFUSALS["closed"]
    grants = open_grants(action, facts)
    if not grants:
        return REFUSALS["nobody_now"]
    if not granted(grants, caller, facts):
        return REFUSALS["not_a_taker"]
    step_action = action in POLICY["step_actions"].get(facts.step_kind or "", {})
    if step_action and facts.assignee is not None and caller.sub != facts.assignee:
        assert POLICY["assigned_step"] == "assignee_only"
        return REFUSALS["not_a_taker"]
    return ALLOWED


# --------------------------------------------------------------------------- the driver


@dataclass
class Matrix:
    api: Api
    http: httpx.AsyncClient
    callers: list[Caller]
    max_extensions: int
    failures: list[str] = field(default_factory=list)
    attempts: int = 0
    reads: int = 0
    untaken: set[tuple[str, str]] = field(default_factory=set)  # (caller label, action)
    facts: Facts | None = None

    def caller(self, label: str) -> Caller:
        return next(c for c in self.callers if c.label == label)

    def fail(self, message: str) -> None:
        self.failures.append(message)

    async def view(self, code: str) -> dict[str, Any]:
        r = await self.http.get(f"/v1/dossiers/{code}", headers=self.api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
        view: dict[str, Any] = r.json()
        return view

    async def record(self, code: str) -> tuple[list[int], Counter[tuple[Any, ...]]]:
        """The dossier's events in the read model, and its refused attempts."""
        r = await self.http.get(f"/v1/dossiers/{code}/events", headers=self.api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
        body = r.json()
        refused = Counter(
            (a["action"], a["role"], a["agency"], a["code"]) for a in body["refused_attempts"]
        )
        return [e["seq"] for e in body["events"]], refused

    async def probe(
        self,
        code: str,
        where: str,
        *,
        actions: Iterable[str] = tuple(a.value for a in Action),
        routes: Iterable[str] = (),
    ) -> Facts:
        """Every caller attempts every action (and the /withdraw, /supplements routes
        named) on the dossier as it stands; nothing may change."""
        assert not self.untaken, f"allowed but never taken: {sorted(self.untaken)}"
        await caught_up(self.api, self.http, code)
        before = await self.view(code)
        facts = self.facts = facts_of(before, self.max_extensions)
        engine = {(a["action"], a["role"], a["agency"]) for a in before["allowed_actions"]}
        if engine != policy_allowed_actions(facts):
            self.fail(
                f"{where}: the engine's allowed_actions differ from the policy: "
                f"engine only {sorted(engine - policy_allowed_actions(facts), key=str)}, "
                f"policy only {sorted(policy_allowed_actions(facts) - engine, key=str)}"
            )
        events_before, refused_before = await self.record(code)

        plan: list[tuple[Caller, str, str, Expect]] = []
        for caller in self.callers:
            for action in actions:
                plan.append((caller, "actions", action, expected(action, caller, facts)))
            for route in routes:
                action = {"withdraw": "withdraw", "supplements": "supplement"}[route]
                plan.append((caller, route, action, expected(action, caller, facts)))
        recorded: Counter[tuple[Any, ...]] = Counter()
        sem = asyncio.Semaphore(CONCURRENCY)

        async def attempt(caller: Caller, route: str, action: str, want: Expect) -> None:
            if want.status is None:
                if route == "supplements":
                    return  # it would supplement: the /actions attempt shows it is allowed
                if action in TAKEN_ONLY:
                    self.untaken.add((caller.label, action))
                    return
                want = REFUSALS["bad_data"]
            async with sem:
                r = await self.send(code, caller, route, action)
            self.attempts += 1
            if want.recorded:
                recorded[(action, *caller.recorded_as, want.code)] += 1
            got = (r.status_code, r.json().get("error", {}).get("code", "") if r.content else "")
            if got != (want.status, want.code):
                self.fail(
                    f"{where}: {caller.label} {route}:{action} -> {got[0]} {got[1]}, "
                    f"policy says {want.status} {want.code} ({want.rule}): {r.text[:200]}"
                )

        await asyncio.gather(*(attempt(*p) for p in plan))

        after = await self.view(code)
        for key in ("event_seq", "status", "current_step", "appointment_at", "closed_at"):
            if after[key] != before[key]:
                self.fail(f"{where}: {key} changed: {before[key]} -> {after[key]}")
        await caught_up(self.api, self.http, code)
        events_after, refused_after = await self.record(code)
        if events_after != events_before:
            self.fail(f"{where}: events changed: {events_before} -> {events_after}")
        new = refused_after - refused_before
        if new != recorded or refused_before - refused_after:
            self.fail(
                f"{where}: refused attempts recorded but not by the policy {dict(new - recorded)}, "
                f"by the policy but not recorded {dict(recorded - new)}"
            )
        return facts

    async def send(
        self, code: str, caller: Caller, route: str, action: str, **body: Any
    ) -> httpx.Response:
        headers = caller.headers(self.api)
        if route == "withdraw":
            payload = body or {"comment": BAD_DATA["withdraw"]["comment"]}
            return await self.http.post(
                f"/v1/dossiers/{code}/withdraw", json=payload, headers=headers
            )
        if route == "supplements":
            payload = body or {"documents": [unique_document()]}
            return await self.http.post(
                f"/v1/dossiers/{code}/supplements", json=payload, headers=headers
            )
        payload = {
            "action": action,
            **caller.body,
            **(body or BAD_DATA.get(action, {"comment": "thử quyền"})),
        }
        return await self.http.post(f"/v1/dossiers/{code}/actions", json=payload, headers=headers)

    async def take(
        self, code: str, label: str, action: str, route: str = "actions", **body: Any
    ) -> dict[str, Any]:
        """The policy's taker takes the step's action (after the probe, as things stood)."""
        # A wrong answer during the probe may have moved the dossier: report that first.
        assert not self.failures, "\n".join(self.failures)
        caller = self.caller(label)
        assert self.facts is not None and self.facts.code == code
        assert expected(action, caller, self.facts) is ALLOWED, (label, action, self.facts)
        self.untaken.discard((label, action))
        r = await self.send(code, caller, route, action, **body)
        assert r.status_code in (200, 202), (label, action, r.status_code, r.text)
        self.attempts += 1
        answer: dict[str, Any] = r.json()
        return answer

    async def worklists(self, code: str, where: str) -> None:
        """The dossier is on the worklist of exactly the officers the policy names."""
        facts = self.facts
        assert facts is not None and facts.code == code
        await caught_up(self.api, self.http, code)
        for caller in self.callers:
            if caller.role not in OFFICERS:
                continue
            r = await self.http.get(
                "/v1/worklist", params={"limit": 200}, headers=caller.headers(self.api)
            )
            self.reads += 1
            assert r.status_code == 200, r.text
            listed = code in {i["code"] for i in r.json()["items"]}
            want = (
                not facts.closed
                and facts.status not in ("supplement_requested", "financial_obligation")
                and granted(POLICY["reads"]["worklist"], caller, facts)
            )
            if listed != want:
                self.fail(f"{where}: worklist of {caller.label}: listed={listed}, policy {want}")

    def done(self, test: str) -> None:
        assert not self.untaken, f"allowed but never taken: {sorted(self.untaken)}"
        print(f"\n{test} [{self.api.db}]: {self.attempts} attempts, {self.reads} reads checked")
        assert not self.failures, "\n".join(self.failures)


def unique_document(kind: str = "bo_sung") -> dict[str, Any]:
    return document(kind, "bo-sung.pdf", pdf(uuid.uuid4().hex))


async def submitted(
    api: Api,
    http: httpx.AsyncClient,
    person: Person,
    *,
    online: bool,
    procedure: str = PROCEDURE,
) -> str:
    body = submission(person, channel="online" if online else "counter", procedure=procedure)
    body["centre_agency"] = RECEIVING
    headers = api.applicant(person) if online else api.headers(Role.INTAKE_OFFICER, RECEIVING)
    r = await http.post("/v1/dossiers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


def matrix(api: Api, http: httpx.AsyncClient, person: Person, procedure: str = PROCEDURE) -> Matrix:
    p = api.catalog.procedure(procedure)
    return Matrix(api, http, callers_for(api, person, p.competent_agency), p.max_extensions)


IO = "intake_officer@receiving centre"
SP = "specialist@competent"
LD = "leader@competent"
SG = "signer@competent"
RO = "return_officer@receiving centre"
OWN = "applicant (the dossier's)"


# --------------------------------------------------------------------------- actions


# Who may take an action, and who may read what, is the engine's and the API's decision,
# the same whatever database holds the read model: the matrix runs on SQLite, in half the
# suite time it would take twice. The read queries themselves run on both databases in
# test_lists.py, test_worklist.py and tests/store.
ENGINE_ONLY = pytest.mark.parametrize("api", ["sqlite"], indirect=True)


@pytest.mark.slow
@ENGINE_ONLY
async def test_every_caller_and_action_at_every_step(api: Api, http: httpx.AsyncClient) -> None:
    """An online dossier from intake to return and closed: at each step every caller
    attempts every action; the step's taker then moves it on."""
    person = api.person("ma trận")
    code = await submitted(api, http, person, online=True)
    m = matrix(api, http, person)

    await m.probe(code, "intake", routes=("withdraw", "supplements"))
    await m.worklists(code, "intake")
    await m.take(code, IO, "accept", comment="Hồ sơ đầy đủ")
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")

    await m.probe(code, "appraisal")
    await m.worklists(code, "appraisal")
    await m.take(code, SP, "appraise", data={"opinion": "Không có án tích"})

    await m.probe(code, "approval")
    await m.worklists(code, "approval")
    await m.take(code, LD, "approve", comment="Đồng ý cấp Phiếu")

    await m.probe(code, "signature")
    await m.worklists(code, "signature")
    await m.take(code, SG, "sign")
    await wait_for_step(api, http, code, "tra_ket_qua")

    await m.probe(code, "return", routes=("withdraw",))
    await m.worklists(code, "return")
    # The fee nobody collected at intake: the return officer collects it, then returns.
    await m.take(code, RO, "pay", data={"amount_vnd": 200_000, "method": "cash"})
    await m.take(code, RO, "return", data={"channel": "counter", "received_by": person.name})
    await wait_closed(api, code)

    await m.probe(code, "closed", routes=("withdraw", "supplements"))
    await m.worklists(code, "closed")
    m.done("every caller and action at every step")


@pytest.mark.slow
@ENGINE_ONLY
async def test_supplement_extension_and_withdrawal(api: Api, http: httpx.AsyncClient) -> None:
    """Waiting for the applicant's supplement: only the supplement and the withdrawal are
    open (to the applicant and the centre's intake officer); the appointment may be set anew
    once; the applicant withdraws."""
    person = api.person("bổ sung")
    code = await submitted(api, http, person, online=True)
    m = matrix(api, http, person)
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, IO, "accept")
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, SP, "request_supplement", data={"missing": ["Bản sao căn cước"]})

    await m.probe(code, "supplement requested", routes=("withdraw", "supplements"))
    await m.worklists(code, "supplement requested")
    await m.take(code, OWN, "supplement", route="supplements", documents=[unique_document()])
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")

    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, LD, "request_extension", comment="Cần xác minh thêm", data={"extra_days": 2})
    # Once only: nobody may extend again; withdrawal is still open.
    await m.probe(code, "extended", actions=("request_extension", "withdraw"), routes=("withdraw",))
    await m.take(code, OWN, "withdraw", route="withdraw", comment="Không cần nữa")
    await wait_closed(api, code)
    view = await m.view(code)
    assert (view["status"], view["outcome"]) == ("stopped", "withdrawn")
    m.done("supplement, extension and withdrawal")


@pytest.mark.slow
@ENGINE_ONLY
async def test_a_counter_dossier_has_no_applicant_to_act(api: Api, http: httpx.AsyncClient) -> None:
    """Submitted at the counter: no applicant account, so no applicant token reads it or
    acts on it (not even one naming the same person); the intake officer withdraws it."""
    person = api.person("quầy")
    code = await submitted(api, http, person, online=False)
    m = matrix(api, http, person)
    await m.probe(code, "counter intake", routes=("withdraw",))
    await m.take(code, IO, "accept")
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, IO, "withdraw", route="withdraw", comment="Công dân rút tại quầy")
    await wait_closed(api, code)
    assert (await m.view(code))["status"] == "stopped"
    m.done("counter dossier")


@pytest.mark.slow
@ENGINE_ONLY
async def test_an_assigned_step_is_its_assignees_alone(api: Api, http: httpx.AsyncClient) -> None:
    """The police's leader assigns the appraisal to a named specialist: every caller then
    attempts every action; the step's actions are the assignee's alone (the other
    specialist of the agency is refused them), nobody claims it, the leader may reassign."""
    person = api.person("phân công")
    code = await submitted(api, http, person, online=True)
    m = matrix(api, http, person)
    competent = api.catalog.procedure(PROCEDURE).competent_agency
    assignee = Caller("specialist (assigned)@competent", Role.SPECIALIST, competent, "cv-duoc-giao")
    m.callers.append(assignee)
    r = await http.get("/v1/worklist", headers=assignee.headers(api))  # now in the directory
    assert r.status_code == 200, r.text
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, IO, "accept")
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")

    await m.probe(code, "appraisal, unassigned", actions=("claim", "assign", "appraise"))
    await m.take(code, LD, "assign", data={"assignee": assignee.sub})
    facts = await m.probe(code, "appraisal, assigned")
    assert facts.assignee == assignee.sub
    await m.worklists(code, "appraisal, assigned")
    await m.take(code, OWN, "withdraw", route="withdraw", comment="Không cần nữa")
    m.done("an assigned step")


CONSTRUCTION = "1.009994"  # building permit: a consultation step at the commune
LAND_TRANSFER = "1.013831"  # land transfer: a linked tax sub-dossier, then a payment step
TAX_BRANCH = "000.21.01.H99"  # resolves the land transfer's tax sub-dossier


@pytest.mark.slow
@ENGINE_ONLY
async def test_consultation_linked_and_payment_steps(api: Api, http: httpx.AsyncClient) -> None:
    """The step kinds the judicial record certificate has not: a consultation (its owner,
    the commune's specialist), a linked step (nobody acts: the tax office resolves its
    sub-dossier), and a payment (the dossier's own applicant, or the gateway's callback)."""
    person = api.person("xây dựng")
    code = await submitted(api, http, person, online=True, procedure=CONSTRUCTION)
    m = matrix(api, http, person, CONSTRUCTION)
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, IO, "accept")
    await wait_for_step(api, http, code, "tham_dinh")
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, SP, "appraise", data={"opinion": "Đủ điều kiện; lấy ý kiến"})
    await m.probe(code, "consultation")
    await m.worklists(code, "consultation")
    await m.take(code, OWN, "withdraw", route="withdraw", comment="Không xây nữa")
    m.done("consultation")

    person = api.person("sang tên")
    code = await submitted(api, http, person, online=True, procedure=LAND_TRANSFER)
    m = matrix(api, http, person, LAND_TRANSFER)
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, IO, "accept")
    await wait_for_step(api, http, code, "tham_dinh")
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, SP, "appraise", data={"opinion": "Chuyển thông tin sang cơ quan thuế"})
    view = await wait_view(
        api,
        http,
        code,
        lambda v: v["children"] and v["children"][0]["acknowledged_at"],
        "the tax office acknowledges",
    )
    await m.probe(code, "linked")
    await m.worklists(code, "linked")
    await ChildDoor(api, http, over_http=True).resolve(view["children"][0]["code"], TAX_BRANCH)
    await wait_for_step(api, http, code, "nop_nghia_vu_tai_chinh")
    await m.probe(code, "payment")
    await m.worklists(code, "payment")
    await m.take(code, OWN, "pay", data={"amount_vnd": 25_000, "method": "bank_qr"})
    await wait_for_step(api, http, code, "cap_nhat_ho_so_dia_chinh")
    m.facts = facts_of(await m.view(code), m.max_extensions)
    await m.take(code, OWN, "withdraw", route="withdraw", comment="Không chuyển nhượng nữa")
    m.done("linked and payment")


async def test_the_role_named_in_the_body_must_be_the_tokens_and_own_the_step(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("vai trò")
    code = await submitted(api, http, person, online=False)
    await caught_up(api, http, code)
    url = f"/v1/dossiers/{code}/actions"

    # A role the token does not carry: refused by the API, not recorded.
    r = await http.post(
        url,
        json={"action": "accept", "role": "leader"},
        headers=api.headers(Role.INTAKE_OFFICER, RECEIVING),
    )
    assert "leader" in error_of(r, 403, "forbidden")
    # Two roles: acting as the one that does not own the step is the engine's refusal.
    both = issue_token(
        api.settings,
        sub="cb-hai-vai",
        roles=[Role.SPECIALIST, Role.INTAKE_OFFICER],
        agency=RECEIVING,
    )
    headers = {"Authorization": f"Bearer {both}"}
    r = await http.post(url, json={"action": "accept", "role": "specialist"}, headers=headers)
    assert "intake_officer" in error_of(r, 403, "forbidden")
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    assert [(a["role"], a["code"]) for a in r.json()["refused_attempts"]] == [
        ("specialist", "forbidden")
    ]
    # Without a role, the API picks the one that may act.
    r = await http.post(url, json={"action": "accept"}, headers=headers)
    assert r.status_code == 200, r.text
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    [accept] = [e for e in r.json()["events"] if e["kind"] == "accept"]
    assert (accept["role"], accept["agency"]) == ("intake_officer", RECEIVING)
    r = await http.post(f"/v1/dossiers/{code}/withdraw", json={"comment": "thử"}, headers=headers)
    assert r.status_code == 200, r.text


async def test_a_refused_supplement_stores_no_file(api: Api, http: httpx.AsyncClient) -> None:
    person = api.person("tệp thừa")
    code = await submitted(api, http, person, online=True)
    store = FolderStore(Path(api.settings.resolved_document_store))
    content = pdf(f"không được lưu {uuid.uuid4().hex}")
    doc = document("bo_sung", "bo-sung.pdf", content)
    # The auditor may read the dossier but never supplements; nobody asked for one either.
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        json={"documents": [doc]},
        headers=api.headers(*AUDITOR),
    )
    error_of(r, 409, "wrong_step")
    r = await http.post(
        f"/v1/dossiers/{code}/withdraw", json={"comment": "thử"}, headers=api.applicant(person)
    )
    assert r.status_code == 200, r.text
    assert not store.has(hashlib.sha256(content).hexdigest())


# --------------------------------------------------------------------------- reads


async def returned(api: Api, http: httpx.AsyncClient, person: Person) -> str:
    """An online dossier received at the commune centre, decided by the police, returned."""
    code = await submitted(api, http, person, online=True)
    as_ = api.headers
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "accept"},
        headers=as_(Role.INTAKE_OFFICER, RECEIVING),
    )
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    for role, action, body in (
        (Role.SPECIALIST, "appraise", {"data": {"opinion": "Không có án tích"}}),
        (Role.LEADER, "approve", {"comment": "Đồng ý"}),
        (Role.SIGNER, "sign", {}),
    ):
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": action, **body},
            headers=as_(role, POLICE),
        )
        assert r.status_code in (200, 202), r.text
    await wait_for_step(api, http, code, "tra_ket_qua")
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "pay", "data": {"amount_vnd": 200_000, "method": "cash"}},
        headers=as_(Role.RETURN_OFFICER, RECEIVING),
    )
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "return", "data": {"channel": "online"}},
        headers=as_(Role.RETURN_OFFICER, RECEIVING),
    )
    assert r.status_code == 200, r.text
    await wait_closed(api, code)
    await caught_up(api, http, code)
    return code


def this_month() -> str:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")


@pytest.mark.slow
@ENGINE_ONLY
async def test_who_reads_what(api: Api, http: httpx.AsyncClient) -> None:
    person = api.person("đọc")
    code = await returned(api, http, person)
    m = matrix(api, http, person)
    facts = facts_of(await m.view(code), m.max_extensions)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*AUDITOR))
    docs = {d["source"] if d["source"] != "form" else d["form"]: d for d in r.json()["documents"]}
    assert {"upload", "01", "result"} <= set(docs), sorted(docs)
    month = this_month()

    def check(caller: Caller, what: str, r: httpx.Response, allowed: bool, ok: int = 200) -> None:
        m.reads += 1
        if allowed and r.status_code != ok:
            m.fail(f"{caller.label} {what}: {r.status_code}, policy allows: {r.text[:200]}")
        if not allowed and r.status_code != 403:
            m.fail(f"{caller.label} {what}: {r.status_code}, policy refuses (403)")
        elif not allowed:
            error_of(r, 403, "forbidden")

    other = await submitted(api, http, api.person("khác"), online=False)
    await caught_up(api, http, other)
    store = FolderStore(Path(api.settings.resolved_document_store))
    audit_log_before = await http.get(
        "/v1/audit/log", params={"dossier": code}, headers=api.headers(*AUDITOR)
    )
    submitted_by: list[tuple[str, str]] = []  # (code, the centre that received it)
    for caller in m.callers:
        h = caller.headers(api)
        reader = granted(POLICY["reads"]["dossier"], caller, facts, any_role=True)
        for path in ("", "/events", "/documents", "/control-slip"):
            check(
                caller,
                f"GET {path or 'dossier'}",
                await http.get(f"/v1/dossiers/{code}{path}", headers=h),
                reader,
            )
        for name, d in docs.items():
            check(caller, f"download {name}", await http.get(d["href"], headers=h), reader)
        # A document is read through its own dossier only.
        r = await http.get(f"/v1/dossiers/{other}/documents/{docs['result']['id']}", headers=h)
        m.reads += 1
        if r.status_code not in (403, 404):
            m.fail(f"{caller.label}: {code}'s result through {other}: {r.status_code}")

        # By code: an administrator's `q` does not match names (docs/personal-data.md).
        r = await http.get("/v1/dossiers", params={"q": code, "limit": 200}, headers=h)
        m.reads += 1
        if not any(
            role.value in roles_of(g.split("@")[0], None)
            for g in POLICY["reads"]["list"]
            for role in caller.roles
        ):  # a role the search serves nowhere (the catalog's administrator): 403
            check(caller, "GET /v1/dossiers", r, False)
        else:
            assert r.status_code == 200, (caller.label, r.text)
            listed = code in {i["code"] for i in r.json()["items"]}
            if listed != granted(POLICY["reads"]["list"], caller, facts, any_role=True):
                m.fail(f"{caller.label}: listed={listed} in GET /v1/dossiers")

        endpoints = POLICY["endpoints"]
        for route in endpoints:
            method, path = route.split(" ")
            if route == "POST /v1/codec/decode":  # decrypts Temporal payloads
                allowed = granted(endpoints[route], caller, facts, any_role=True)
                r = await http.post(path, json={"payloads": []}, headers=h)
                check(caller, route, r, allowed)
                continue
            if method != "GET":
                continue
            url = path.format(code=PROCEDURE if "procedures" in path else code, agency=RECEIVING)
            params = {"period": month} if ("index" in path or "tracking-book" in path) else {}
            allowed = granted(endpoints[route], caller, facts, path_agency=RECEIVING, any_role=True)
            check(caller, route, await http.get(url, params=params, headers=h), allowed)
        # Another agency's tracking book: only its own officers (none of these callers).
        r = await http.get(
            f"/v1/agencies/{POLICE}/tracking-book", params={"period": month}, headers=h
        )
        check(
            caller,
            "police's tracking book",
            r,
            granted(
                endpoints["GET /v1/agencies/{agency}/tracking-book"],
                caller,
                facts,
                path_agency=POLICE,
                any_role=True,
            ),
        )

        # Submission (at the provincial centre): the file of a refused one is not stored.
        body = submission(api.person("nộp"), channel="online")
        body["documents"][0] = unique_document("to_khai")
        r = await http.post("/v1/dossiers", json=body, headers=h)
        allowed = granted(endpoints["POST /v1/dossiers"], caller, any_role=True)
        check(caller, "POST /v1/dossiers", r, allowed, ok=201)
        if r.status_code == 201:
            # An intake officer of a centre files at their own centre; anyone else's
            # submission goes to the deployment's (boundary-free intake, issue 24).
            officer = Role.INTAKE_OFFICER in caller.roles
            own = caller.agency in (RECEIVING, OTHER_CENTRE)
            submitted_by.append((r.json()["code"], caller.agency if officer and own else CENTRE))
        sha = hashlib.sha256(base64.b64decode(body["documents"][0]["content_base64"])).hexdigest()
        if store.has(sha) != (r.status_code == 201):
            m.fail(f"{caller.label}: POST /v1/dossiers answered {r.status_code}, file stored")

    # The audit routes refused to everyone else wrote nothing in the audit log.
    audit_log_after = await http.get(
        "/v1/audit/log", params={"dossier": code}, headers=api.headers(*AUDITOR)
    )
    auditors = [c for c in m.callers if Role.AUDITOR in c.roles]
    reads_logged = len(audit_log_after.json()) - len(audit_log_before.json())
    # history, replay, verify, timeline, trail and late by each auditor, and the first
    # read of the log itself: nothing for the refused callers.
    assert reads_logged == 6 * len(auditors) + 1, reads_logged

    # Rating and feedback: the dossier's own applicant only (refusals first).
    for caller in sorted(m.callers, key=lambda c: c.label == OWN):
        h = caller.headers(api)
        own = granted(
            POLICY["endpoints"]["POST /v1/dossiers/{code}/rating"], caller, facts, any_role=True
        )
        r = await http.post(f"/v1/dossiers/{code}/rating", json={"rating": "like"}, headers=h)
        check(caller, "rating", r, own, ok=201)
        r = await http.post(
            f"/v1/dossiers/{code}/feedback",
            json={"kind": "suggestion", "text": "Cảm ơn"},
            headers=h,
        )
        check(caller, "feedback", r, own, ok=201)

    # The worklist is for officers.
    for caller in m.callers:
        r = await http.get("/v1/worklist", headers=caller.headers(api))
        check(
            caller,
            "worklist",
            r,
            granted(POLICY["endpoints"]["GET /v1/worklist"], caller, any_role=True),
        )
    # Leave no open dossier on anyone's worklist.
    for c, centre in [(other, RECEIVING), *submitted_by]:
        r = await http.post(
            f"/v1/dossiers/{c}/actions",
            json={"action": "refuse", "comment": "Hồ sơ thử"},
            headers=api.headers(Role.INTAKE_OFFICER, centre),
        )
        assert r.status_code == 200, r.text
    m.done("who reads what")
