"""roles/prefect_server/files/alembic-head.py names the database revision a Prefect
server expects: what role prefect_server migrates a newer server's database down to
before an older Prefect starts on it. It must be the revision this Prefect's own
migrations leave a fresh database at (the harness server's)."""
import sqlite3
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "roles/prefect_server/files/alembic-head.py"


def test_head_is_the_revision_a_fresh_database_gets(prefect_harness):
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    database = PREFECT_API_DATABASE_CONNECTION_URL.value().split(":///", 1)[1]
    stamped = [r[0] for r in sqlite3.connect(database).execute("select version_num from alembic_version")]
    out = subprocess.run([sys.executable, str(SCRIPT), "sqlite"], capture_output=True, text=True, check=True).stdout
    assert out.split() == stamped and stamped, (out, stamped)


def test_each_dialect_has_one_head():
    for dialect in ("sqlite", "postgresql"):
        out = subprocess.run([sys.executable, str(SCRIPT), dialect], capture_output=True, text=True, check=True).stdout
        assert len(out.split()) == 1, (dialect, out)
