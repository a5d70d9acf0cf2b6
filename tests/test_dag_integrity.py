"""Every DAG in dags/ parses, is documented and owned, retries its tasks, and reads no secret at parse
time: the DagBag here is the one the scheduler would build."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from shengliang import settings

DAGS = settings.PROJECT_ROOT / "dags"

# Tasks that deliberately do not retry, each with its reason. Every other task retries at least twice.
NO_RETRY = {
    ("weibo_daily", "test_marts"): "the marts' data tests: a failure is a data defect that a retry "
    "would only repeat, and a retry would emit the warehouse asset a second time",
    ("weibo_daily", "check"): "fails the run on purpose when accounts must re-authorize or failed; "
    "the outcome is in the extract results, a retry cannot change it",
    ("wechat_daily", "test_marts"): "the marts' data tests: a failure is a data defect that a retry "
    "would only repeat, and a retry would emit the warehouse asset a second time",
    ("wechat_daily", "check"): "fails the run on purpose when accounts must re-authorize or failed; "
    "the outcome is in the extract results, a retry cannot change it",
    ("daily_report", "plan"): "computes the report dates from the triggering asset events and the "
    "run time, with no I/O: a retry would compute the same answer",
}

# Environment variables a DAG file may read while it is parsed, with the reason. None holds a secret.
PARSE_TIME_ENV = {
    "SHENGLIANG_REPORTS": "daily_report's schedule is the deadline of config/reports.yml (the path)",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))


def callable_doc(task) -> str | None:
    function = getattr(task, "python_callable", None)
    if function is None:  # a mapped task keeps its callable in the partial kwargs
        function = getattr(task, "partial_kwargs", {}).get("python_callable")
    return getattr(function, "__doc__", None)


def test_every_dag_file_parses_into_a_dag(dagbag) -> None:
    assert dagbag.import_errors == {}
    files = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert files == {p.name for p in DAGS.glob("*.py")}, "every file in dags/ holds a DAG"
    assert set(dagbag.dag_ids) == {"weibo_daily", "wechat_daily", "daily_report"}


def test_every_dag_has_an_owner_tags_and_documentation(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.owner and dag.owner != "airflow", f"{dag_id}: no owner (default_args['owner'])"
        assert "shengliang" in dag.tags and len(dag.tags) >= 2, f"{dag_id}: tags {dag.tags}"
        assert dag.doc_md and f"### {dag_id}" in dag.doc_md, f"{dag_id}: doc_md must document the DAG"
        for task in dag.tasks:
            assert task.owner == dag.owner, f"{dag_id}.{task.task_id}: owner {task.owner!r}"


def test_every_task_retries_unless_it_is_a_listed_check(dagbag) -> None:
    seen = set()
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            key = (dag_id, task.task_id)
            if key in NO_RETRY:
                seen.add(key)
                assert task.retries == 0, f"{dag_id}.{task.task_id} is listed as no-retry: {NO_RETRY[key]}"
            else:
                assert task.retries >= 2, f"{dag_id}.{task.task_id}: retries={task.retries}, needs >= 2"
    assert seen == set(NO_RETRY), f"listed no-retry tasks that do not exist: {set(NO_RETRY) - seen}"


def test_every_task_has_a_docstring(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            doc = task.doc_md or task.doc or callable_doc(task)
            assert doc and len(doc.split()) >= 4, f"{dag_id}.{task.task_id} has no docstring"


# --- parsing with the environment and Airflow's secret lookups made to raise ------------------------


# Runs in a child process: Airflow reads its configuration (the secrets backend) once, at import.
_PARSE = textwrap.dedent(
    r"""
    import json, os, re, sys

    forbidden_names = set(json.loads(os.environ.pop("DAGCHECK_FORBIDDEN")))
    dags_folder = os.environ.pop("DAGCHECK_DAGS")
    SECRET_WORDS = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|WEBHOOK|APIKEY|API_KEY|CREDENTIAL")
    PLATFORM = re.compile(r"^(WEIBO_|WECHAT_|SHENGLIANG_)")

    def secret_like(name):
        if name in forbidden_names or name == "WAREHOUSE_URL":
            return True
        if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "WEIBO_", "WECHAT_")):
            return True
        return not name.startswith("AIRFLOW__") and bool(SECRET_WORDS.search(name))

    record = {"env_reads": [], "forbidden": [], "lookups": []}

    class SecretRead(RuntimeError):
        pass

    from airflow.dag_processing.dagbag import DagBag  # Airflow's own configuration is read first
    from airflow.models.connection import Connection as ModelConnection
    from airflow.sdk import Connection, Variable

    def refuse(kind):
        def raiser(*args, **kwargs):
            name = next((a for a in args if isinstance(a, str)), kwargs.get("conn_id") or kwargs.get("key"))
            record["lookups"].append(f"{kind} {name}")
            raise SecretRead(f"{kind} {name} looked up while the DAG files are parsed")
        return staticmethod(raiser) if kind != "model" else classmethod(lambda cls, *a, **k: raiser(*a, **k))

    Connection.get = refuse("Connection.get")
    Variable.get = refuse("Variable.get")
    ModelConnection.get_connection_from_secrets = refuse("model")
    try:
        from airflow.hooks.base import BaseHook
        BaseHook.get_connection = refuse("model")
    except ImportError:
        pass

    original_getitem = os._Environ.__getitem__

    def guarded_getitem(self, key):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if PLATFORM.match(name) or secret_like(name):
            record["env_reads"].append(name)
        if secret_like(name):
            record["forbidden"].append(name)
            raise SecretRead(f"environment variable {name} read while the DAG files are parsed")
        return original_getitem(self, key)

    os._Environ.__getitem__ = guarded_getitem

    # The harness itself: these must raise, or the check below proves nothing.
    probes = []
    for probe in (
        lambda: os.environ.get("WEIBO_TOKEN_6000000001"),
        lambda: os.getenv("SHENGLIANG_DINGTALK_SECRET_SHANHAI"),
        lambda: Connection.get("feishu_jiguang_secret"),
        lambda: ModelConnection.get_connection_from_secrets("smtp_default"),
        lambda: Variable.get("anything"),
    ):
        try:
            probe()
            probes.append("did not raise")
        except SecretRead:
            probes.append("raised")
    record = {"env_reads": [], "forbidden": [], "lookups": [], "probes": probes}

    bag = DagBag(dags_folder)
    record["import_errors"] = {os.path.basename(k): v for k, v in bag.import_errors.items()}
    record["dag_ids"] = sorted(bag.dag_ids)
    from airflow.configuration import conf
    record["secrets_backend"] = conf.get("secrets", "backend")
    print("DAGCHECK " + json.dumps(record))
    """
)

# A secrets backend that refuses every lookup, named by AIRFLOW__SECRETS__BACKEND in the child.
_BACKEND = textwrap.dedent(
    """
    from airflow.secrets import BaseSecretsBackend


    class RaisingSecretsBackend(BaseSecretsBackend):
        def get_conn_value(self, conn_id):
            raise RuntimeError(f"secrets backend asked for connection {conn_id} at parse time")

        def get_variable(self, key):
            raise RuntimeError(f"secrets backend asked for variable {key} at parse time")

        def get_config(self, key):
            return None
    """
)


def secret_names() -> list[str]:
    """The names of every environment variable the registry and the report config point at."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and str(key).endswith("_env"):
                    names.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for name in ("accounts.yml", "reports.yml"):
        walk(yaml.safe_load((settings.PROJECT_ROOT / "config" / name).read_text(encoding="utf-8")))
    return sorted(names)


