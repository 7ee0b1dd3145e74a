"""Validation at scale: validate() on large generated frames, as times and ratios in one run.

    python benchmarks/scale.py [--max-rows 1000000] [--tables market_shares,indicators,sources]
                               [--repeat 3] [--bad 0.01] [--no-pandera]
    python benchmarks/scale.py --memory 10000000 [--tables indicators]

For each table and size (1e4, 1e5, 1e6, and 1e7 with ``--max-rows 10000000``) it builds a
valid frame from the shipped data (see ``generate``), and prints:

- the median time of ``validate({table: frame})`` (every other table comes from the
  shipped data, so foreign keys resolve),
- the ratio to the previous size (10x more rows; the target is at most 12x),
- the ratio to a plain pandera schema with equivalent column checks on the same frame
  (dtype, nullability, enumerations, ranges, patterns, lengths, no control characters or
  surrounding white space in text, primary-key uniqueness, foreign keys as ``isin`` and, for
  market shares, the group-sum check),
- the same frame with a fraction ``--bad`` of its cells broken (default 1%): the time of
  ``validate()`` until it raises (its ``failures`` are made into ``Failure`` objects as
  they are read, which is not timed), the ratio to the valid frame, and whether every broken
  cell was reported,
- the peak resident memory of the process so far (the generated frames included; for what
  validating alone costs, ``--memory ROWS`` validates in a fresh process that reads the rows
  from Parquet, as a user would, and prints what the frames hold and the process's peak),

and, once, the cost of ``import chokepoint_data`` as a ratio to ``python -c pass`` (cold
processes, median of several). Times are wall-clock on whatever machine runs it: read the
ratios, and note the load on the machine when you quote absolute times.

Generation derives everything from the Table Schema and the shipped frames: a table is cut
into *units* (rows that must stay together: a whole market for market shares, one row
elsewhere) and each unit is replicated with new values drawn, without repeating a key, from
the pools its varied columns allow (the schema's enumeration or integer range, the ids of
the table a foreign key points at, ISO codes, or fresh ids). Adapting it to a changed
table means editing its entry in ``SPECS``.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

import chokepoint_data as cd
from chokepoint_data.store import _loader

WEAK_KINDS = ("aggregator", "blog")


# --- generation ------------------------------------------------------------------------

def _fields(table: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in _loader.table_schema(table)["fields"]}


def _fk_target(table: str, column: str) -> tuple[str, str] | None:
    for fk in _loader.table_schema(table).get("foreignKeys", []):
        if fk["fields"] == [column]:
            ref = fk["reference"]
            return ref.get("resource") or table, ref["fields"][0]
    return None


def pool(table: str, column: str) -> list[Any]:
    """Every value a column may take, from its declaration: enumeration, integer range,
    foreign-key target ids (sources strong enough for any grade), or ISO 3166 codes."""
    f = _fields(table)[column]
    c = f.get("constraints", {})
    if "enum" in c:
        return list(c["enum"])
    if f["type"] == "integer" and "minimum" in c and "maximum" in c:
        return list(range(int(c["minimum"]), int(c["maximum"]) + 1))
    target = _fk_target(table, column)
    if target is not None:
        ref_table, ref_col = target
        ref = cd.load(ref_table)
        if ref_table == "sources":  # any confidence grade stays valid (grade_fits_source)
            ref = ref[~ref["kind"].isin(WEAK_KINDS) & (ref["relays"] != True).fillna(True)]  # noqa: E712 (relays: medium at most)
        return sorted(ref[ref_col].astype(str))
    if c.get("pattern") == "^[A-Z]{3}$":
        import pycountry

        return sorted(c.alpha_3 for c in pycountry.countries)
    raise ValueError(f"no pool for {table}.{column}: give one in SPECS")


@dataclass
class Spec:
    """How to grow a table: rows sharing ``unit`` stay together; ``vary`` columns get new
    values from their pools (key-distinct within each group of the other unit columns);
    ``fresh`` columns get new unique ids (``<old>-r<n>``); ``keep_shipped`` puts the
    shipped rows first (needed where other tables point at this one)."""

    unit: Sequence[str]
    vary: Sequence[str] = ()
    fresh: Sequence[str] = ()
    keep_shipped: bool = False
    pools: dict[str, list[Any]] = field(default_factory=dict)


MARKET_KEY = ["chokepoint_id", "year", "scope", "basis", "breakdown", "source_id"]  # makes market_id
SPLIT = ["chokepoint_id", "year", "scope", "basis", "source_id"]  # a source's company and country splits
SPECS: dict[str, Spec] = {
    # a market moves with its twin split (company and country) of the same product, year and
    # source, so the split-agreement rule holds; its share rows follow it (see generate_set)
    "markets": Spec(unit=SPLIT, vary=["year", "source_id", "scope", "basis", "chokepoint_id"]),
    # series (chokepoint_id, geo, metric) stay in one product scope: product_scope is fixed per
    # (chokepoint_id, metric) in the shipped data and those two columns are not varied
    # (the shipped rows stay, because claim_evidence cites them; copies that would repeat a
    # shipped key are left out)
    "indicators": Spec(unit=["chokepoint_id", "geo", "metric", "year", "source_id"], vary=["year", "source_id", "geo"],
                       keep_shipped=True),
    # the shipped rows (other tables cite them) plus copies under new ids: wide text
    # (url and title made unique too, so that no check can profit from repeated text)
    "sources": Spec(unit=["source_id"], fresh=["source_id", "url", "title"], keep_shipped=True),
}
#: Tables generated together with the one named: (parent table, child table, key column).
CHILDREN = {"market_shares": ("markets", "market_id")}


def _preferred_rivals(markets: pd.DataFrame) -> pd.DataFrame:
    """Grown markets copy their rivals' columns: mark the first of each group of rivals preferred,
    with a reason, and the others not (rules one_preferred, preference_reason)."""
    from chokepoint_data.rules._preferred import RIVALS

    cols = [c for c in RIVALS if c in markets.columns]
    if "preferred" not in markets.columns or not cols:
        return markets
    size = markets.groupby(cols, observed=True, dropna=False, sort=False)[cols[0]].transform("size")
    first = ~markets.duplicated(cols, keep="first")
    rivalled = (size > 1).to_numpy(dtype=bool)
    out = markets.copy()
    out["preferred"] = pd.array(np.where(rivalled, first.to_numpy(dtype=bool), markets["preferred"].to_numpy(dtype=object)),
                                dtype=markets["preferred"].dtype)
    reason = out["preference_reason"].astype(object).to_numpy().copy()
    reason[rivalled & first.to_numpy(dtype=bool)] = "benchmark: the first of its rivals"
    out["preference_reason"] = pd.array(reason, dtype=markets["preference_reason"].dtype)
    return out


def generate_set(table: str, n_rows: int, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The frames to validate for ``table`` at about ``n_rows`` rows of it: the table itself,
    and for a child table (market shares) its parent grown alongside (markets)."""
    if table not in CHILDREN:
        frame = generate(table, n_rows, seed=seed)
        return {table: _preferred_rivals(frame) if table == "markets" else frame}
    parent, key = CHILDREN[table]
    child = cd.load(table)
    per_parent = len(child) / max(1, child[key].nunique())
    grown = generate(parent, int(n_rows / per_parent), seed=seed, keep_key=key)
    origin = grown.pop("_origin_" + key)
    grown[key] = pd.array(grown[MARKET_KEY[0]].astype(str).str.cat([grown[c].astype(str) for c in MARKET_KEY[1:]], sep=":"),
                          dtype=child[key].dtype)
    pairs = pd.DataFrame({"_old": origin.to_numpy(), "_new": grown[key].to_numpy()})
    rows = pairs.merge(child.astype({key: object}), left_on="_old", right_on=key, how="inner", sort=False)
    rows[key] = pd.array(rows["_new"].to_numpy(), dtype=child[key].dtype)
    if parent == "markets":
        grown = _preferred_rivals(grown)
    return {parent: grown, table: rows[list(child.columns)].astype(child.dtypes.to_dict()).reset_index(drop=True)}


