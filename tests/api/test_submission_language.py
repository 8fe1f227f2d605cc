"""A submission refused for what it says is refused in the reader's language: Vietnamese
by default, English on `Accept-Language: en`, the code unchanged (issue 23)."""

from __future__ import annotations

import httpx

from api.routes.dossiers.submission import _invalid
from tests.api.support import Api, error_of
from tests.api.test_data_sources import birth, parents_ids

EN = {"Accept-Language": "en"}


async def test_a_consent_declaring_more_people_than_it_names_is_refused_in_both_languages(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("khai sinh thừa")
    mother, father = parents_ids()
    declared = [{"ho_ten": "Mẹ"}, {"ho_ten": "Cha"}, {"ho_ten": "Người thứ ba"}]
    body = birth(person, mother, father, *declared)
    headers = api.applicant(person)
    vi = error_of(await http.post("/v1/dossiers", json=body, headers=headers), 422, "invalid")
    assert "mỗi người trong subject_ids chỉ có tối đa một mục khai" in vi, vi
    en = error_of(await http.post("/v1/dossiers", json=body, headers=headers | EN), 422, "invalid")
    assert "declared: at most one entry per subject_ids" in en, en
    body = birth(person, mother, father, {f"truong_{i}": "x" for i in range(21)})
    vi = error_of(await http.post("/v1/dossiers", json=body, headers=headers), 422, "invalid")
    assert "mỗi người tối đa 20 trường" in vi, vi
    en = error_of(await http.post("/v1/dossiers", json=body, headers=headers | EN), 422, "invalid")
    assert "at most 20 fields of 500 characters per person" in en, en


def test_a_value_error_reaching_the_submission_is_said_from_the_catalogue() -> None:
    # A domain check's own English never reaches the reader: the catalogue's sentence does.
    text = _invalid(ValueError("sha256 must be 64 hex digits"))
    assert text.render("vi").startswith("Hồ sơ nộp không hợp lệ")
    assert text.render("en").startswith("the submission is not valid")
    assert "sha256" not in text.render("vi")
