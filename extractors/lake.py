"""The raw lake: every API response, as received, in Parquet.

Layout: <root>/platform=<p>/endpoint=<e>/date=<YYYY-MM-DD>/account=<id>/run-<utc>-<id>.parquet,
one file per account, endpoint and run. Files are only ever added, so a re-run never loses what
an earlier run saw; readers take the latest observation. Tokens are stripped before writing.

Records that cannot be read (a post without a usable id or date, a response of the wrong shape)
are skipped, and kept for inspection in the quarantine beside the raw responses:
<root>/platform=<p>/_quarantine/endpoint=<e>/date=<d>/account=<id>/<stage>-....parquet, one row per
record with the reason. The extract writes one file per run (extract-run-<id>.parquet); the
transform rewrites its own (transform.parquet) on every run, so re-runs do not pile up copies.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from extractors.http import HttpResponse, loads_safe, redact, safe_text

RAW_SCHEMA = pa.schema(
    [
        ("requested_at", pa.timestamp("us", tz="UTC")),
        ("platform", pa.string()),
        ("endpoint", pa.string()),
        ("account_id", pa.string()),
        ("params", pa.string()),
        ("http_status", pa.int16()),
        ("body", pa.string()),
    ]
)


@dataclass(frozen=True)
class RawRecord:
    requested_at: datetime
    platform: str
    endpoint: str
    account_id: str
    params: dict[str, Any]
    http_status: int
    body: str

    def payload(self) -> Any:
        """The parsed body, every string made safe (lone surrogates replaced, NUL removed)."""
        return loads_safe(self.body)


def endpoint_folder(endpoint: str) -> str:
    return endpoint.replace("/", "_")


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class RawRecords(list[RawRecord]):
    """Records read from a lake; `lake` is where a transform keeps what it cannot read."""

    def __init__(self, lake: RawLake | None = None, records: Iterable[RawRecord] = ()) -> None:
        super().__init__(records)
        self.lake = lake


class RawLake:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def partition(self, platform: str, endpoint: str, data_date: date, account_id: str) -> Path:
        return (
            self.root
            / f"platform={platform}"
            / f"endpoint={endpoint_folder(endpoint)}"
            / f"date={data_date.isoformat()}"
            / f"account={account_id}"
        )

    def quarantine_partition(self, platform: str, endpoint: str, data_date: date, account_id: str) -> Path:
        return (
            self.root
            / f"platform={platform}"
            / QUARANTINE_FOLDER
            / f"endpoint={endpoint_folder(endpoint)}"
            / f"date={data_date.isoformat()}"
            / f"account={account_id}"
        )

    def quarantine(
        self, platform: str, data_date: date, account_id: str, stage: str, run_id: str = ""
    ) -> Quarantine:
        return Quarantine(self, platform, data_date, account_id, stage, run_id)

    def clear_quarantine(self, platform: str, data_date: date, stage: str) -> None:
        """Remove the run-independent quarantine files of a stage and date (before it writes new ones)."""
        base = self.root / f"platform={platform}" / QUARANTINE_FOLDER
        for path in base.glob(f"endpoint=*/date={data_date.isoformat()}/account=*/{stage}.parquet"):
            path.unlink()

    def quarantined(self, platform: str, data_date: date) -> list[dict[str, Any]]:
        """Every quarantined record of the platform and date, both stages."""
        base = self.root / f"platform={platform}" / QUARANTINE_FOLDER
        rows: list[dict[str, Any]] = []
        for path in sorted(base.glob(f"endpoint=*/date={data_date.isoformat()}/account=*/*.parquet")):
            rows += pq.read_table(path, schema=QUARANTINE_SCHEMA).to_pylist()
        return rows

    def buffer(self, platform: str, data_date: date, account_id: str, run_id: str) -> LakeBuffer:
        return LakeBuffer(self, platform, data_date, account_id, run_id)

    def files(self, platform: str, data_date: date) -> list[Path]:
        base = self.root / f"platform={platform}"
        return sorted(base.glob(f"endpoint=*/date={data_date.isoformat()}/account=*/*.parquet"))

    def dates(self, platform: str) -> list[date]:
        base = self.root / f"platform={platform}"
        found = {p.name.removeprefix("date=") for p in base.glob("endpoint=*/date=*")}
        return sorted(date.fromisoformat(d) for d in found)

    def read(self, platform: str, data_date: date) -> RawRecords:
        """Every response stored for the platform and date, oldest first."""
        records = RawRecords(self)
        for path in self.files(platform, data_date):
            for row in pq.read_table(path, schema=RAW_SCHEMA).to_pylist():
                records.append(
                    RawRecord(
                        requested_at=row["requested_at"],
                        platform=row["platform"],
                        endpoint=row["endpoint"],
                        account_id=row["account_id"],
                        params=json.loads(row["params"]),
                        http_status=row["http_status"],
                        body=row["body"],
                    )
                )
        records.sort(key=lambda r: r.requested_at)
        return records


class LakeBuffer:
    """Collects one account's responses during a run; `flush` writes them, one file per endpoint."""

    def __init__(self, lake: RawLake, platform: str, data_date: date, account_id: str, run_id: str) -> None:
        self.lake = lake
        self.platform = platform
        self.data_date = data_date
        self.account_id = account_id
        self.run_id = run_id
        self._rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, endpoint: str, params: dict[str, Any], response: HttpResponse) -> None:
        self._rows[endpoint].append(
            {
                "requested_at": datetime.fromtimestamp(response.requested_at, UTC),
                "platform": self.platform,
                "endpoint": endpoint,
                "account_id": self.account_id,
                "params": json.dumps(redact(params), ensure_ascii=False, sort_keys=True),
                "http_status": response.status,
                "body": response.text,
            }
        )

    def flush(self) -> list[Path]:
        written: list[Path] = []
        for endpoint, rows in self._rows.items():
            folder = self.lake.partition(self.platform, endpoint, self.data_date, self.account_id)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"run-{self.run_id}.parquet"
            tmp = path.with_suffix(".tmp")
            pq.write_table(pa.Table.from_pylist(rows, schema=RAW_SCHEMA), tmp, compression="zstd")
            tmp.replace(path)
            written.append(path)
        self._rows.clear()
        return written


