"""The market rules, on integer codes computed once per set of frames.

A market share row points at its market by ``market_id``, a long text key, and the four rules
over markets and their shares (the two sums, the holder kind, coverage, and the agreement of
a source's company and country splits) all group or join on it. Grouping and merging on text
is what made them slow at a million rows (hashing and carrying strings through every merge),
so ``MarketCodes`` encodes the keys once, in one dictionary for both tables (Arrow's
``dictionary_encode``), and every rule below works on those integers and on numpy arrays.

``MarketCodes.of(frames, markets, shares)`` memoises the codes on the frame set that
``_validate.check_frames`` builds (``FrameSet``), keyed by the identity of the two frames, so
the rules of both tables share one encoding; elsewhere (``cd.schema()`` handed to pandera) each
rule encodes for itself.

Semantics are those of the pandas code they replace (kept in ``tests/test_markets.py`` as the
oracle): a null ``market_id`` is a key of its own, as in a ``groupby(dropna=False)`` or a merge;
a duplicated ``market_id`` in ``markets`` gives its first row's tolerance and breakdown, as
``drop_duplicates`` did; sums are pandas group sums, so they add in the same order.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import as_arrow_text as _text
from ._columns import group_codes

__all__ = ["MARKET_SHARE_TOLERANCE", "REST_OF_MARKET", "COMPARED_SPLIT", "MarketCodes", "split_gaps"]

#: Shares of one market may sum to at most ``1 + MARKET_SHARE_TOLERANCE``; where a
#: rest-of-market row (holder ``other``) is present they must sum to within this of 1.
#: Published shares are rounded (to 0.1 or 1 percentage point each), so a market with a
#: dozen rounded holders can overshoot by about a point.
MARKET_SHARE_TOLERANCE = 0.015
REST_OF_MARKET = "other"
#: The markets columns that, equal, make a company split and a country split of one product-year.
COMPARED_SPLIT = ["chokepoint_id", "year", "period", "scope", "basis", "source_id"]  # a quarter is not a year
_SLACK = 1e-9  # float noise allowed in the split comparison
_BREAKDOWNS = {"company": 0, "country": 1}  # other values (enumeration errors) get 2, nulls -1
GAP_COLUMNS = ["market_id", "country_market_id", "country", "by_company", "by_country", "gap", "tolerance",
               "company_rest", "coverage"]


class FrameSet(dict):  # type: ignore[type-arg]
    """The frames of one validation, plus a memo the rules share (see ``MarketCodes.of``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memo: dict[Any, Any] = {}


def _encode(*columns: pd.Series) -> tuple[list[np.ndarray], pa.Array]:
    """One dictionary over several text columns: int64 codes per column, and the dictionary.

    A null gets the code ``len(dictionary)``, one past the last value, so that nulls group
    and join with each other as pandas does with ``dropna=False``.
    """
    arrays = [_text(c) for c in columns]
    # one hash table over all the columns, without copying them into one array first: Arrow
    # encodes the chunks of a chunked array against one dictionary, which every chunk carries
    encoded = pc.dictionary_encode(pa.chunked_array(arrays, type=pa.large_string()))
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary if encoded.num_chunks else pa.array([], pa.large_string())
    k = len(dictionary)
    codes = np.concatenate([np.zeros(0, np.int64), *(pc.fill_null(chunk.indices.cast(pa.int64()), k).to_numpy(zero_copy_only=False)
                                                     for chunk in encoded.chunks)])
    bounds = np.cumsum([0, *[len(a) for a in arrays]])
    return [codes[bounds[i]:bounds[i + 1]] for i in range(len(arrays))], dictionary


def _equals(s: pd.Series, value: str) -> np.ndarray:
    """``s == value`` as a numpy bool array, nulls False (a categorical compares its codes)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return (s == value).to_numpy(dtype=bool, na_value=False)
    return pc.fill_null(pc.equal(_text(s), pa.scalar(value, pa.large_string())), False).to_numpy(zero_copy_only=False)


def _pair_key(a: np.ndarray, b: np.ndarray, size_b: int) -> np.ndarray:
    """One int64 per (a, b) pair of non-negative codes, ``b < size_b``: a merge or group-by on
    one integer column instead of two."""
    return a.astype(np.int64) * size_b + b.astype(np.int64)


def _floats(s: pd.Series) -> np.ndarray:
    return s.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


def _first(codes: np.ndarray, k: int) -> np.ndarray:
    """Per code in ``range(k)``, the first position holding it, or -1."""
    first = np.full(k, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1, dtype=np.int64)
    return first


def _group_sum(values: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Per code in ``range(k)``, the sum of ``values`` (NaN skipped, 0 for none): pandas' group
    sum, which compensates rounding, so totals match the pandas rules to the last bit."""
    out = np.zeros(k, dtype="float64")
    if len(codes):
        sums = pd.Series(values).groupby(codes, sort=False).sum()
        out[sums.index.to_numpy(dtype=np.int64)] = sums.to_numpy(dtype="float64")
    return out


def _sorted_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) of non-negative int64 ``keys``, uniques ascending: ``pd.factorize(keys,
    sort=True)``. Where key and position fit in one int64 together, one plain sort of the
    packed pairs does it (numpy sorts integers several times faster than it hashes them)."""
    n = len(keys)
    shift = max(1, int(n).bit_length())
    if not n or int(keys.min()) < 0 or int(keys.max()).bit_length() + shift > 62:
        codes, uniques = pd.factorize(keys, sort=True)
        return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=np.int64)
    packed = np.sort((keys << shift) | np.arange(n, dtype=np.int64))
    ordered, at = packed >> shift, packed & ((1 << shift) - 1)
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    codes = np.empty(n, dtype=np.int64)
    codes[at] = np.cumsum(starts) - 1
    return codes, ordered[starts]


def _outer_join(left: pd.DataFrame, right: pd.DataFrame, on: str) -> pd.DataFrame:
    """``left.merge(right, on=on, how="outer")`` on a non-negative int64 key, the same frame
    (rows in key order). Where the key is unique on both sides, one sort of both keys places
    every row (a pandas outer merge of millions of rows hashes them several times over); else
    the merge itself."""
    lk, rk = left[on].to_numpy(dtype=np.int64), right[on].to_numpy(dtype=np.int64)
    codes, keys = _sorted_codes(np.concatenate([lk, rk]))
    at_l, at_r = codes[:len(lk)], codes[len(lk):]
    k = len(keys)
    if (np.bincount(at_l, minlength=k) > 1).any() or (np.bincount(at_r, minlength=k) > 1).any():
        return left.merge(right, on=on, how="outer", sort=False)
    out: dict[str, np.ndarray] = {}
    for frame, at in ((left, at_l), (right, at_r)):
        whole = len(at) == k  # every key has a row on this side: no NaN to add
        for col in frame.columns:
            if col == on:
                out[col] = keys
                continue
            values = frame[col].to_numpy()
            if whole:
                taken = np.empty(k, dtype=values.dtype)
            else:  # a key the other side has alone: NaN, as the merge gives
                taken = np.full(k, np.nan, dtype="float64" if values.dtype.kind in "iuf" else object)
            taken[at] = values
            out[col] = taken
    return pd.DataFrame(out, columns=[*left.columns, *[c for c in right.columns if c != on]])


class MarketCodes:
    """Integer codes for the market keys of one (markets, market_shares) pair, and what the
    market rules compute from them, each once."""

    def __init__(self, markets: pd.DataFrame | None, shares: pd.DataFrame) -> None:
        if markets is None or "market_id" not in markets.columns:
            markets = pd.DataFrame({"market_id": pd.Series([], dtype="string")})
        self.markets, self.shares = markets, shares
        (self.m_code, self.s_code), self.ids = _encode(markets["market_id"], shares["market_id"])
        self.k = len(self.ids) + 1  # the last code is the null key
        self.first_m = _first(self.m_code, self.k)
        self.countries = pa.array([], pa.large_string())  # set by gaps(): the dictionary of country codes
        self._gaps_of: tuple[pd.DataFrame, pd.DataFrame] | None = None

    @classmethod
    def of(cls, frames: Mapping[str, pd.DataFrame], markets: pd.DataFrame | None, shares: pd.DataFrame) -> "MarketCodes":
        """The codes of this pair, memoised on ``frames`` when it is a ``FrameSet``."""
        memo = getattr(frames, "memo", None)
        if memo is None:
            return cls(markets, shares)
        key = ("markets", id(markets), id(shares))
        hit = memo.get(key)
        if hit is None or hit.markets is not markets and markets is not None or hit.shares is not shares:
            hit = memo[key] = cls(markets, shares)
        return hit

    def _market_column(self, name: str) -> pd.Series | None:
        return self.markets[name] if name in self.markets.columns else None

    # --- per share row -------------------------------------------------------------------

    @functools.cached_property
    def share(self) -> np.ndarray:
        return _floats(self.shares["share"])

    @functools.cached_property
    def is_rest(self) -> np.ndarray:
        return _equals(self.shares["holder"], REST_OF_MARKET)

    # --- per code -----------------------------------------------------------------------

    @functools.cached_property
    def total(self) -> np.ndarray:
        """Per market code, the sum of its shares."""
        return _group_sum(self.share, self.s_code, self.k)

    @functools.cached_property
    def rows(self) -> np.ndarray:
        """Per market code, how many share rows it has."""
        return np.bincount(self.s_code, minlength=self.k)

    @functools.cached_property
    def has_rest(self) -> np.ndarray:
        return np.bincount(self.s_code[self.is_rest], minlength=self.k) > 0

    @functools.cached_property
    def tolerance(self) -> np.ndarray:
        """Per market code, the first market row's sum_tolerance, or the default."""
        column = self._market_column("sum_tolerance")
        out = np.full(self.k, MARKET_SHARE_TOLERANCE)
        if column is not None:
            own = _floats(column)
            found = self.first_m >= 0
            picked = own[self.first_m[found]]
            out[found] = np.where(np.isnan(picked), MARKET_SHARE_TOLERANCE, picked)
        return out

    @functools.cached_property
    def breakdown(self) -> np.ndarray:
        """Per market code, the first market row's breakdown: 0 company, 1 country, 2 another
        value, -1 null or no market row."""
        column = self._market_column("breakdown")
        out = np.full(self.k, -1, dtype=np.int64)
        if column is not None:
            kinds = self.breakdown_rows
            found = self.first_m >= 0
            out[found] = kinds[self.first_m[found]]
        return out

    @functools.cached_property
    def breakdown_rows(self) -> np.ndarray:
        """Per market row, its breakdown coded as in ``breakdown``."""
        column = self._market_column("breakdown")
        if column is None:
            return np.full(len(self.markets), -1, dtype=np.int64)
        out = np.where(column.isna().to_numpy(dtype=bool), -1, 2)
        for value, code in _BREAKDOWNS.items():
            out[_equals(column, value)] = code
        return out.astype(np.int64)

    # --- the rules ------------------------------------------------------------------------

    def resolves(self) -> np.ndarray:
        """Per share row: its market_id is null or names a market (the foreign key)."""
        return (self.s_code == self.k - 1) | (self.first_m[self.s_code] >= 0)

    def sum_ok(self) -> np.ndarray:
        """Per share row: its market's total is at most 1 + the market's tolerance."""
        at = self.s_code
        with np.errstate(invalid="ignore"):
            return ~(self.total[at] > 1 + self.tolerance[at])

    def rest_ok(self) -> np.ndarray:
        """Per share row: a market with a rest-of-market row sums to 1 within its tolerance."""
        at = self.s_code
        with np.errstate(invalid="ignore"):
            off = ~(np.abs(self.total[at] - 1) <= self.tolerance[at]) & ~np.isnan(self.total[at])
        return ~(self.has_rest[at] & off)

    def holder_ok(self, company_ids: pa.Array, country_codes: pa.Array) -> np.ndarray:
        """Per share row: the holder is of the kind its market's breakdown names."""
        holder = _text(self.shares["holder"])
        kind = self.breakdown[self.s_code]
        is_company = pc.fill_null(pc.is_in(holder, value_set=company_ids), False).to_numpy(zero_copy_only=False)
        is_country = pc.fill_null(pc.is_in(holder, value_set=country_codes), False).to_numpy(zero_copy_only=False)
        null = pc.is_null(holder).to_numpy(zero_copy_only=False)
        return null | self.is_rest | (kind == -1) | ((kind == 0) & is_company) | ((kind == 1) & is_country)

    def coverage_ok(self) -> np.ndarray:
        """Per market row: it has share rows, and if marked complete they sum to 1 within its
        own tolerance."""
        at = self.m_code
        total = np.where(at == self.k - 1, np.nan, self.total[at])  # null ids have no shares
        has_rows = (self.rows[at] > 0) & ~np.isnan(total) & (at != self.k - 1)
        column = self._market_column("sum_tolerance")
        tol = _floats(column) if column is not None else np.full(len(at), np.nan)
        tol = np.where(np.isnan(tol), MARKET_SHARE_TOLERANCE, tol)
        coverage = self._market_column("coverage")
        complete = _equals(coverage, "complete") if coverage is not None else np.zeros(len(at), bool)
        with np.errstate(invalid="ignore"):
            return has_rows & (~complete | (np.abs(total - 1) <= tol))

    # --- company split against country split ---------------------------------------------

    def gaps(self, companies: pd.DataFrame) -> pd.DataFrame:
        """``split_gaps`` on codes: market and country columns hold integer codes
        (``market``/``country_market`` index ``ids``, ``country`` indexes ``countries``)."""
        cached = self._gaps_of
        if cached is None or cached[0] is not companies:
            cached = self._gaps_of = (companies, self._gaps(companies))
        return cached[1]

    def _gaps(self, companies: pd.DataFrame) -> pd.DataFrame:
        m, s = self.markets, self.shares
        n_m = len(m)
        split = group_codes(m, [c for c in COMPARED_SPLIT if c in m.columns]) if n_m else np.zeros(0, np.int64)
        kind = self.breakdown_rows
        own_tol = _floats(m["sum_tolerance"]) if "sum_tolerance" in m.columns else np.full(n_m, np.nan)
        complete = _equals(m["coverage"], "complete") if "coverage" in m.columns else np.zeros(n_m, bool)
        # countries: company holders through companies.country, country holders as they are
        (holder_code, country_code), self.countries = _encode(s["holder"], companies["country"])
        company_row = pc.index_in(_text(s["holder"]), value_set=_text(companies["company_id"]))
        company_row = pc.fill_null(company_row.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
        country_of_holder = np.append(country_code, len(self.countries))[company_row]  # -1 (no company): null
        # share rows (named holders) joined to every market row with their market_id
        named = np.flatnonzero(~self.is_rest & ~pc.is_null(_text(s["holder"])).to_numpy(zero_copy_only=False))
        unique = int((self.first_m >= 0).sum()) == n_m  # each market_id on one row (the primary key holds)
        if unique:  # a lookup, not a merge
            found = self.first_m[self.s_code[named]]
            srow, mrow = named[found >= 0], found[found >= 0]
        else:
            joined = pd.DataFrame({"code": self.s_code[named], "srow": named}).merge(
                pd.DataFrame({"code": self.m_code, "mrow": np.arange(n_m)}), on="code", how="inner", sort=False)
            srow, mrow = joined["srow"].to_numpy(), joined["mrow"].to_numpy()
        on_company, on_country = kind[mrow] == 0, kind[mrow] == 1
        n_country = len(self.countries) + 1
        market, country = self.m_code[mrow[on_company]], country_of_holder[srow[on_company]]
        by_company = pd.Series(self.share[srow[on_company]])
        if unique:  # a market has one split: group by (market, country) as one integer
            summed = by_company.groupby(_pair_key(market, country, n_country), sort=False).sum()
            key = summed.index.to_numpy(dtype=np.int64)
            comp = pd.DataFrame({"market": key // n_country, "country": key % n_country,
                                 "by_company": summed.to_numpy(dtype="float64")})
        else:
            comp = by_company.groupby([split[mrow[on_company]], market, country], sort=False).sum().rename("by_company")
            comp = comp.reset_index().rename(columns={"level_1": "market", "level_2": "country"})
        ctry = pd.DataFrame({"country_market": self.m_code[mrow[on_country]], "country": holder_code[srow[on_country]],
                             "by_country": self.share[srow[on_country]]})
        # pairs: a company market and a country market of one source, product and year
        rows_c, rows_k = np.flatnonzero(kind == 0), np.flatnonzero(kind == 1)
        pairs = pd.DataFrame({"split": split[rows_c], "market": self.m_code[rows_c], "complete": complete[rows_c],
                              "company_tol": own_tol[rows_c]}).merge(
            pd.DataFrame({"split": split[rows_k], "country_market": self.m_code[rows_k], "country_tol": own_tol[rows_k]}),
            on="split", sort=False)
        if pairs.empty:
            return pd.DataFrame({c: pd.Series([], dtype="float64") for c in
                                 ["market", "country_market", "country", "by_company", "by_country", "gap",
                                  "tolerance", "company_rest", "complete"]})
        keyed = comp[["market", "country", "by_company"]].merge(pairs[["market", "country_market"]], on="market", sort=False)
        keyed["cell"] = _pair_key(keyed["country_market"].to_numpy(), keyed["country"].to_numpy(), n_country)
        ctry["cell"] = _pair_key(ctry["country_market"].to_numpy(), ctry["country"].to_numpy(), n_country)
        rows = _outer_join(keyed.drop(columns=["country_market", "country"]), ctry, "cell")
        rows["country_market"] = rows["cell"] // n_country
        rows["country"] = rows["cell"] % n_country
        rows = rows.drop(columns=["cell"])
        # a country row no company row met: its company market through the pair, if any
        company_of = pairs.drop_duplicates("country_market").set_index("country_market")["market"]
        lone = rows["market"].isna()
        if lone.any():
            rows.loc[lone, "market"] = rows.loc[lone, "country_market"].map(company_of)
        rows = rows[rows["market"].notna()].astype({"market": np.int64, "country_market": np.int64})
        # each row takes the tolerances of its own pair (a company market may meet two country
        # markets when their ids do not follow their columns; 0.2.0 mixed their tolerances up)
        pair = pairs[["market", "country_market", "complete", "company_tol", "country_tol"]].drop_duplicates(["market", "country_market"])
        pair_key = _pair_key(pair["market"].to_numpy(), pair["country_market"].to_numpy(), self.k)
        at = pd.Index(pair_key).get_indexer(_pair_key(rows["market"].to_numpy(), rows["country_market"].to_numpy(), self.k))
        for col in ("complete", "company_tol", "country_tol"):
            values = pair[col].to_numpy()
            rows[col] = np.where(at >= 0, values[np.maximum(at, 0)], np.nan if col != "complete" else False)
        rows["by_company"] = rows["by_company"].astype("float64").fillna(0.0)
        rows["by_country"] = rows["by_country"].astype("float64").fillna(0.0)
        rows["gap"] = rows["by_company"] - rows["by_country"]
        rest = _group_sum(self.share[self.is_rest], self.s_code[self.is_rest], self.k)
        rest[self.k - 1] = 0.0  # a null market_id has no rest-of-market lump (pandas drops null keys)
        rows["company_rest"] = rest[rows["market"].to_numpy()]
        rows["tolerance"] = np.maximum(rows["company_tol"].fillna(MARKET_SHARE_TOLERANCE).to_numpy(dtype="float64"),
                                       rows["country_tol"].fillna(MARKET_SHARE_TOLERANCE).to_numpy(dtype="float64"))
        rows["complete"] = rows["complete"].fillna(False).astype(bool)
        return rows.drop(columns=["company_tol", "country_tol"])

    def agree_ok(self, companies: pd.DataFrame) -> np.ndarray:
        """Per market row: its company split agrees with the same source's country split.

        A country's firms never exceed the country's share. They may fall short of it by at
        most the company split's rest-of-market lump (the unnamed firms sit there), and only
        a complete company split bounds the shortfall at all.
        """
        rows = self.gaps(companies)
        if rows.empty:
            return np.ones(len(self.markets), dtype=bool)
        gap, tol = rows["gap"].to_numpy(), rows["tolerance"].to_numpy()
        short = -gap > tol + rows["company_rest"].to_numpy() + _SLACK
        bad = (gap > tol + _SLACK) | (rows["complete"].to_numpy(dtype=bool) & short)
        flagged = np.zeros(self.k, dtype=bool)
        flagged[rows["market"].to_numpy(dtype=np.int64)[bad]] = True
        return ~flagged[self.m_code]


def split_gaps(markets: pd.DataFrame, shares: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    """Where one source splits one product-year both by company and by country: per country, the
    company split summed by headquarters country against the country split.

    Returns one row per (company market, country) with ``by_company``, ``by_country``, ``gap``
    (by_company - by_country), ``tolerance`` (the larger of the two markets' tolerances) and
    ``company_rest`` (the company split's rest-of-market share, where the unnamed firms sit).
    The rest-of-market rows are left out of both sides.
    """
    codes = MarketCodes(markets, shares)
    rows = codes.gaps(companies)
    ids = np.array([*codes.ids.to_pylist(), None], dtype=object)  # the last code is null
    countries = np.array([*codes.countries.to_pylist(), None], dtype=object)
    coverage = markets["coverage"].astype("object").to_numpy() if "coverage" in markets.columns else None
    market = rows["market"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({
        "market_id": pd.array(ids[market], dtype="string"),
        "country_market_id": pd.array(ids[rows["country_market"].to_numpy(dtype=np.int64)], dtype="string"),
        "country": pd.array(countries[rows["country"].to_numpy(dtype=np.int64)], dtype="string"),
        **{c: rows[c].to_numpy(dtype="float64") for c in ["by_company", "by_country", "gap", "tolerance", "company_rest"]},
        "coverage": coverage[codes.first_m[market]] if coverage is not None and len(rows) else pd.NA,
    })
    return out[GAP_COLUMNS]


def market_id_codes(frames: Mapping[str, pd.DataFrame], table: str, d: pd.DataFrame,
                    column: str) -> tuple[np.ndarray, int] | None:
    """Codes of the market_id column of ``d`` (markets or market_shares, inside validate(): a
    ``FrameSet`` holding both) from the shared market codes, as ``_columns._codes_of`` gives
    codes (equal ids share a code, nulls share one): the uniqueness checks need not hash the
    ids again. None for any other column or table, or elsewhere."""
    if (getattr(frames, "memo", None) is None or column != "market_id" or "market_id" not in d.columns
            or frames.get("markets") is None or frames.get("market_shares") is None):
        return None
    if table == "market_shares":
        codes = MarketCodes.of(frames, frames.get("markets"), d)
        return codes.s_code, codes.k
    if table == "markets" and "market_id" in frames["market_shares"].columns:
        codes = MarketCodes.of(frames, d, frames.get("market_shares"))
        return codes.m_code, codes.k
    return None


def market_key_resolves(frames: Mapping[str, pd.DataFrame], d: pd.DataFrame, fields: list[str], ref_table: str,
                        ref_fields: list[str]) -> np.ndarray | None:
    """The foreign key market_shares.market_id -> markets.market_id from the shared market
    codes, inside validate() (a ``FrameSet``); None for any other key, or elsewhere."""
    if (getattr(frames, "memo", None) is None or fields != ["market_id"] or ref_table != "markets"
            or ref_fields != ["market_id"] or frames.get("markets") is None or "market_id" not in d.columns):
        return None
    return MarketCodes.of(frames, frames.get("markets"), d).resolves()
