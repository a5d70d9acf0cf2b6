"""The mart layer: one SQL model per file in this folder, built in dependency order, then tested.

A model file opens with a YAML header in a `/* ... */` comment (name, materialized, grain,
description, unique_key, columns with their descriptions, formulas and data tests); the SQL after it
is one SELECT, a chain of CTEs, in the SQL that DuckDB and PostgreSQL share; the one difference the
runner needs (the data tests' finite check) is `_is_not_finite` below.

`build_marts` replaces every model in one transaction (tables are rebuilt, views recreated), so
readers see the old marts or the new ones, never half of them, and a build run twice gives the same
rows. `test_marts` runs the declared data tests; `check_marts` raises on the first failures with the
model, the test and the number of offending rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, text

from extractors.errors import ShengliangError

MARTS_DIR = Path(__file__).resolve().parent
BUILD_TABLE = "mart_build"
DEFAULT_PRIVACY_K = 5
BCI_FORMULA = "BCI (Qingbo, as republished; version unverified)"
WCI_FORMULA = "WCI V14.2 (Qingbo)"
INHERIT = "\x00inherit"  # placeholder description of a column written `inherit`
TEST_KINDS = ("not_null", "range", "finite", "relationships", "accepted_values")


class MartError(ShengliangError):
    """A model file is malformed, a model failed to build, or a data test failed."""


@dataclass(frozen=True)
class DataTest:
    """One declared test of a column: not_null, range (min and/or max), finite, accepted_values or
    relationships (to `table.column`)."""

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    target: str | None = None

    def describe(self, column: str = "") -> str:
        """e.g. "range engagement_rate (min 0)"; without a column, as the data dictionary shows it."""
        head = f"{self.kind} {column}".strip()
        if self.kind == "range":
            bounds = [f"min {self.minimum:g}"] if self.minimum is not None else []
            bounds += [f"max {self.maximum:g}"] if self.maximum is not None else []
            return f"{head} ({', '.join(bounds)})"
        if self.kind == "accepted_values":
            return f"{head} ({', '.join(self.values)})"
        if self.kind == "relationships":
            return f"{head} -> {self.target}"
        return head


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    description: str
    formula: str | None = None
    tests: tuple[DataTest, ...] = ()


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    materialized: str  # "table" or "view"
    grain: str
    description: str
    unique_key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    sql: str
    depends_on: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    formula_version: str | None = None
    columns_from: str | None = None

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


@dataclass(frozen=True)
class TestResult:
    model: str
    test: str
    failures: int
    sample: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failures == 0

    def describe(self) -> str:
        if self.passed:
            return f"{self.model}: {self.test}: ok"
        sample = "; ".join(", ".join(map(str, row)) for row in self.sample)
        return f"{self.model}: {self.test}: {self.failures} offending row(s), e.g. {sample}"


@dataclass(frozen=True)
class BuildResult:
    models: list[tuple[str, str, int]]  # (name, materialized, rows)
    seconds: float


_HEADER = re.compile(r"\A\s*/\*(.*?)\*/", re.S)


def _fail(path: Path, problem: str) -> MartError:
    return MartError(f"{path}: {problem}")


def parse_model(path: Path) -> Model:
    """One model file: its YAML header and its SQL, checked for what the runner and tests need."""
    source = path.read_text(encoding="utf-8")
    match = _HEADER.match(source)
    if not match:
        raise _fail(path, "no header: a model opens with a /* ... */ YAML block (name, grain, columns)")
    try:
        header = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise _fail(path, f"the header is not valid YAML: {error}") from None
    if not isinstance(header, dict):
        raise _fail(path, "the header must be a YAML mapping")
    for key in ("name", "materialized", "grain", "description", "columns"):
        if not header.get(key):
            raise _fail(path, f"the header lacks '{key}'")
    if header["name"] != path.stem:
        raise _fail(path, f"the header names {header['name']!r}; a model's name is its file name")
    if header["materialized"] not in ("table", "view"):
        raise _fail(path, f"materialized is {header['materialized']!r}; use table or view")
    columns = []
    columns_from = header.get("columns_from")
    for name, spec in header["columns"].items():
        if spec == "inherit":
            if not columns_from:
                raise _fail(path, f"column {name}: 'inherit' needs columns_from: <model> in the header")
            columns.append(ColumnSpec(str(name), INHERIT))
            continue
        spec = spec or {}
        if not isinstance(spec, dict) or not spec.get("description"):
            raise _fail(path, f"column {name}: give it a description (or write `inherit` with columns_from)")
        tests = tuple(_parse_test(path, str(name), test) for test in spec.get("tests") or ())
        columns.append(ColumnSpec(str(name), str(spec["description"]).strip(), spec.get("formula"), tests))
    unique_key = tuple(header.get("unique_key") or ())
    names = {c.name for c in columns}
    for key in unique_key:
        if key not in names:
            raise _fail(path, f"unique_key column {key!r} is not among the columns")
    sql = source[match.end() :].strip().rstrip(";")
    return Model(
        name=header["name"],
        path=path,
        materialized=header["materialized"],
        grain=str(header["grain"]).strip(),
        description=" ".join(str(header["description"]).split()),
        unique_key=unique_key,
        columns=tuple(columns),
        sql=sql,
        depends_on=tuple(header.get("depends_on") or ()),
        indexes=tuple(tuple(index) for index in header.get("indexes") or ()),
        formula_version=header.get("formula_version"),
        columns_from=columns_from,
    )


def _parse_test(path: Path, column: str, test: Any) -> DataTest:
    kind, options = (test, None) if isinstance(test, str) else next(iter(dict(test).items()), (None, None))
    where = f"column {column}: test {test!r}"
    if kind not in TEST_KINDS:
        raise _fail(path, f"column {column}: unknown test {test!r}; use one of {', '.join(TEST_KINDS)}")
    if kind in ("not_null", "finite"):
        return DataTest(kind)
    if kind == "range":
        if not isinstance(options, dict) or not set(options) <= {"min", "max"} or not options:
            raise _fail(path, f"{where}: write range as {{range: {{min: 0, max: 100}}}} (either bound)")
        try:
            low = None if options.get("min") is None else float(options["min"])
            high = None if options.get("max") is None else float(options["max"])
        except (TypeError, ValueError):
            raise _fail(path, f"{where}: the bounds must be numbers") from None
        return DataTest(kind, minimum=low, maximum=high)
    if kind == "accepted_values":
        if not isinstance(options, list) or not options:
            raise _fail(path, f"{where}: write accepted_values as a list, e.g. {{accepted_values: [a, b]}}")
        return DataTest(kind, values=tuple(str(v) for v in options))
    if not isinstance(options, str) or options.count(".") != 1:
        raise _fail(path, f"{where}: write relationships as table.column, e.g. dim_account.account_key")
    return DataTest(kind, target=options)


def _inherit_columns(model: Model, models: dict[str, Model]) -> Model:
    """Columns written `inherit` take their description, formula and tests from `columns_from`."""
    if not model.columns_from:
        return model
    source = models.get(model.columns_from)
    if source is None:
        raise _fail(model.path, f"columns_from names {model.columns_from!r}, which is not a model here")
    resolved = []
    for column in model.columns:
        if column.description == INHERIT:
            try:
                column = replace(source.column(column.name), name=column.name)
            except KeyError:
                raise _fail(
                    model.path, f"column {column.name}: {source.name} has no such column to inherit from"
                ) from None
        resolved.append(column)
    return replace(model, columns=tuple(resolved))


def load_models(folder: Path = MARTS_DIR) -> list[Model]:
    """Every model in the folder, in build order (a model after those it selects from)."""
    models = {m.name: m for m in (parse_model(p) for p in sorted(folder.glob("*.sql")))}
    models = {name: _inherit_columns(model, models) for name, model in models.items()}
    for model in models.values():
        for dependency in model.depends_on:
            if dependency not in models:
                raise _fail(model.path, f"depends_on names {dependency!r}, which is not a model here")
        undeclared = [
            name
            for name in models
            if name != model.name and name not in model.depends_on and re.search(rf"\b{name}\b", model.sql)
        ]
        if undeclared:
            raise _fail(model.path, f"selects from {', '.join(undeclared)}: add them to depends_on")
    ordered: list[Model] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if any(m.name == name for m in ordered):
            return
        if name in visiting:
            raise _fail(models[name].path, "depends_on forms a cycle")
        visiting.add(name)
        for dependency in models[name].depends_on:
            visit(dependency)
        visiting.discard(name)
        ordered.append(models[name])

    for name in models:
        visit(name)
    return ordered


# --- dialect differences: the only place the SQL of the two backends differs ----------------------


def _is_not_finite(dialect: str, value: str) -> str:
    """The data tests' check for infinities and NaN (the models themselves are plain shared SQL)."""
    if dialect == "duckdb":
        return f"(isinf({value}) OR isnan({value}))"
    return f"({value} IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8))"


