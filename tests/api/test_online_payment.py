"""Online payment, as a citizen on a phone and the centre's accountant see it, through
the real API, a real Temporal dev server and a real local payment gateway
(tests/payment_gateway_server.py): the citizen asks to pay what the dossier owes (the
amount is the engine's), opens the gateway's page or scans its QR code, pays; the
gateway's signed callback (sent twice, or dropped, or late) settles the order once, with
one sealed e-receipt and the portal's online-payment flag; an order never paid expires
and a new one can be made; a dossier refused after an online payment gets its money
back, its e-receipt kept and marked refunded.

The stack is this module's own (the session's API has no gateway): one SQLite database,
with tests/payment_gateway_server.py's FAST_PAYMENTS settings (orders expire after 12 s,
the gateway is asked 2 s after an order opens and every 2 s after)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from domain.catalog import Role
from domain.payments import payment_workflow_id
from infra.payment_gateway import sign
from motcua.devserver import DevServer
from store import repository
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    Api,
    ChildDoor,
    act,
    caught_up,
    error_of,
    fee_due,
    submit,
    wait_closed,
)
from tests.api.test_payment_gateway import at_payment_step
from tests.payload_keys import DATA_CONVERTER
from tests.payment_gateway_server import Order, PaymentGatewayServer, paying_stack
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

SECRET = "test-payment-gateway-secret-2026"
CALLBACK = "/v1/payments/callback"
OTHER_CENTRE = "000.00.31.H99"
HISTORIES = Path(__file__).resolve().parent.parent / "histories" / "payment"

pytestmark = pytest.mark.devserver


@pytest.fixture(scope="module")
async def paying(
    devserver: DevServer,
    devserver_client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Api, PaymentGatewayServer]]:
    async with paying_stack(
        devserver_client, devserver.address, tmp_path_factory.mktemp("pay"), SECRET
    ) as stack:
        yield stack


@pytest.fixture
async def http(paying: tuple[Api, PaymentGatewayServer]) -> AsyncIterator[httpx.AsyncClient]:
    async with paying[0].http() as client:
        yield client


async def until(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    """Poll `check` (sync, run in a thread) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


async def payments(api: Api, http: httpx.AsyncClient, code: str, who: dict[str, str]) -> Any:
    r = await http.get(f"/v1/dossiers/{code}/payments", headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def row_status(api: Api, order_id: str, status: str) -> Callable[[], bool]:
    def check() -> bool:
        row = repository.get_payment(api.engine, order_id)
        return row is not None and row.status == status

    return check


async def open_order(http: httpx.AsyncClient, code: str, who: dict[str, str]) -> str:
    """The citizen asks to pay online (POST /v1/dossiers/{code}/payments): the order's id."""
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=who)
    assert r.status_code == 201, r.text
    order_id: str = r.json()["order_id"]
    return order_id


