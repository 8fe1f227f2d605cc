"""The national portal (Cổng DVCQG) as motcua reads it: what a dossier filed there looks
like on the wire, and a client that lists the dossiers filed since a cursor and fetches
their document files. [uncertain] The field names follow the portal's dossier-sync
vocabulary (MaHoSo, MaTTHC, NgayNopHoSo, ChuHoSo, TaiLieuNop); the envelope of the list
(`items`, `next_cursor`, `more`) is ours: adapt the models here to the portal's
published interface. Sending status back is services/portal.py's (the outbox)."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

# The portal's dossier code: letters, digits and . - _ / (a sector-prefixed code with
# the date and a sequence number) [uncertain: Circular 04/2025 sets its exact form].
PORTAL_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-_/]{0,79}$"


class PortalModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class PortalApplicant(PortalModel):
    """ChuHoSo: who filed, as the portal (VNeID) identified them."""

    name: str = Field(alias="HoTen", min_length=1, max_length=200)
    id_number: str = Field(alias="SoGiayTo", min_length=9, max_length=12, pattern=r"^\d+$")
    phone: str = Field(default="", alias="SoDienThoai", max_length=20)
    email: str = Field(default="", alias="Email", max_length=200)
    address: str = Field(default="", alias="DiaChi", max_length=500)
    account: str | None = Field(
        default=None, alias="TaiKhoan", max_length=200, description="the portal account"
    )


class PortalDocument(PortalModel):
    """TaiLieuNop: one file of a dossier component, fetched from the portal."""

    kind: str = Field(alias="MaThanhPhan", min_length=1, max_length=100)
    filename: str = Field(alias="TenTep", min_length=1, max_length=255)
    url: str = Field(alias="DuongDan", min_length=1, max_length=2000)
    sha256: str | None = Field(default=None, alias="MaBam", pattern=r"^[0-9a-fA-F]{64}$")


class PortalDossier(PortalModel):
    """A dossier as the portal delivers it, pushed or pulled."""

    portal_code: str = Field(alias="MaHoSo", pattern=PORTAL_CODE_PATTERN)
    procedure_code: str = Field(alias="MaTTHC", min_length=1, max_length=40)
    submitted_at: AwareDatetime = Field(alias="NgayNopHoSo")
    applicant: PortalApplicant = Field(alias="ChuHoSo")
    centre_agency: str | None = Field(default=None, alias="MaDonViTiepNhan", max_length=40)
    documents: list[PortalDocument] = Field(default_factory=list, alias="TaiLieuNop", max_length=50)


class PortalPage(BaseModel):
    """One answer of the list: the dossiers (raw: each is validated on its own, so one
    malformed dossier does not hide the others), the cursor after them, and whether
    more are waiting."""

    items: list[dict[str, object]] = Field(default_factory=list)
    next_cursor: str | None = None
    more: bool = False


class PortalUnavailable(Exception):
    """The portal did not answer, or answered with an error: try again later. (Messages
    of both errors are Vietnamese: the API answers with them.)"""


class PortalRefused(Exception):
    """What the portal gave cannot be used, and asking again will not change it."""


@dataclass(frozen=True)
class PortalClient:
    token: str | None = None
    timeout: float = 20
    documents_prefix: str | None = None  # files are fetched only from under this URL
    max_bytes: int = 10 * 1024 * 1024

    def _get(self, url: str, limit: int) -> bytes:
        headers = {"Accept": "*/*"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data: bytes = response.read(limit + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise PortalRefused(f"{url}: Cổng trả lời {exc.code}") from None
            raise PortalUnavailable(f"{url}: Cổng trả lời {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PortalUnavailable(f"{url}: Cổng không trả lời ({exc})") from None
        if len(data) > limit:
            raise PortalRefused(f"{url}: lớn hơn {limit} byte")
        return data

    async def list_since(self, url: str, cursor: str | None, limit: int) -> PortalPage:
        query = {"limit": str(limit)} | ({"since": cursor} if cursor else {})
        sep = "&" if urllib.parse.urlsplit(url).query else "?"
        full = f"{url}{sep}{urllib.parse.urlencode(query)}"
        raw = await asyncio.to_thread(self._get, full, 20 * 1024 * 1024)
        try:
            return PortalPage.model_validate_json(raw)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"]
            raise PortalUnavailable(f"{url}: không phải danh sách hồ sơ ({msg})") from None

    async def fetch_document(self, doc: PortalDocument) -> bytes:
        """The file's bytes, from under `documents_prefix` only, checked against its
        hash when the portal gives one."""
        if not self.documents_prefix or not doc.url.startswith(self.documents_prefix):
            raise PortalRefused(f"{doc.filename}: {doc.url} không thuộc kho tệp của Cổng")
        data = await asyncio.to_thread(self._get, doc.url, self.max_bytes)
        if doc.sha256 and hashlib.sha256(data).hexdigest() != doc.sha256.lower():
            # A file cut short on the way: fetching it again may help.
            raise PortalUnavailable(f"{doc.filename}: nội dung không khớp MaBam")
        return data
