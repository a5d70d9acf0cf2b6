"""`shengliang`: the command line. Errors meant for people print as one message, not a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from extractors.errors import ShengliangError


def _date_arg(value: str) -> date:
    from shengliang.daily import parse_data_date

    try:
        return parse_data_date(value)
    except ShengliangError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise ShengliangError(f"--to {end} is before --from {start}; swap them")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shengliang", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="run weibo_daily and wechat_daily against the local sandbox and print the marts' summary"
    )
    demo.add_argument("--date", type=_date_arg, help="data date YYYY-MM-DD (default: yesterday, Beijing)")

    sub.add_parser(
        "sandbox", help="run the local Weibo and WeChat API sandbox (see `shengliang sandbox --help`)"
    )

    summary = sub.add_parser("summary", help="print what the warehouse holds for one date")
    summary.add_argument("--date", type=_date_arg, required=True)

    report = sub.add_parser(
        "report", help="render the daily report of a date per brand (data/reports/<date>/); --send delivers"
    )
    report.add_argument("--date", type=_date_arg, required=True, help="data date YYYY-MM-DD")
    report.add_argument("--brand", action="append", help="only this brand (repeatable; default: all)")
    report.add_argument(
        "--send",
        action="store_true",
        help="deliver by e-mail (Airflow connection smtp_default) and to the robots of config/reports.yml",
    )
    report.add_argument("--smtp-conn-id", default="smtp_default", help=argparse.SUPPRESS)

    rebuild = sub.add_parser("rebuild", help="rebuild dates in the warehouse from the raw lake, no API calls")
    rebuild.add_argument("--from", dest="start", type=_date_arg, required=True)
    rebuild.add_argument("--to", dest="end", type=_date_arg)
    rebuild.add_argument("--platform", choices=["weibo", "wechat", "all"], default="all")

    db = sub.add_parser("db", help="warehouse schema: `shengliang db upgrade` migrates WAREHOUSE_URL to head")
    db.add_argument("action", choices=["upgrade"])

    sentiment = sub.add_parser(
        "sentiment", help="`train FILE.tsv --model OUT.json` fits a sentiment model, `eval FILE.tsv` measures"
    )
    sentiment.add_argument("action", choices=["train", "eval"])
    sentiment.add_argument(
        "file",
        type=Path,
        help="`label<TAB>text` lines, 1 = positive, 0 = negative; may open with `#` comments and a header",
    )
    sentiment.add_argument(
        "--model",
        type=Path,
        help="train: where to write the JSON model (required); eval: a model to use, not the lexicons",
    )

    marts = sub.add_parser(
        "marts", help="`marts build` rebuilds the metric marts, `marts test` runs their data tests"
    )
    marts.add_argument("action", choices=["build", "test"])

    metrics = sub.add_parser("metrics", help="print or write the KPI table of a date from the marts")
    metrics.add_argument("--date", type=_date_arg, required=True, help="YYYY-MM-DD (Beijing)")
    metrics.add_argument("--brand", help="one brand id (default: every brand)")
    metrics.add_argument(
        "--period",
        choices=["day", "week", "month"],
        default="day",
        help="the day, or the ISO week or calendar month containing it",
    )
    metrics.add_argument("--format", choices=["table", "csv", "xlsx", "json"], default="table")
    metrics.add_argument("--output", type=Path, help="write to this file (required for xlsx)")

    sub.add_parser("airflow-init", help="create/migrate the local Airflow metadata DB and the pools")
    sub.add_parser("docs", help="write docs/warehouse.md from the schema and the mart headers")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    code = _main(argv)
    # Skip interpreter teardown: duckdb's bindings print spurious "leaked instance" lines there.
    # Everything is closed by now; flush and leave.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from sandbox.server import serve

        return serve(argv[1:])  # the sandbox has its own options (`shengliang sandbox --help`)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before alembic's import logs its plugins
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ShengliangError as error:
        print(f"shengliang {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from shengliang.demo import run_demo

        return run_demo(args.date)
    if args.command == "summary":
        from shengliang import report, settings
        from warehouse.connect import open_warehouse
        from warehouse.db import safe_url

        url = settings.warehouse_url()
        from warehouse.marts import require_built

        with open_warehouse(url) as engine:
            require_built(engine)
            if not report.has_data(engine, args.date):
                print(
                    f"no mart rows for {args.date}: load that date, then run `shengliang marts build`",
                    file=sys.stderr,
                )
                return 1
            print(report.day_summary(engine, args.date, safe_url(url)))
        return 0
    if args.command == "report":
        return _report(args)
    if args.command == "rebuild":
        from shengliang import jobs

        days = _date_range(args.start, args.end or args.start)
        platforms = ["weibo", "wechat"] if args.platform == "all" else [args.platform]
        for position, (day, platform) in enumerate([(d, p) for d in days for p in platforms], start=1):
            counts = jobs.rebuild(platform, day)
            print(
                f"[{position}/{len(days) * len(platforms)}] {platform} {day}: {counts.posts} posts, "
                f"{counts.engagement_rows} snapshots, {counts.articles} articles, "
                f"{counts.article_daily_rows} article-days"
            )
        built = jobs.build_marts()
        print(f"marts rebuilt: {len(built['models'])} models in {built['seconds']:.1f}s")
        return 0
    if args.command == "db":
        from shengliang import settings
        from warehouse.db import safe_url
        from warehouse.migrate import upgrade_url

        before, after = upgrade_url(settings.warehouse_url())
        print(f"warehouse {safe_url(settings.warehouse_url())}: revision {before or 'none'} -> {after}")
        return 0
    if args.command == "sentiment":
        return _sentiment(args)
    if args.command == "marts":
        return _marts(args)
    if args.command == "metrics":
        return _metrics(args)
    if args.command == "airflow-init":
        from shengliang.airflow_local import init_metadata_db, use_project_airflow

        home = use_project_airflow()
        init_metadata_db()
        print(f"Airflow metadata DB ready under {home}; pools: weibo_api, warehouse_writer")
        return 0
    if args.command == "docs":
        from shengliang.settings import PROJECT_ROOT
        from warehouse.marts import warehouse_dictionary_markdown

        path = PROJECT_ROOT / "docs" / "warehouse.md"
        path.write_text(warehouse_dictionary_markdown() + "\n", encoding="utf-8")
        print(f"wrote {path}")
        return 0
    raise AssertionError(args.command)


def _report(args: argparse.Namespace) -> int:
    from shengliang import reporting, settings
    from warehouse.connect import open_warehouse

    if not os.environ.get("AIRFLOW_HOME"):  # smtp_default and robot connections: the project's Airflow
        from shengliang.airflow_local import use_project_airflow

        use_project_airflow()
    with open_warehouse(settings.warehouse_url()) as engine:
        run = reporting.render_reports(engine, args.date, brands=args.brand)
        print(f"daily report for {args.date}:")
        print("\n".join(reporting.describe(run)))
        if run.config_error is not None:
            raise run.config_error  # printed once by main(), after the files were written
        if not args.send:
            return 0
        delivered = reporting.deliver_reports(engine, run, smtp_conn_id=args.smtp_conn_id)
        for report in run.reports:
            sent = delivered.get(report.brand_id, [])
            before = [c for c in reporting.delivered_channels(report) if c not in sent]
            if sent:
                print(f"  sent {report.brand_id}: {', '.join(sent)}")
            if before:
                print(f"  {report.brand_id} already had: {', '.join(before)} (not sent again)")
            if not sent and not before:
                print(f"  {report.brand_id}: no e-mail or robot in {settings.reports_file()}")
    return 0


def _marts(args: argparse.Namespace) -> int:
    from shengliang import settings
    from warehouse import marts
    from warehouse.connect import open_warehouse
    from warehouse.db import safe_url

    url = settings.warehouse_url()
    with open_warehouse(url) as engine:
        if args.action == "test":
            marts.require_built(engine)
        if args.action == "build":
            result = marts.build_marts(engine, privacy_k=settings.privacy_k(), progress=print)
            for name, kind, rows in result.models:
                print(f"  {name:<32} {kind:<5} {rows:>9,} rows")
            print(f"built {len(result.models)} models in {result.seconds:.1f}s in {safe_url(url)}")
            return 0
        results = marts.test_marts(engine)
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(f"FAIL {result.describe()}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _metrics(args: argparse.Namespace) -> int:
    from shengliang import metrics, settings
    from warehouse.connect import open_warehouse
    from warehouse.marts import require_built

    with open_warehouse(settings.warehouse_url()) as engine:
        require_built(engine)
        rows = metrics.kpi_rows(engine, args.date, brand=args.brand, period=args.period)
    start = metrics.period_start(args.date, args.period)
    label = args.date.isoformat() if args.period == "day" else f"{args.period} from {start}"
    if rows and not rows[0]["is_period_complete"]:
        label += " (not over: data through the latest load)"
    title = f"KPI, {label} (Beijing time){', brand ' + args.brand if args.brand else ''}"
    if not rows:
        print(
            f"no mart rows for {label}: load that date, then run `shengliang marts build`",
            file=sys.stderr,
        )
        return 1
    shown = metrics.render(rows, args.format, title, args.output)
    if shown:
        print(shown, end="" if shown.endswith("\n") else "\n")
    return 0


def _sentiment(args: argparse.Namespace) -> int:
    from transforms import sentiment

    posts = sentiment.read_labelled_tsv(args.file)
    if args.action == "train":
        if args.model is None:
            raise ShengliangError("train needs --model OUT.json: where to write the fitted model")
        model = sentiment.train_model(posts, source=args.file.name)
        sentiment.write_model(model, args.model)
        trained = sentiment.evaluate(sentiment.SentimentScorer.from_model(args.model), posts)
        print(f"wrote {args.model}: fitted on {len(posts)} posts")
        print(f"on the training file itself: {trained.describe()}")
        return 0
    if args.model:
        scorer, described = sentiment.SentimentScorer.from_model(args.model), f"model {args.model}"
    else:
        scorer, described = sentiment.SentimentScorer.default(), "shipped lexicons"
    print(f"{args.file}: {sentiment.evaluate(scorer, posts).describe()}")
    print(f"scorer: {described}; binary rule: {sentiment.BINARY_RULE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