def parse_hostile(dags_folder: Path, tmp_path: Path) -> dict:
    """Parse `dags_folder` in a child process with no WEIBO_/WECHAT_/SHENGLIANG_ variables, a secrets
    backend that raises, Connection/Variable lookups that raise, and any read of a secret-like
    environment variable raising."""
    (tmp_path / "backend").mkdir(exist_ok=True)
    (tmp_path / "backend" / "dagcheck_backend.py").write_text(_BACKEND, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not re.match(r"(WEIBO_|WECHAT_|SHENGLIANG_|AIRFLOW)", k)}
    env.pop("WAREHOUSE_URL", None)
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp_path / "backend"), str(settings.PROJECT_ROOT)]),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW_CONFIG=str(settings.PROJECT_ROOT / "airflow.cfg"),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__SECRETS__BACKEND="dagcheck_backend.RaisingSecretsBackend",
        AIRFLOW__WORKERS__SECRETS_BACKEND="dagcheck_backend.RaisingSecretsBackend",
        DAGCHECK_DAGS=str(dags_folder),
        DAGCHECK_FORBIDDEN=json.dumps(secret_names()),
    )
    done = subprocess.run(
        [sys.executable, "-c", _PARSE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("DAGCHECK ")), None)
    assert done.returncode == 0 and line, f"the parse failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result = json.loads(line.removeprefix("DAGCHECK "))
    assert result["probes"] == ["raised"] * 5, f"the harness does not make lookups raise: {result}"
    assert result["secrets_backend"] == "dagcheck_backend.RaisingSecretsBackend"
    return result


def test_dag_files_read_no_secret_while_parsed(tmp_path: Path) -> None:
    assert "WEIBO_TOKEN_6000000001" in secret_names()  # the registry's names are really guarded
    result = parse_hostile(DAGS, tmp_path)
    assert result["import_errors"] == {}
    assert result["dag_ids"] == ["daily_report", "wechat_daily", "weibo_daily"]
    assert result["forbidden"] == [] and result["lookups"] == []
    unexpected = set(result["env_reads"]) - set(PARSE_TIME_ENV)
    assert not unexpected, f"DAG files read {sorted(unexpected)} at parse time; list them with a reason"


def test_the_hostile_parse_catches_a_dag_that_reads_a_secret(tmp_path: Path) -> None:
    """The check above can fail: a DAG file that reads a token or a connection at parse time is an
    import error under it."""
    folder = tmp_path / "bad_dags"
    folder.mkdir()
    header = "import os\nimport pendulum\nfrom airflow.sdk import dag, task, Connection\n"
    body = (
        "@dag(dag_id='{name}', schedule=None, start_date=pendulum.datetime(2026, 11, 1))\n"
        "def d():\n    @task\n    def t(): pass\n    t()\nd()\n"
    )
    (folder / "reads_env.py").write_text(
        header + "TOKEN = os.environ.get('WEIBO_TOKEN_6000000001')\n" + body.format(name="reads_env")
    )
    (folder / "reads_connection.py").write_text(
        header
        + "PASSWORD = Connection.get('feishu_jiguang_secret').password\n"
        + body.format(name="reads_connection")
    )
    (folder / "clean.py").write_text(header + body.format(name="clean"))
    result = parse_hostile(folder, tmp_path)
    assert set(result["import_errors"]) == {"reads_env.py", "reads_connection.py"}
    assert "WEIBO_TOKEN_6000000001" in result["import_errors"]["reads_env.py"]
    assert "feishu_jiguang_secret" in result["import_errors"]["reads_connection.py"]
    assert result["dag_ids"] == ["clean"]