async def pay_at_gateway(
    gateway: PaymentGatewayServer, order_id: str, params: dict[str, str] | None = None
) -> None:
    """The citizen pays on the gateway's own page (its callback as `params` say)."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as page:
        r = await page.post(f"/pay/{order_id}", params=params)
        assert r.status_code == 200, r.text


async def signed_callback(api: Api, http: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await http.post(
        CALLBACK,
        content=raw,
        headers={"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)},
    )


async def history_replays(api: Api, workflow_id: str, keep_as: str | None = None) -> None:
    """The order's workflow history replays with today's code; with
    MOTCUA_RECORD_HISTORIES=1 it is also kept as a golden history (tests/histories/payment,
    replayed by tests/replay/test_payment_replay.py)."""
    handle = api.client.get_workflow_handle(workflow_id)
    await handle.result()
    history: WorkflowHistory = await handle.fetch_history()
    await Replayer(
        workflows=WORKFLOWS, data_converter=DATA_CONVERTER, workflow_runner=WORKFLOW_RUNNER
    ).replay_workflow(history)
    if keep_as and os.environ.get("MOTCUA_RECORD_HISTORIES") == "1":
        HISTORIES.mkdir(parents=True, exist_ok=True)
        text = json.dumps(json.loads(history.to_json()), indent=2, ensure_ascii=False)
        (HISTORIES / f"{keep_as}.json").write_text(text + "\n", encoding="utf-8")


async def test_paid_online_twice_told_settles_once_with_a_sealed_receipt_and_the_portal_flag(
    paying: tuple[Api, PaymentGatewayServer], http: httpx.AsyncClient
) -> None:
    api, gateway = paying
    person = api.person("trực tuyến")
    citizen = api.applicant(person)
    code = await submit(api, http, person, as_applicant=True, channel="online")
    fee = fee_due()  # 3.000333's fee at intake, as the catalog sets it
    assert fee == 200_000

    # -- the citizen's page: a fee is owed now, payable online; no request yet
    listed = await payments(api, http, code, citizen)
    assert (listed["fee_due_vnd"], listed["online_payment"], listed["requests"]) == (
        fee,
        True,
        [],
    )

    # -- strangers may not ask: another citizen, an intake officer of another centre
    stranger = api.applicant(api.person("người lạ"))
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=stranger)
    error_of(r, 403, "forbidden")
    r = await http.post(
        f"/v1/dossiers/{code}/payments", headers=api.headers(Role.INTAKE_OFFICER, OTHER_CENTRE)
    )
    assert r.status_code in (403, 404), r.text

    # -- the citizen asks: an order of the engine's amount, with its page and QR code
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=citizen)
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["status"], order["status_label"]) == ("pending", "Đang chờ thanh toán")
    assert (order["amount_vnd"], order["amount_text"]) == (fee, "200.000 đồng")
    assert order["payment_url"] == f"{gateway.url}/pay/{order['order_id']}"
    assert order["qr_content"].endswith(f"|{order['order_id']}|{fee}")
    assert order["qr_svg"].startswith("data:image/svg+xml")
    assert gateway.orders[order["order_id"]].amount_vnd == fee
    # Asked again while it is open: the same order, not a second one.
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=citizen)
    assert (r.status_code, r.json()["order_id"]) == (201, order["order_id"]), r.text
    assert len(gateway.orders) >= 1 and order["order_id"] in gateway.orders
    # The statutory clock is untouched by the payment request (it has not started).
    r = await http.get(f"/v1/dossiers/{code}", headers=citizen)
    assert (r.json()["clock_paused"], r.json()["exclusions"]) == (False, [])

    # -- the citizen pays on the gateway's page; the gateway calls back twice at once
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as page:
        r = await page.get(f"/pay/{order['order_id']}")
        assert (r.status_code, r.json()["amount_vnd"]) == (200, fee)
        r = await page.post(f"/pay/{order['order_id']}", params={"callback": "duplicate"})
        assert r.status_code == 200, r.text
    paid: Order = gateway.orders[order["order_id"]]
    await asyncio.to_thread(gateway.join)
    assert [c["status"] for c in paid.callbacks] == [200, 200], paid.callbacks
    assert {c["answer"]["payment_status"] for c in paid.callbacks} == {"paid"}
    await until("the order is paid", row_status(api, order["order_id"], "paid"))

    # -- settled once: one pay by the gateway, one e-receipt, sealed by the centre
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    [pay] = [e for e in r.json()["events"] if e["kind"] == "pay"]
    assert (pay["role"], pay["data"]["amount_vnd"], pay["data"]["method"]) == (
        "system",
        fee,
        "payment_platform",
    )
    assert pay["data"]["receipt_number"] == paid.transaction_id
    assert order["order_id"] in pay["comment"]
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert (receipt.agency_code, receipt.amount_vnd, receipt.online, receipt.status) == (
        CENTRE,
        fee,
        True,
        "issued",
    )
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=citizen)
    [doc] = [d for d in r.json()["documents"] if d["form"] == "receipt"]
    assert doc["id"] == receipt.document_id and doc["signers"] == [f"seal:{CENTRE}"]
    # Both callbacks are on record; the second settled nothing.
    calls = await asyncio.to_thread(repository.callbacks_of, api.engine, order["order_id"])
    assert len(calls) == 2 and {c.outcome for c in calls} <= {"settled", "duplicate"}

    # -- the citizen's page says it is paid, and nothing more is owed
    listed = await payments(api, http, code, citizen)
    [row] = listed["requests"]
    assert (row["status"], row["status_label"], row["transaction_id"]) == (
        "paid",
        "Đã thanh toán",
        paid.transaction_id,
    )
    assert row["payment_url"] is None and row["qr_svg"] is None
    assert listed["fee_due_vnd"] is None
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=citizen)
    assert "không có khoản phí" in error_of(r, 409, "wrong_step")

    # -- callbacks that cannot be believed are refused, and recorded
    r = await signed_callback(
        api, http, gateway.callback_body(paid, transaction_id="GD-KHAC", amount_vnd=fee)
    )
    assert paid.transaction_id in error_of(r, 409, "conflict")
    r = await signed_callback(api, http, gateway.callback_body(paid, amount_vnd=1_000_000))
    message = error_of(r, 422, "invalid")
    assert "1.000.000 đồng" in message and "200.000 đồng" in message, message
    r = await signed_callback(api, http, gateway.callback_body(paid, order_id="MCKHONGCO"))
    error_of(r, 404, "not_found")
    calls = await asyncio.to_thread(repository.callbacks_of, api.engine, order["order_id"])
    assert [(c.outcome, c.code) for c in calls[2:]] == [
        ("refused", "conflict"),
        ("refused", "invalid"),
    ]
    [unknown] = await asyncio.to_thread(repository.callbacks_of, api.engine, "MCKHONGCO")
    assert (unknown.outcome, unknown.code) == ("refused", "not_found")

    # -- the intake officer accepts: the portal hears the dossier was paid online
    #    through the national Payment Platform (1)
    r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ")
    assert r.status_code == 200, r.text
    await caught_up(api, http, code)
    flags = [
        json.loads(m.body)["DuocThanhToanTrucTuyen"]
        for m in await asyncio.to_thread(repository.list_outbox, api.engine, code)
        if m.channel == "dvcqg"
    ]
    assert flags[0] == 0 and flags[-1] == 1, flags
    await history_replays(
        api, payment_workflow_id(code, "intake"), keep_as="paid_by_duplicate_callbacks"
    )


@pytest.mark.slow
async def test_an_order_never_paid_expires_a_new_one_works_and_a_dropped_callback_is_reconciled(
    paying: tuple[Api, PaymentGatewayServer], http: httpx.AsyncClient
) -> None:
    api, gateway = paying
    person = api.person("hết hạn")
    citizen = api.applicant(person)
    code = await submit(api, http, person, as_applicant=True, channel="online")
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=citizen)
    assert r.status_code == 201, r.text
    first = r.json()

    # -- nobody pays: the gateway is asked (reconciliation), then the order expires
    await until("the order expires", row_status(api, first["order_id"], "expired"))
    assert gateway.orders[first["order_id"]].queries >= 2
    listed = await payments(api, http, code, citizen)
    [row] = listed["requests"]
    assert (row["status_label"], row["payment_url"]) == ("Hết hạn thanh toán", None)
    assert listed["fee_due_vnd"] == fee_due()
    # A late callback for it is refused, with why, and recorded.
    late = gateway.orders[first["order_id"]]
    late.transaction_id = "GD-TRE"
    r = await signed_callback(api, http, gateway.callback_body(late))
    assert "hết hạn" in error_of(r, 409, "expired")
    [call] = await asyncio.to_thread(repository.callbacks_of, api.engine, first["order_id"])
    assert (call.outcome, call.code) == ("refused", "expired")
    await history_replays(api, payment_workflow_id(code, "intake"), keep_as="expired")

    # -- a new request works: a new order
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=citizen)
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["order_id"] != first["order_id"] and second["status"] == "pending"

    # -- paid, but the gateway's callback is lost: the reconciliation query settles it
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as page:
        r = await page.post(f"/pay/{second['order_id']}", params={"callback": "drop"})
        assert r.status_code == 200, r.text
    await until("the dropped payment is settled", row_status(api, second["order_id"], "paid"))
    paid = await asyncio.to_thread(repository.get_payment, api.engine, second["order_id"])
    assert paid is not None and paid.settled_via == "reconciliation"
    assert gateway.orders[second["order_id"]].callbacks == []
    await caught_up(api, http, code)
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert (receipt.amount_vnd, receipt.online) == (fee_due(), True)
    statuses = [x["status"] for x in (await payments(api, http, code, citizen))["requests"]]
    assert statuses == ["paid", "expired"]


@pytest.mark.parametrize("ending", ["refused", "withdrawn"])
async def test_a_dossier_refused_or_withdrawn_after_paying_online_is_refunded_receipt_kept(
    paying: tuple[Api, PaymentGatewayServer], http: httpx.AsyncClient, ending: str
) -> None:
    api, gateway = paying
    person = api.person("hoàn tiền")
    citizen = api.applicant(person)
    code = await submit(api, http, person, as_applicant=True, channel="online")
    order_id = await open_order(http, code, citizen)
    await pay_at_gateway(gateway, order_id)
    await until("the order is paid", row_status(api, order_id, "paid"))
    await caught_up(api, http, code)

    # -- the intake officer refuses the dossier, or the citizen withdraws it: the fee
    #    goes back through the gateway
    if ending == "refused":
        r = await act(
            api, http, code, INTAKE, "refuse", comment="Thủ tục không thuộc thẩm quyền Trung tâm"
        )
    else:
        r = await http.post(
            f"/v1/dossiers/{code}/withdraw",
            json={"comment": "Tôi nộp nhầm thủ tục"},
            headers=citizen,
        )
    assert r.status_code == 200, r.text
    await wait_closed(api, code)
    await until("the order is refunded", row_status(api, order_id, "refunded"))
    [refund] = gateway.orders[order_id].refunds.values()
    assert (refund["refund_id"], refund["amount_vnd"]) == (f"{order_id}-R", fee_due())
    # The e-receipt is kept, marked refunded with the reason (never deleted).
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    said = "từ chối" if ending == "refused" else "được rút"
    assert receipt.status == "refunded" and said in (receipt.cancel_reason or "")
    listed = await payments(api, http, code, citizen)
    [row] = listed["requests"]
    assert (row["status"], row["status_label"], row["refund_amount_vnd"]) == (
        "refunded",
        "Đã hoàn tiền",
        fee_due(),
    )
    # The citizen is told, where they were told of their dossier (account, phone, e-mail).
    sent = await asyncio.to_thread(repository.list_outbox, api.engine, code)
    told = [m for m in sent if m.event_id == f"{order_id}:refund"]
    assert {m.channel for m in told} == {"portal", "sms", "email"}, told
    assert all("200.000 đồng" in m.body and order_id in m.body for m in told)
    # Later rounds ask for nothing more.
    await asyncio.sleep(2.5)
    assert gateway.orders[order_id].refund_requests == 1


async def test_at_a_payment_step_the_clock_stays_paused_until_the_order_is_settled(
    paying: tuple[Api, PaymentGatewayServer], http: httpx.AsyncClient
) -> None:
    """A land transfer filed online, at its payment step (the time to pay a financial
    obligation is excluded, Decree 101/2024): the citizen pays the step's fee online; the
    clock stays paused while the order is open and runs again once it is settled. The
    fee's receipt is the centre's, which holds the step."""
    api, gateway = paying
    person = api.person("sang tên trực tuyến")
    citizen = api.applicant(person)
    code, view = await at_payment_step(api, http, ChildDoor(api, http, True), online=person)
    assert (view["status"], view["clock_paused"], view["fee_due_vnd"]) == (
        "financial_obligation",
        True,
        25_000,
    )
    r = await http.post(f"/v1/dossiers/{code}/payments", headers=citizen)
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["stage"], order["amount_vnd"]) == ("payment", 25_000)
    r = await http.get(f"/v1/dossiers/{code}", headers=citizen)
    assert (r.json()["clock_paused"], r.json()["paused_since"]) == (True, view["paused_since"])

    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as page:
        r = await page.post(f"/pay/{order['order_id']}")
        assert r.status_code == 200, r.text
    await until("the order is paid", row_status(api, order["order_id"], "paid"))
    r = await http.get(f"/v1/dossiers/{code}", headers=citizen)
    after = r.json()
    assert after["current_step"]["step_id"] == "cap_nhat_ho_so_dia_chinh"
    assert (after["clock_paused"], after["paused_since"]) == (False, None)
    assert all(x["end"] is not None for x in after["exclusions"]), after["exclusions"]
    await caught_up(api, http, code)
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert (receipt.agency_code, receipt.amount_vnd, receipt.online) == (CENTRE, 25_000, True)


async def test_paid_at_the_counter_meanwhile_the_online_payment_goes_back(
    paying: tuple[Api, PaymentGatewayServer], http: httpx.AsyncClient
) -> None:
    """The citizen opened an order, then paid the fee in cash at the counter, then paid
    the order too: the dossier takes one payment (one receipt, the cash one); the online
    one is refused by the dossier and refunded at once through the gateway, and the
    gateway's callback is told so."""
    api, gateway = paying
    person = api.person("trả hai lần")
    citizen = api.applicant(person)
    code = await submit(api, http, person, as_applicant=True, channel="online")
    order_id = await open_order(http, code, citizen)
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": fee_due(), "method": "cash"})
    assert r.status_code == 200, r.text

    await pay_at_gateway(gateway, order_id)
    await asyncio.to_thread(gateway.join)
    [told] = gateway.orders[order_id].callbacks
    assert (told["status"], told["answer"]["payment_status"]) == (200, "refunded"), told
    [refund] = gateway.orders[order_id].refunds.values()
    assert refund["amount_vnd"] == fee_due(), refund
    assert "không ghi nhận khoản thanh toán" in refund["reason"], refund
    row = await asyncio.to_thread(repository.get_payment, api.engine, order_id)
    assert row is not None and (row.status, row.refund_amount_vnd) == ("refunded", fee_due())

    await caught_up(api, http, code)
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert (receipt.method, receipt.online, receipt.status) == ("cash", False, "issued")
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    record = r.json()
    assert [e["role"] for e in record["events"] if e["kind"] == "pay"] == ["intake_officer"]
    # The dossier's refusal of the online payment is on record for the auditors.
    [refused] = [a for a in record["refused_attempts"] if a["action"] == "pay"]
    assert (refused["actor_id"], refused["code"]) == ("payment-gateway", "wrong_step")


async def test_a_callback_arriving_with_the_reconciliation_query_settles_once(
    paying: tuple[Api, PaymentGatewayServer], http: httpx.AsyncClient
) -> None:
    """The gateway calls back late, about when motcua asks it (2 s after the order
    opened): whichever comes first settles the order; the other settles nothing again."""
    api, gateway = paying
    person = api.person("cùng lúc")
    citizen = api.applicant(person)
    code = await submit(api, http, person, as_applicant=True, channel="online")
    order_id = await open_order(http, code, citizen)
    await pay_at_gateway(gateway, order_id, params={"callback": "send", "delay": "1.9"})
    await asyncio.to_thread(gateway.join)
    [told] = gateway.orders[order_id].callbacks
    assert (told["status"], told["answer"]["payment_status"]) == (200, "paid"), told
    await until("the order is paid", row_status(api, order_id, "paid"))
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    assert [e["kind"] for e in r.json()["events"]].count("pay") == 1
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert receipt.online is True
