"""Fees (phí, lệ phí) a dossier owes, as the catalog states them: which lines fall due at
which moment (intake, the payment step, return), for how many copies, for which exempted
group, and the amount an officer must record, written as a Vietnamese reader writes it.
Pure rules: the machine checks a recorded payment against `fees_due`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.catalog import Fee, Procedure
from domain.vietnamese import number

Stage = Literal["intake", "payment", "return"]

# How the applicant paid at the counter or online (Decree 11/2020/NĐ-CP on payment
# in State treasury transactions lists cash and non-cash; the portal adds its platform).
COUNTER_METHODS = ("cash", "card", "bank_qr")
METHODS_VI = {
    "cash": "Tiền mặt",
    "card": "Thẻ ngân hàng",
    "bank_qr": "Chuyển khoản (mã QR)",
    "online": "Thanh toán trực tuyến",
    "payment_platform": "Nền tảng thanh toán trên Cổng Dịch vụ công quốc gia",
    "dvcqg": "Nền tảng thanh toán trên Cổng Dịch vụ công quốc gia",
}


def vnd(amount: int) -> str:
    """200000 -> "200.000 đồng"."""
    return f"{number(amount)} đồng"


class FeeLine(BaseModel):
    """One line of what is due (and of the receipt)."""

    name: str
    kind: str
    per: str
    copies: int = 1
    unit_vnd: int
    amount_vnd: int
    exemption: str | None = Field(default=None, description="the group's name, when exempted")
    legal_basis: str = ""


class FeesDue(BaseModel):
    stage: Stage
    copies: int
    group: str | None
    lines: list[FeeLine]

    @property
    def total_vnd(self) -> int:
        return sum(line.amount_vnd for line in self.lines)


def stage_fees(procedure: Procedure, stage: Stage) -> list[Fee]:
    return [f for f in procedure.fees if f.collected_at == stage]


def exemption_groups(procedure: Procedure) -> dict[str, str]:
    """Every exempted group the procedure's fees name: slug -> the law's name."""
    return {e.group: e.name for f in procedure.fees for e in f.exemptions}


def fees_due(
    procedure: Procedure, stage: Stage, copies: int = 1, group: str | None = None
) -> FeesDue:
    lines: list[FeeLine] = []
    for fee in stage_fees(procedure, stage):
        exemption = next((e for e in fee.exemptions if e.group == group), None)
        amount = fee.amount_for(copies, group)
        if fee.per == "copy" and amount == 0 and exemption is None:
            continue  # copies below the first charged one: no line
        lines.append(
            FeeLine(
                name=fee.name,
                kind=fee.kind.value,
                per=fee.per,
                copies=copies if fee.per == "copy" else 1,
                unit_vnd=exemption.amount_vnd if exemption else fee.amount_vnd,
                amount_vnd=amount,
                exemption=exemption.name if exemption else None,
                legal_basis=(exemption.legal_basis if exemption else "") or fee.legal_basis,
            )
        )
    return FeesDue(stage=stage, copies=copies, group=group, lines=lines)


def bears_fee(procedure: Procedure, stage: Stage) -> bool:
    """Whether the stage has anything to collect for an applicant of no exempted group."""
    return fees_due(procedure, stage).total_vnd > 0