# --- build ----------------------------------------------------------------------------------------


def _existing_kind(conn: Connection, name: str) -> str | None:
    row = conn.execute(
        text("SELECT table_type FROM information_schema.tables WHERE table_name = :name"), {"name": name}
    ).first()
    if row is None:
        return None
    return "view" if "VIEW" in str(row[0]).upper() else "table"


def build_marts(
    engine: Engine,
    *,
    privacy_k: int = DEFAULT_PRIVACY_K,
    models: Sequence[Model] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Rebuild every model in one transaction: same facts in, same rows out, however often it runs."""
    if privacy_k < 1:
        raise MartError(f"privacy threshold k = {privacy_k}: it must be at least 1 (METRICS.md: default 5)")
    models = list(models or load_models())
    started = datetime.now(UTC)
    built: list[tuple[str, str, int]] = []
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for model in reversed(models):
            kind = _existing_kind(conn, model.name)
            if kind:
                conn.execute(text(f"DROP {kind.upper()} IF EXISTS {model.name}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {BUILD_TABLE}"))
        conn.execute(
            text(
                f"CREATE TABLE {BUILD_TABLE} (built_at TIMESTAMP NOT NULL, privacy_k INTEGER NOT NULL, "
                "bci_formula TEXT NOT NULL, wci_formula TEXT NOT NULL)"
            )
        )
        conn.execute(
            text(f"INSERT INTO {BUILD_TABLE} VALUES (:built_at, :k, :bci, :wci)"),
            {
                "built_at": started.replace(tzinfo=None),
                "k": privacy_k,
                "bci": BCI_FORMULA,
                "wci": WCI_FORMULA,
            },
        )
        for position, model in enumerate(models, start=1):
            if progress:
                progress(f"[{position}/{len(models)}] {model.name} ({model.materialized})")
            sql = model.sql
            try:
                if model.materialized == "view":
                    conn.execute(text(f"CREATE VIEW {model.name} AS {sql}"))
                else:
                    conn.execute(text(f"CREATE TABLE {model.name} AS {sql}"))
                    if dialect == "postgresql":
                        for index in model.indexes:
                            index_name = f"ix_{model.name}_{'_'.join(index)}"
                            conn.execute(
                                text(f"CREATE INDEX {index_name} ON {model.name} ({', '.join(index)})")
                            )
                        conn.execute(text(f"ANALYZE {model.name}"))
            except Exception as error:
                reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
                raise MartError(f"model {model.name} ({model.path.name}) failed to build: {reason}") from None
            built_columns = list(conn.execute(text(f"SELECT * FROM {model.name} LIMIT 0")).keys())
            declared = [c.name for c in model.columns]
            if built_columns != declared:
                raise MartError(
                    f"model {model.name} ({model.path.name}) selects columns {built_columns}, but its header "
                    f"declares {declared}: make the header's columns match the SELECT, in order"
                )
            rows = conn.execute(text(f"SELECT count(*) FROM {model.name}")).scalar_one()
            built.append((model.name, model.materialized, int(rows)))
    return BuildResult(built, (datetime.now(UTC) - started).total_seconds())


# --- data tests -----------------------------------------------------------------------------------


def _test_queries(model: Model, dialect: str) -> Iterable[tuple[str, str]]:
    """(test name, SQL selecting the offending rows) for every test the model declares."""
    table = model.name
    if model.unique_key:
        key = ", ".join(model.unique_key)
        yield (
            f"unique ({key})",
            f"SELECT {key}, count(*) AS copies FROM {table} GROUP BY {key} HAVING count(*) > 1",
        )
    label = ", ".join(model.unique_key) if model.unique_key else "*"
    for column in model.columns:
        name = column.name
        for test in column.tests:
            described = test.describe(name)
            if test.kind == "not_null":
                condition = f"{name} IS NULL"
            elif test.kind == "range":
                bounds = []
                if test.minimum is not None:
                    bounds.append(f"{name} < {test.minimum!r}")
                if test.maximum is not None:
                    bounds.append(f"{name} > {test.maximum!r}")
                condition = " OR ".join(bounds)
            elif test.kind == "finite":
                condition = _is_not_finite(dialect, name)
            elif test.kind == "accepted_values":
                values = ", ".join("'" + v.replace("'", "''") + "'" for v in test.values)
                condition = f"{name} NOT IN ({values})"
            else:
                other, other_column = str(test.target).split(".")
                condition = (
                    f"{name} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {other} o WHERE o.{other_column} = {table}.{name})"
                )
            yield described, f"SELECT {label}, {name} FROM {table} WHERE {condition}"


def test_marts(
    engine: Engine, models: Sequence[Model] | None = None, sample_rows: int = 3
) -> list[TestResult]:
    """Run every model's data tests; each result counts its offending rows and keeps a few."""
    results = []
    with engine.connect() as conn:
        for model in models or load_models():
            for name, sql in _test_queries(model, engine.dialect.name):
                failures = conn.execute(text(f"SELECT count(*) FROM ({sql}) offending")).scalar_one()
                sample = []
                if failures:
                    sample = [tuple(r) for r in conn.execute(text(f"{sql} LIMIT {sample_rows}")).all()]
                results.append(TestResult(model.name, name, int(failures), sample))
    return results


test_marts.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def check_marts(engine: Engine, models: Sequence[Model] | None = None) -> list[TestResult]:
    """Run the data tests and raise MartError naming every failing model, test and row count."""
    results = test_marts(engine, models)
    failed = [r for r in results if not r.passed]
    if failed:
        lines = [f"{len(failed)} of {len(results)} mart data tests failed:"]
        lines += [f"  - {r.describe()}" for r in failed]
        raise MartError("\n".join(lines))
    return results


# --- the data dictionary --------------------------------------------------------------------------


def marts_dictionary_markdown(models: Sequence[Model] | None = None) -> str:
    """The marts' section of docs/warehouse.md, from the model headers."""
    lines = [
        "# Marts",
        "",
        "Built by `shengliang marts build` (and by the load DAGs after every load) from the SQL models in "
        "`warehouse/marts/`; tested by `shengliang marts test`. Definitions follow METRICS.md. "
        f"`{BUILD_TABLE}` holds one row: when the marts were built, the privacy threshold k they applied and "
        "the formula versions.",
        "",
    ]
    for model in models or load_models():
        lines += [
            f"## {model.name} ({model.materialized})",
            "",
            f"Grain: {model.grain}.",
            "",
            model.description,
        ]
        if model.formula_version:
            lines += ["", f"Formula version: {model.formula_version}."]
        if model.unique_key:
            lines += ["", f"Unique key: {', '.join(model.unique_key)}."]
        lines += ["", "| column | meaning | formula | tests |", "|---|---|---|---|"]
        for column in model.columns:
            formula = " ".join(str(column.formula).split()) if column.formula else ""
            tests = "; ".join(t.describe() for t in column.tests)
            lines.append(f"| {column.name} | {column.description} | {formula} | {tests} |")
        lines.append("")
    return "\n".join(lines)


def warehouse_dictionary_markdown() -> str:
    """docs/warehouse.md: the tables and views of warehouse/schema.py, then the marts."""
    from warehouse.schema import data_dictionary_markdown

    return data_dictionary_markdown() + "\n" + marts_dictionary_markdown()


def require_built(engine: Engine) -> None:
    """Refuse to read marts that were never built, with the command that builds them."""
    with engine.connect() as conn:
        if _existing_kind(conn, BUILD_TABLE) is None:
            from warehouse.db import safe_url

            raise MartError(
                f"the marts of the warehouse at {safe_url(str(engine.url))} are not built yet: run "
                "`shengliang marts build` (the load DAGs build them after every load)"
            )
