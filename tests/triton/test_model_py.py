"""The Python-backend model.py, run against a stand-in for Triton's ``triton_python_backend_utils``."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from tftrt_kit.triton.model_py import TritonPythonModel


class _Tensor:
    def __init__(self, name, array):
        self.name, self.array = name, array

    def as_numpy(self):
        return self.array


class _Response:
    def __init__(self, output_tensors=None, error=None):
        self.outputs = {t.name: t.array for t in output_tensors or []}
        self.error = error


@pytest.fixture
def pb_utils(monkeypatch):
    """A minimal ``triton_python_backend_utils``: requests are dicts of arrays."""
    module = types.ModuleType("triton_python_backend_utils")
    module.Tensor = _Tensor
    module.InferenceResponse = _Response
    module.TritonError = str
    module.get_input_tensor_by_name = lambda request, name: _Tensor(name, request[name])
    module.triton_string_to_numpy = lambda name: {"TYPE_FP32": np.float32}[name]
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", module)
    return module


def _model(tmp_path, artifact, max_batch_size):
    version = tmp_path / "m" / "1"
    version.mkdir(parents=True)
    (version / "artifact").symlink_to(artifact, target_is_directory=True)
    config = {"max_batch_size": max_batch_size, "input": [{"name": "image"}], "output": [{"name": "output_0", "data_type": "TYPE_FP32"}]}
    model = TritonPythonModel()
    model.initialize({"model_config": json.dumps(config), "model_repository": str(tmp_path / "m"), "model_version": "1"})
    return model


def test_batched_requests_run_once_and_split_back(tmp_path, pb_utils, artifacts):
    model = _model(tmp_path, artifacts().routes["segment"].artifact_dir, 8)
    calls = []
    inner = model.model
    model.model = lambda feeds: calls.append(len(feeds["image"])) or inner(feeds)
    rng = np.random.default_rng(0)
    requests = [{"image": rng.standard_normal((rows, 16, 16, 3)).astype(np.float32)} for rows in (1, 3, 2)]
    responses = model.execute(requests)
    assert calls == [6]
    for request, response in zip(requests, responses):
        np.testing.assert_allclose(response.outputs["output_0"], inner(request)["output_0"], rtol=1e-5, atol=1e-6)


def test_refused_inputs_answer_every_request_with_an_error(tmp_path, pb_utils, artifacts):
    model = _model(tmp_path, artifacts().routes["segment"].artifact_dir, 8)
    responses = model.execute([{"image": np.zeros((1, 4, 4, 3), np.float32)}] * 2)
    assert len(responses) == 2 and all("RuntimeInputError" in r.error for r in responses)