QUARANTINE_FOLDER = "_quarantine"
QUARANTINE_SCHEMA = pa.schema(
    [
        ("quarantined_at", pa.timestamp("us", tz="UTC")),
        ("stage", pa.string()),  # extract or transform
        ("platform", pa.string()),
        ("endpoint", pa.string()),
        ("data_date", pa.date32()),
        ("account_id", pa.string()),
        ("requested_at", pa.timestamp("us", tz="UTC")),  # of the response that held the record
        ("params", pa.string()),  # the request's parameters, secrets redacted
        ("reason", pa.string()),
        ("record", pa.string()),  # the record as JSON
    ]
)


def record_json(record: Any) -> str:
    """A quarantined record as JSON text (made safe; what JSON cannot hold as its repr)."""
    return safe_text(json.dumps(record, ensure_ascii=False, sort_keys=True, default=repr))


class Quarantine:
    """Collects the records one account's stage could not read; `flush` writes them, one file per
    endpoint. `count` is what the run reports."""

    def __init__(
        self, lake: RawLake, platform: str, data_date: date, account_id: str, stage: str, run_id: str = ""
    ) -> None:
        self.lake = lake
        self.platform = platform
        self.data_date = data_date
        self.account_id = account_id
        self.stage = stage
        self.run_id = run_id
        self._rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.count = 0  # records added, written or not

    def add(
        self,
        endpoint: str,
        record: Any,
        reason: str,
        *,
        params: dict[str, Any] | None = None,
        requested_at: datetime | None = None,
    ) -> None:
        self.count += 1
        self._rows[endpoint].append(
            {
                "quarantined_at": datetime.now(UTC),
                "stage": self.stage,
                "platform": self.platform,
                "endpoint": endpoint,
                "data_date": self.data_date,
                "account_id": self.account_id,
                "requested_at": requested_at,
                "params": json.dumps(redact(params), ensure_ascii=False, sort_keys=True, default=str),
                "reason": reason,
                "record": record_json(record),
            }
        )

    def flush(self) -> list[Path]:
        written: list[Path] = []
        name = f"{self.stage}-run-{self.run_id}.parquet" if self.run_id else f"{self.stage}.parquet"
        for endpoint, rows in self._rows.items():
            folder = self.lake.quarantine_partition(self.platform, endpoint, self.data_date, self.account_id)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            tmp = path.with_suffix(".tmp")
            pq.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA), tmp, compression="zstd")
            tmp.replace(path)
            written.append(path)
        self._rows.clear()
        return written


def records_for(records: Iterable[RawRecord], endpoint: str) -> list[RawRecord]:
    return [r for r in records if r.endpoint == endpoint]
