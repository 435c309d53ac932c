"""The base job templates that registration ships per locked Prefect version
(roles/prefect_registration/files/base-job-templates/<version>/) are exactly what
that Prefect's workers publish as their default: a lock bump without new
templates, or a hand edit, fails here."""
import json
from pathlib import Path

import prefect
import pytest
from prefect.workers.process import ProcessWorker
from prefect_docker.worker import DockerWorker

TEMPLATES = Path(__file__).resolve().parents[2] / "roles/prefect_registration/files/base-job-templates"


@pytest.mark.parametrize("pool_type,worker", [("docker", DockerWorker), ("process", ProcessWorker)])
def test_shipped_template_is_the_locked_prefects_default(pool_type, worker):
    shipped = json.loads((TEMPLATES / prefect.__version__ / f"{pool_type}.json").read_text())
    assert shipped == worker.get_default_base_job_template()
