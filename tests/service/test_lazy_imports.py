"""The service's predict path loads a stored fit and predicts without PyMC, PyTensor or nutpie."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.service.test_fits import run_worker, submit

RUNNER = """
import json, sys
from fastapi.testclient import TestClient
from service.config import Settings
from service.main import create_app
data_dir, fit_id, key = sys.argv[1:4]
with TestClient(create_app(Settings(data_dir=data_dir, workers=0))) as client:
    r = client.post(
        f"/v1/projects/alpha/fits/{fit_id}/predict",
        json={"points": [{"params": 7e9, "data": 1.4e11}]},
        headers={"Authorization": f"Bearer {key}"},
    )
watch = ("pymc", "pytensor", "nutpie", "xarray")
json.dump({"status": r.status_code, "modules": [m for m in watch if m in sys.modules]}, sys.stdout)
"""


def test_predicting_from_a_stored_fit_imports_no_sampler(
    client, keys, dataset, mock_sampler, settings
):
    fit_id = submit(client, keys).json()["id"]
    assert run_worker(client) == fit_id
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(settings.data_dir), fit_id, keys.read],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    out = json.loads(result.stdout)
    # xarray: the fit really was loaded from the database in that process
    assert out == {"status": 200, "modules": ["xarray"]}, out
