"""A citizen looks a procedure up before filing (issue 28, item 5): `GET /v1/public/procedures`
without a token, typed without diacritics, filtered by field, agency and level, paged; each
result says what to bring (original or copy, how many), what it costs, how long it takes in
working days, where to file and what comes out. On both databases (the `api` stack), and
the search limit per client address on an API of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.catalog import Role
from domain.vietnamese import number
from motcua.devserver import find_free_port
from motcua.stack import api_serving
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.api.support import CENTRE, Api, error_of
from tests.devserver.journeys import shipped_catalog

SEARCH = "/v1/public/procedures"


async def search(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await http.get(SEARCH, params=params)  # no Authorization header: public
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_citizen_finds_a_procedure_without_diacritics_and_without_signing_in(
    api: Api, http: httpx.AsyncClient
) -> None:
    assert "authorization" not in {k.lower() for k in http.headers}
    body = await search(http, q="cap phieu ly lich tu phap")
    first = body["items"][0]
    p = api.catalog.procedure("3.000333")
    assert first["code"] == "3.000333" and first["name"] == p.name
    assert first["name"].startswith("Cấp Phiếu lý lịch tư pháp")
    assert first["match"] == "name" and first["matched_words"] == first["query_words"] == 6
    assert first["code_placeholder"] is False and first["code_label"] == "3.000333"

    # What the citizen needs before filing, as the catalog says it.
    assert first["time_text"] == "10 ngày làm việc" == p.statutory_time.vi
    assert first["statutory_time"] == {"value": 10.0, "unit": "working_days"}
    assert [f["amount_vnd"] for f in first["fees"]] == [f.amount_vnd for f in p.fees]
    case, copy = first["fees"]  # 3.000333: per case, and per copy from the third
    assert case["text"].startswith("200.000 đồng; ")  # then the groups who pay less
    assert copy["text"].startswith("5.000 đồng mỗi bản từ bản thứ 3")
    assert first["fees_text"] == "Tổng cho một bản: 200.000 đồng"
    docs = first["documents"]
    assert [d["name"] for d in docs] == [d.name for d in p.documents]
    assert docs[0]["original"] is True and docs[0]["text"] == "01 bản chính"
    assert docs[1]["original"] is False and docs[1]["text"] == "01 bản sao"
    optional = [d for d in docs if not d["required"]]
    assert optional and all(d["text"].endswith("(nếu có)") for d in optional)
    assert first["competent_agency_name"] == "Công an tỉnh"
    where = first["where_to_file"]
    assert where["level_label"] == "Cấp tỉnh"
    assert where["centres"] == ["Trung tâm Phục vụ hành chính công tỉnh"]
    # On the province's boundary-free list (the catalog's flag, as intake judges it).
    assert where["boundary_free"] is True and p.boundary_free
    assert "bất kỳ trong tỉnh, không phụ thuộc địa giới hành chính" in where["text"]
    assert first["result"]["title"] == p.result_spec.title
    assert any("xác minh" in n for n in first["time_notes"])

    # Typed with marks: the same answer.
    marked = await search(http, q="Cấp Phiếu lý lịch tư pháp")
    assert [i["code"] for i in marked["items"]] == [i["code"] for i in body["items"]]


async def test_d_with_stroke_a_stand_in_code_and_a_linked_group(
    api: Api, http: httpx.AsyncClient
) -> None:
    body = await search(http, q="dang ky dat dai lan dau")
    land = body["items"][0]
    assert land["name"].startswith("Đăng ký đất đai")
    # No national code was found for it: shown as a stand-in.
    assert land["code"] == "9.000003" and land["code_placeholder"] is True
    assert land["code_label"] == "9.000003 (mã tạm)"
    assert land["where_to_file"]["level_label"] == "Cấp xã"

    karaoke = (await search(http, q="karaoke"))["items"]
    assert [i["code"] for i in karaoke] == ["9.000004"]  # the group, not its parts
    assert karaoke[0]["result"]["kind"] == "linked"
    for child in ("1.001029", "9.000005"):
        title = api.catalog.procedure(child).result_spec.title
        assert title in karaoke[0]["result"]["title"]
    total = sum(f.amount_vnd for f in api.catalog.procedure("9.000004").fees)
    assert karaoke[0]["fees_text"] == f"Tổng: {number(total)} đồng"


async def test_whole_matches_come_before_partial_ones(api: Api, http: httpx.AsyncClient) -> None:
    items = (await search(http, q="ho kinh doanh"))["items"]
    order = ["code", "name", "all", "partial"]
    assert [i["match"] for i in items] == sorted((i["match"] for i in items), key=order.index)
    assert items[0]["code"] == "1.001612" and items[0]["match"] == "name"
    assert items[-1]["match"] == "partial"
    assert all(i["matched_words"] < i["query_words"] for i in items if i["match"] == "partial")


async def test_filters_by_field_agency_and_level(api: Api, http: httpx.AsyncClient) -> None:
    standalone = [p for p in api.catalog.latest() if p.standalone]
    civil = await search(http, field="ho tich")  # the field typed without marks
    assert civil["field"] == "Hộ tịch"
    assert {i["code"] for i in civil["items"]} == {
        p.code for p in standalone if p.field == "Hộ tịch"
    }
    birth = await search(http, q="khai sinh", field="Hộ tịch")
    assert [i["code"] for i in birth["items"]] == ["1.001193", "2.000986"]

    police = await search(http, agency="000.00.20.H99")
    assert (
        {i["code"] for i in police["items"]}
        == {p.code for p in standalone if p.competent_agency == "000.00.20.H99"}
        == {"3.000333", "9.000006"}
    )
    licence = await search(http, q="doi giay phep lai xe", agency="000.00.20.H99")
    assert [i["code"] for i in licence["items"]] == ["9.000006"]

    commune = await search(http, level="commune", page_size=50)
    assert commune["total"] == len([p for p in standalone if p.level == "commune"])
    assert {i["level"] for i in commune["items"]} == {"commune"}


async def test_pages_cover_the_catalog_once(api: Api, http: httpx.AsyncClient) -> None:
    first = await search(http, page_size=4)
    total = first["total"]
    assert total == len([p for p in api.catalog.latest() if p.standalone])
    assert first["pages"] == -(-total // 4)
    seen = []
    for n in range(1, first["pages"] + 1):
        seen += [i["code"] for i in (await search(http, page_size=4, page=n))["items"]]
    assert len(seen) == total == len(set(seen))
    past = await search(http, page_size=4, page=first["pages"] + 1)
    assert past["items"] == [] and past["total"] == total


async def test_bad_searches_are_answered_4xx_with_a_reason(
    api: Api, http: httpx.AsyncClient
) -> None:
    message = error_of(await http.get(SEARCH, params={"field": "khong co"}), 422, "invalid")
    assert "khong co" in message and "Hộ tịch" in message  # names the known fields
    message = error_of(await http.get(SEARCH, params={"agency": "000.99.99.H99"}), 422)
    assert "000.99.99.H99" in message
    error_of(await http.get(SEARCH, params={"page_size": 0}), 422)
    error_of(await http.get(SEARCH, params={"page": "x"}), 422)
    error_of(await http.get(SEARCH, params={"level": "district"}), 422)
    error_of(await http.get(SEARCH, params={"q": "a" * 201}), 422)
    # Nothing found is not an error.
    assert (await search(http, q="khong co thu tuc nay"))["items"] == []


async def test_officers_see_the_stand_in_codes_too(api: Api, http: httpx.AsyncClient) -> None:
    headers = api.headers(Role.INTAKE_OFFICER, CENTRE)
    listed = (await http.get("/v1/procedures", headers=headers)).json()
    marked = {p["code"] for p in listed if p["code_placeholder"]}
    assert marked == {f"9.00000{n}" for n in range(1, 7)}
    one = (await http.get("/v1/procedures/9.000006", headers=headers)).json()
    assert one["code_placeholder"] is True


@pytest.mark.parametrize("path", [SEARCH, "/ui/procedures"])
async def test_searches_are_limited_per_client_address(tmp_path: Path, path: str) -> None:
    """The API and the page share the limit; another address has its own. No Temporal is
    needed: a search reads only the catalog the API holds (the client connects lazily)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(engine)
    settings = settings_for(
        tmp_path,
        temporal_address=f"127.0.0.1:{find_free_port()}",
        rate_limit_per_minute=1000,
        rate_limit_search_per_minute=2,
        forwarded_allow_ips="127.0.0.1",
    )
    try:
        async with (
            api_serving(settings, None, engine, shipped_catalog()) as url,  # type: ignore[arg-type]
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):

            async def get(ip: str) -> httpx.Response:
                return await http.get(
                    path, params={"q": "khai sinh"}, headers={"X-Forwarded-For": ip}
                )

            assert (await get("203.0.113.7")).status_code == 200
            assert (await get("203.0.113.7")).status_code == 200
            limited = await get("203.0.113.7")
            assert limited.status_code == 429
            assert int(limited.headers["Retry-After"]) >= 1
            assert "lượt tìm kiếm thủ tục" in limited.text
            assert (await get("203.0.113.8")).status_code == 200
    finally:
        engine.dispose()