def generate(table: str, n_rows: int, *, seed: int = 0, keep_key: str | None = None) -> pd.DataFrame:
    """A valid frame of about ``n_rows`` rows (whole units only) typed as ``load()`` types it.

    ``keep_key`` keeps each row's original value of that column as ``_origin_<column>``.
    """
    spec = SPECS[table]
    base = cd.load(table)
    rng = np.random.default_rng(seed)
    unit_id = base.groupby(list(spec.unit), observed=True, dropna=False, sort=False).ngroup().to_numpy()
    order = np.argsort(unit_id, kind="stable")
    sizes = np.bincount(unit_id)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_units = len(sizes)
    shipped_rows = len(base) if spec.keep_shipped else 0
    # replicas: cycle over the units (shuffled) until the rows are there
    per_cycle = int(sizes.sum())
    cycles = max(1, -(-max(0, n_rows - shipped_rows) // per_cycle))
    replica_unit = np.concatenate([rng.permutation(n_units) for _ in range(cycles)])
    cum = np.cumsum(sizes[replica_unit])
    replica_unit = replica_unit[: int(np.searchsorted(cum, n_rows - shipped_rows, side="left")) + 1]
    # rows: each replica expands to its unit's rows
    lens = sizes[replica_unit]
    row_starts = np.repeat(starts[replica_unit], lens)
    within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    rows = order[row_starts + within]
    out = base.iloc[rows].reset_index(drop=True)
    if keep_key is not None:
        out["_origin_" + keep_key] = out[keep_key].astype(object)
    replica_of_row = np.repeat(np.arange(len(replica_unit)), lens)
    if spec.vary:
        fixed = [c for c in spec.unit if c not in spec.vary]
        fixed_group = base.groupby(fixed, observed=True, dropna=False, sort=False).ngroup().to_numpy() if fixed else np.zeros(len(base), int)
        unit_fixed = np.zeros(n_units, dtype=np.int64)
        unit_fixed[unit_id] = fixed_group
        slot = pd.Series(unit_fixed[replica_unit]).groupby(unit_fixed[replica_unit]).cumcount().to_numpy()
        pools = {c: spec.pools.get(c) or pool(table, c) for c in spec.vary}
        capacity = int(np.prod([len(p) for p in pools.values()], dtype=np.float64))
        if slot.max() >= capacity:
            raise ValueError(f"{table}: {n_rows} rows need more key space than {spec.vary} give ({capacity} per group)")
        rest = slot.copy()
        for col in spec.vary:
            values = np.asarray(pools[col], dtype=object)
            pick = rest % len(values)
            rest //= len(values)
            out[col] = pd.array(values[pick][replica_of_row], dtype=out[col].dtype if not isinstance(out[col].dtype, pd.CategoricalDtype) else object)
            if isinstance(base[col].dtype, pd.CategoricalDtype):
                out[col] = out[col].astype(base[col].dtype)
    for col in spec.fresh:  # ids stay slugs, URLs stay URLs
        suffix = pd.Series(replica_of_row, dtype="int64").astype(str)
        sep = "#r" if col == "url" else (" r" if col == "title" else "-r")
        out[col] = (out[col].astype(str) + sep + suffix).astype(base[col].dtype)
    if spec.keep_shipped:
        out = pd.concat([base, out], ignore_index=True)
        pk = list(_loader.table_schema(table).get("primaryKey") or [])
        if spec.vary and pk:  # a copy whose key is a shipped row's key is dropped (rows are units here)
            out = out[~out.duplicated(subset=pk, keep="first")].reset_index(drop=True)
    return out


# --- the plain pandera schema to compare with ------------------------------------------

def plain_pandera(table: str, frames: dict[str, pd.DataFrame]):
    """A plain pandera schema with the column checks a user would write for this table:
    dtypes, nullability, enumerations, ranges, patterns, lengths, primary-key uniqueness,
    foreign keys as ``isin`` against the shipped ids, the market group sum, and on every free
    text column the two checks validate() makes of every text cell (no control characters,
    no white space around it)."""
    import pandera.pandas as pa

    sch = _loader.table_schema(table)
    frame = frames[table]
    columns = {}
    for f in sch["fields"]:
        c = f.get("constraints", {})
        checks = []
        if "enum" in c:
            checks.append(pa.Check.isin(c["enum"]))
        if "minimum" in c:
            checks.append(pa.Check.ge(c["minimum"]))
        if "maximum" in c:
            checks.append(pa.Check.le(c["maximum"]))
        if "pattern" in c:
            checks.append(pa.Check.str_matches(c["pattern"]))
        if "maxLength" in c:
            checks.append(pa.Check.str_length(max_value=c["maxLength"]))
        if f["type"] == "string" and "enum" not in c:  # the text hygiene validate() applies to every text cell
            from chokepoint_data.rules._text import MULTILINE

            allowed = r"\x00-\x08\x0b-\x1f" if f["name"] in MULTILINE else r"\x00-\x1f"
            checks.append(pa.Check.str_matches(rf"^[^{allowed}\x7f-\x9f]*$"))  # no control characters
            checks.append(pa.Check(lambda s: s.str.strip() == s, element_wise=False))  # no white space around
        target = _fk_target(table, f["name"])
        if target is not None and target[0] != table:
            ref = frames[target[0]] if target[0] in frames else cd.load(target[0])
            checks.append(pa.Check.isin(ref[target[1]].dropna().unique()))
        columns[f["name"]] = pa.Column(frame[f["name"]].dtype, nullable=not c.get("required", False), checks=checks)
    frame_checks = []
    if table == "market_shares":
        # (a market may declare a tolerance up to 0.5: the bound here is that maximum)
        frame_checks.append(pa.Check(lambda d: d.groupby("market_id", observed=True)["share"].transform("sum") <= 1.5))
    return pa.DataFrameSchema(columns, checks=frame_checks, unique=list(sch.get("primaryKey") or []), strict=True)


# --- bad cells -------------------------------------------------------------------------------

def break_cells(table: str, frame: pd.DataFrame, fraction: float, *, seed: int = 1) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """A copy of ``frame`` with ``fraction`` of its cells broken, each in a way some rule
    must report at that cell: a control character in text, an unknown category, a number
    out of range or infinite, a required value removed. Returns the frame and the cells."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    fields = _fields(table)
    breakable = [c for c in frame.columns if _breaker(fields[c]) is not _NO_BREAK]
    n_cells = int(round(fraction * len(frame) * len(frame.columns)))
    flat = rng.choice(len(frame) * len(breakable), size=n_cells, replace=False)
    rows, cols = flat // len(breakable), flat % len(breakable)
    broken = []
    for j, col in enumerate(breakable):
        at = np.sort(rows[cols == j])
        if not len(at):
            continue
        value = _breaker(fields[col])
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].cat.add_categories([value])
        series = out[col].copy()
        if value == "bad\x1bcell":  # one value per cell, so broken keys do not merge groups
            series.iloc[at] = pd.array([f"bad\x1b{r}" for r in at], dtype=series.dtype)
        else:
            series.iloc[at] = value
        out[col] = series
        broken += [(int(r), col) for r in at]
    return out, broken


def _breaker(field: dict[str, Any]) -> Any:
    c = field.get("constraints", {})
    kind = field["type"]
    if kind == "string":
        return "not-one-of-them" if "enum" in c else "bad\x1bcell"
    if kind == "integer" and "minimum" in c:
        return int(c["minimum"]) - 1000
    if kind == "number":
        return float("inf")
    if c.get("required"):
        return None  # a required value removed
    return _NO_BREAK


_NO_BREAK = object()  # no value this column's rules are sure to refuse


# --- measuring --------------------------------------------------------------------------------

def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def failures_of(frames: dict[str, pd.DataFrame]) -> "cd.Failures | tuple[()]":
    """What validate() reports: its ``failures`` (a lazy sequence: reading them all is the
    caller's cost, not validate()'s, so the timed call stops at the raised error)."""
    try:
        cd.validate(frames)
    except cd.ValidationError as exc:
        return exc.failures
    return ()


def cells_reported(failures: Any, table: str) -> set[tuple[Any, str]]:
    """(row, column) of every failure of ``table``, read column-wise from the blocks."""
    seen: set[tuple[Any, str]] = set()
    for part in (failures.parts() if hasattr(failures, "parts") else failures):
        if part.table == table:
            rows = [part.row] if isinstance(part, cd.Failure) else part.rows
            seen.update((row, part.column) for row in rows)
    return seen


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_ratio(runs: int = 15) -> tuple[float, float, float]:
    """Median wall time of a cold ``python -c 'import chokepoint_data'`` against ``python -c pass``.

    The package is byte-compiled first, as ``pip install`` does: where Python may not write
    ``__pycache__`` (PYTHONDONTWRITEBYTECODE) an editable checkout would otherwise be compiled
    at every import, which measures the compiler, not the import."""
    import compileall
    from pathlib import Path

    compileall.compile_dir(str(Path(cd.__file__).parent), quiet=1)
    bare, ours = [], []
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        for code, sink in (("pass", bare), ("import chokepoint_data", ours)):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            sink.append(time.perf_counter() - start)
    b, o = statistics.median(bare), statistics.median(ours)
    return b, o, o / b


_MEMORY_CHILD = """
import os, sys, threading, time
from pathlib import Path
import chokepoint_data as cd

folder, form = Path(sys.argv[1]), sys.argv[2]
def status(field):  # VmHWM: this process's peak (ru_maxrss would carry the parent's over fork)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024
cd.validate()  # warm: descriptor, shipped frames
before = status("VmRSS")
if form == "pandas":  # pandas frames read from Parquet: every cell in this process's own memory
    import pandas as pd
    frames = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
else:  # Arrow IPC, memory-mapped: the cells stay in the file's pages, which the kernel may drop and read again
    import pyarrow as pa
    frames = {}
    for p in folder.glob("*.arrow"):
        with open(p, "rb") as f:  # out of the page cache, so that reading it counts against this process's limit
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        frames[p.stem] = pa.ipc.open_file(pa.memory_map(str(p))).read_all()
held = status("VmRSS")
peak_anon, done = [status("RssAnon")], threading.Event()
def sample():  # the kernel keeps no peak of anonymous memory: sample it
    while not done.wait(0.005):
        peak_anon[0] = max(peak_anon[0], status("RssAnon"))
sampler = threading.Thread(target=sample)
sampler.start()
start = time.perf_counter()
cd.validate(frames)
took = time.perf_counter() - start
done.set()
sampler.join()
rows = sum(len(f) for f in frames.values())
print(f"{rows} {held - before:.0f} {held:.0f} {peak_anon[0]:.0f} {status('VmHWM'):.0f} {took:.2f}")
"""


def _memory_limit(limit_bytes: int) -> tuple[Callable[[], None] | None, Callable[[], str], str]:
    """A new memory cgroup limited to ``limit_bytes`` (anonymous memory and page cache, no
    swap): (a function that moves the calling process into it, one that reads its peak and
    removes it, and why there is none). Needs root and a writable cgroup memory controller."""
    import os

    name = f"chokepoint-bench-{os.getpid()}"
    v2, v1 = Path("/sys/fs/cgroup/cgroup.controllers"), Path("/sys/fs/cgroup/memory")
    if v2.exists() and "memory" in v2.read_text().split():
        group, peak_file = Path("/sys/fs/cgroup") / name, "memory.peak"
        settings = {"memory.max": str(limit_bytes), "memory.swap.max": "0"}
    elif v1.is_dir():
        group, peak_file = v1 / name, "memory.max_usage_in_bytes"
        settings = {"memory.limit_in_bytes": str(limit_bytes), "memory.memsw.limit_in_bytes": str(limit_bytes)}
    else:
        return None, lambda: "", "no cgroup memory controller on this machine"

    def remove() -> None:
        try:
            group.rmdir()
        except OSError:
            pass

    try:
        group.mkdir()
        for i, (setting, value) in enumerate(settings.items()):
            if i == 0 or (group / setting).exists():  # the limit itself must take; no swap where it can be said
                (group / setting).write_text(value)
    except OSError as exc:
        if group.exists():
            remove()
        return None, lambda: "", f"cannot make a memory cgroup here ({exc.strerror or exc})"

    def enter() -> None:
        (group / "cgroup.procs").write_text(str(os.getpid()))

    def finish() -> str:
        try:
            peak = (group / peak_file).read_text().strip() if (group / peak_file).exists() else ""
        except OSError:
            peak = ""
        remove()
        return f"{int(peak) / 2**20:,.0f}" if peak else "?"

    return enter, finish, ""


def memory_run(table: str, n: int, form: str, limit_gib: float = 0) -> tuple[Any, ...]:
    """Validate ``n`` generated rows in a fresh process that reads them as a user would: pandas
    frames from Parquet (``form`` "pandas") or memory-mapped Arrow IPC tables ("arrow").
    Returns (rows, MiB the frames hold once read, resident MiB then, peak anonymous MiB
    (sampled), peak resident MiB, validate() seconds, the cgroup's peak MiB or why there is
    none); with ``limit_gib`` the process runs in a memory cgroup of that size, and a process
    the limit kills gives ``None`` for the measures."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # generated in a process of its own, which then ends
        subprocess.run([sys.executable, __file__, "--write-to", tmp, "--tables", table, "--max-rows", str(n)], check=True)
        enter, finish, why = _memory_limit(int(limit_gib * 2**30)) if limit_gib else (None, lambda: "", "")
        command = [sys.executable, "-c", _MEMORY_CHILD, tmp, form]
        try:
            out = subprocess.run(command, capture_output=True, text=True, preexec_fn=enter)
        except subprocess.SubprocessError:  # the process could not join the cgroup: measure it without
            finish()
            enter, why = None, "cannot move a process into a memory cgroup here"
            out = subprocess.run(command, capture_output=True, text=True)
        cgroup_peak = finish() if enter is not None else why
    if out.returncode != 0:
        if out.returncode < 0 and limit_gib:
            return (None,) * 6 + (f"killed by the {limit_gib:g} GiB limit (signal {-out.returncode})",)
        raise RuntimeError(f"the memory child failed: {out.stderr[-2000:]}")
    return (*(float(v) for v in out.stdout.split()), cgroup_peak)


def _write_frames(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Each frame as Parquet and as an uncompressed Arrow IPC file of one record batch, text
    as large_string (the type validate() works in, so reading it maps the file, no copy)."""
    import pyarrow as pa

    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.cast(pa.schema([pa.field(f.name, pa.large_string() if pa.types.is_string(f.type) else f.type)
                                      for f in table.schema]))
        with pa.OSFile(str(folder / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=max(1, table.num_rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="largest size (default 1e6; 1e7 takes minutes and GiBs)")
    parser.add_argument("--min-rows", type=int, default=10_000, help="smallest size (default 1e4)")
    parser.add_argument("--tables", default="market_shares,indicators,sources")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median); sizes of 1e7 run once")
    parser.add_argument("--bad", type=float, default=0.01, help="fraction of cells broken in the bad-frame runs")
    parser.add_argument("--no-pandera", action="store_true", help="skip the plain pandera comparison")
    parser.add_argument("--memory", type=int, default=0, metavar="ROWS",
                        help="only: validate ROWS generated rows of each table in a fresh process that reads them "
                             "as pandas frames from Parquet, and as memory-mapped Arrow IPC tables, and print the "
                             "memory it holds and its peaks (Linux)")
    parser.add_argument("--memory-limit", type=float, default=0, metavar="GIB",
                        help="with --memory: run each process in a memory cgroup of GIB (needs root and a writable "
                             "cgroup memory controller), and say whether it finished")
    parser.add_argument("--write-to", default=None, help=argparse.SUPPRESS)  # --memory's generator process
    args = parser.parse_args(argv)
    if args.write_to:
        _write_frames(Path(args.write_to), generate_set(args.tables, args.max_rows))
        return
    if args.memory:
        limit = f"peak MiB in {args.memory_limit:g} GiB" if args.memory_limit else ""
        print(f"{'table':<14}{'read as':<9}{'rows':>12}{'frames MiB':>12}{'held MiB':>10}{'peak anon':>11}"
              f"{'peak RSS':>10}{'validate s':>12}  {limit}")
        for table in args.tables.split(","):
            for form in ("pandas", "arrow"):
                rows, frames_mib, held, anon, peak, took, cgroup = memory_run(table, args.memory, form, args.memory_limit)
                if rows is None:
                    print(f"{table:<14}{form:<9}{'':>67}  {cgroup}", flush=True)
                    continue
                print(f"{table:<14}{form:<9}{rows:>12,.0f}{frames_mib:>12,.0f}{held:>10,.0f}{anon:>11,.0f}{peak:>10,.0f}"
                      f"{took:>12.2f}  {cgroup}", flush=True)
        return
    sizes = [n for n in (10_000, 100_000, 1_000_000, 10_000_000) if args.min_rows <= n <= args.max_rows]
    bare, ours, ratio = import_ratio()
    print(f"import chokepoint_data: {ours * 1e3:.1f} ms vs python -c pass {bare * 1e3:.1f} ms: ratio {ratio:.2f} (target <= 1.5)")
    cd.validate()  # warm: descriptor, shipped frames, pycountry
    print(f"\n{'table':<14}{'rows':>11}{'validate s':>11}{'x prev':>8}{'pandera s':>10}{'x pandera':>10}"
          f"{'bad cells':>10}{'failures':>10}{'bad s':>8}{'x valid':>8}{'all seen':>9}{'peak MiB':>10}")
    for table in args.tables.split(","):
        previous = None
        for n in sizes:
            previous = _size_row(table, n, args, previous)
            gc.collect()  # the frames of this size are gone with the call


def _size_row(table: str, n: int, args: argparse.Namespace, previous: float | None) -> float:
    """Print the row of one table and size; return the valid frame's time."""
    repeat = 1 if n >= 10_000_000 else args.repeat
    frames = generate_set(table, n)
    rows = len(frames[table])
    ours_s, _ = timed(lambda: cd.validate(frames), repeat)
    growth = f"{ours_s / previous:.1f}" if previous else "-"
    if args.no_pandera:
        plain_s, vs = float("nan"), "-"
    else:
        plains = {name: plain_pandera(name, frames) for name in frames}
        try:
            plain_s, _ = timed(lambda: [plains[k].validate(frames[k], lazy=True) for k in frames], repeat)
        except Exception as exc:  # the comparison schema must pass the valid frame
            raise SystemExit(f"the plain pandera schema refused the valid {table} frame: {str(exc)[:500]}")
        vs = f"{ours_s / plain_s:.2f}"
    if not args.bad:  # --bad 0: the valid frame only (saves the broken copy's memory)
        print(f"{table:<14}{rows:>11,}{ours_s:>11.2f}{growth:>8}{plain_s:>10.2f}{vs:>10}"
              f"{'-':>10}{'-':>10}{'-':>8}{'-':>8}{'-':>9}{peak_rss_mib():>10,.0f}", flush=True)
        return ours_s
    bad_frame, broken = break_cells(table, frames[table], args.bad)
    bad_set = {**frames, table: bad_frame}
    bad_s, failures = timed(lambda: failures_of(bad_set), repeat)
    seen = cells_reported(failures, table)
    all_seen = "yes" if all(cell in seen for cell in broken) else "NO"
    print(f"{table:<14}{rows:>11,}{ours_s:>11.2f}{growth:>8}{plain_s:>10.2f}{vs:>10}"
          f"{len(broken):>10,}{len(failures):>10,}{bad_s:>8.2f}{bad_s / ours_s:>8.2f}{all_seen:>9}{peak_rss_mib():>10,.0f}", flush=True)
    return ours_s


if __name__ == "__main__":
    main()
