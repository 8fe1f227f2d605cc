"""Finding a procedure as a citizen asks for it: by words of its name (typed with or without
marks: "cap phieu ly lich tu phap" finds "Cấp Phiếu lý lịch tư pháp"), its field, its
agency or its code, among the versions in force that a citizen files on their own (a
sub-procedure of a linked group is filed through its group).

Ranking, best first:
0. the query is the procedure's national code;
1. every word of the query is in the procedure's name (the query as a phrase first);
2. every word is in its name, field, agency or code;
3. some words: at least half of them, and at least half of what the query's words weigh
   (a word that few procedures use weighs more than "cấp" or "giấy"; one that none uses,
   the most); the more telling words matched first.
Within a rank the shorter name comes first (the plain procedure before a group naming
it). The last word of the query may be a word's beginning, as a citizen is still typing.

Hand-written, not a search engine: a province's catalog is some 2,000 short names that fit
in memory, and the rules above are the whole of what citizens need; the index is built
once per catalog (`CatalogSearch`), a query scans it in well under a millisecond per
hundred procedures.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.catalog import Agency, Catalog, Procedure
from domain.vietnamese import fold

WORD = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
MAX_QUERY_WORDS = 16
Level = Literal["province", "commune"]
Match = Literal["code", "name", "all", "partial", "browse"]
RANKS: dict[Match, int] = {"code": 0, "name": 1, "all": 2, "partial": 3, "browse": 4}


def words(text: str) -> list[str]:
    """The folded words of `text`, in order; a dotted number (a code) is one word."""
    return WORD.findall(fold(text))


@dataclass(frozen=True)
class Hit:
    procedure: Procedure
    match: Match  # how it matched (see the module docstring); "browse": no query
    matched: int  # query words found
    of: int  # query words


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


@dataclass(frozen=True)
class _Entry:
    procedure: Procedure
    name_words: tuple[str, ...]
    name_text: str  # " ".join(name_words), for phrase matching
    other_words: frozenset[str]  # field, competent agency's name, code
    field_key: str
    sort_key: tuple[str, str]


class CatalogSearch:
    """The search index of one catalog (build a new one when the catalog changes)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._in_force: tuple[date, list[Procedure]] | None = None
        self._entries: dict[tuple[str, int], _Entry] = {}
        document_frequency: dict[str, int] = {}
        for versions in catalog.procedures.values():
            for p in versions:
                agency = catalog.agencies.get(p.competent_agency)
                name_words = tuple(words(p.name))
                other = frozenset(words(p.field) + words(agency.name if agency else "") + [p.code])
                self._entries[(p.code, p.version)] = _Entry(
                    procedure=p,
                    name_words=name_words,
                    name_text=" ".join(name_words),
                    other_words=other,
                    field_key=" ".join(words(p.field)),
                    sort_key=(" ".join(words(p.field)), " ".join(name_words)),
                )
                for w in set(name_words) | other:
                    document_frequency[w] = document_frequency.get(w, 0) + 1
        n = max(1, len(self._entries))
        self._weight = {w: math.log(1 + n / df) for w, df in document_frequency.items()}

    # -- what a citizen can filter by ----------------------------------------------------

    def in_force(self, on: date) -> list[Procedure]:
        """The versions in force on `on` of the procedures a citizen files on their own
        (kept for the last day asked: a search, its filters and the page's lists ask alike)."""
        if self._in_force is not None and self._in_force[0] == on:
            return self._in_force[1]
        out = []
        for code in sorted(self.catalog.procedures):
            try:
                p = self.catalog.procedure(code, on)
            except KeyError:
                continue
            if p.standalone:
                out.append(p)
        self._in_force = (on, out)
        return out

    def fields(self, on: date) -> list[str]:
        """The fields (lĩnh vực) of the procedures in force, in alphabetical order."""
        names = {p.field for p in self.in_force(on)}
        return sorted(names, key=lambda f: (fold(f), f))

    def agencies(self, on: date) -> list[Agency]:
        """The agencies competent for a procedure in force, by name."""
        codes = {p.competent_agency for p in self.in_force(on)}
        found = [self.catalog.agencies[c] for c in codes if c in self.catalog.agencies]
        return sorted(found, key=lambda a: (fold(a.name), a.code))

    def field_named(self, text: str, on: date) -> str | None:
        """The field `text` names (marks and case aside), or None."""
        key = " ".join(words(text))
        return next((f for f in self.fields(on) if " ".join(words(f)) == key), None)

    # -- the search ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        on: date,
        field: str | None = None,
        agency: str | None = None,
        level: Level | None = None,
    ) -> list[Hit]:
        """Every procedure in force on `on` that matches, best first. `field` is a field's
        name (marks and case aside), `agency` the competent agency's code."""
        terms = list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]
        field_key = " ".join(words(field)) if field else None
        ranked: list[tuple[tuple[object, ...], Hit]] = []
        for p in self.in_force(on):
            entry = self._entries[(p.code, p.version)]
            if field_key is not None and entry.field_key != field_key:
                continue
            if agency is not None and p.competent_agency != agency:
                continue
            if level is not None and p.level != level:
                continue
            if not terms:
                hit = Hit(p, "browse", 0, 0)
                ranked.append(((RANKS["browse"], *entry.sort_key), hit))
                continue
            scored = self._score(entry, terms)
            if scored is not None:
                ranked.append(scored)
        ranked.sort(key=lambda pair: pair[0])
        return [hit for _, hit in ranked]

    def _score(self, entry: _Entry, terms: list[str]) -> tuple[tuple[object, ...], Hit] | None:
        p = entry.procedure
        n = len(terms)
        if n == 1 and terms[0] == p.code:
            return (RANKS["code"], p.code), Hit(p, "code", 1, 1)
        in_name = 0
        anywhere = 0
        weight = 0.0
        for i, term in enumerate(terms):
            typing = i == n - 1 and len(term) >= 2
            if self._has(entry.name_words, term, typing):
                in_name += 1
            elif not self._has(entry.other_words, term, typing):
                continue
            anywhere += 1
            weight += self._weight.get(term, 0.0)
        if in_name == n:
            match: Match = "name"
        elif anywhere == n:
            match = "all"
        elif anywhere * 2 >= n and weight * 2 >= self._query_weight(terms):
            match = "partial"
        else:
            return None
        phrase = " ".join(terms)
        as_phrase = 0 if (f" {entry.name_text} ".find(f" {phrase}") >= 0) else 1
        key = (RANKS[match], as_phrase, -weight, len(entry.name_words), entry.sort_key, p.code)
        return key, Hit(p, match, anywhere, n)

    def _query_weight(self, terms: list[str]) -> float:
        """What all of `terms` weigh; a word no procedure uses weighs the most."""
        most = math.log(1 + max(1, len(self._entries)))
        return sum(self._weight.get(t, most) for t in terms)

    @staticmethod
    def _has(haystack: tuple[str, ...] | frozenset[str], term: str, typing: bool) -> bool:
        if term in haystack:
            return True
        return typing and any(w.startswith(term) for w in haystack)


def paginate(hits: list[Hit], page: int, page_size: int) -> Page:
    """Page `page` (from 1) of `hits`, `page_size` a page; past the end: no hits."""
    start = (page - 1) * page_size
    return Page(
        hits=hits[start : start + page_size], total=len(hits), page=page, page_size=page_size
    )
