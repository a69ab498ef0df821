"""The local Triton server (PyTriton) on a segment-route artifact: loopback only, always stopped."""

from __future__ import annotations

import socket

import numpy as np
import pytest

pytest.importorskip("pytriton", reason="nvidia-pytriton (extra 'serve') is not installed")
grpc = pytest.importorskip("tritonclient.grpc", reason="tritonclient (extra 'serve') is not installed")

from tftrt_kit.triton import serve  # noqa: E402


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_server_answers_on_loopback_and_stops_on_error(segment_artifact, tmp_path):
    artifact, model = segment_artifact
    x = np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype(np.float32)
    with pytest.raises(RuntimeError, match="leaving the block"):
        with serve(artifact, name="cnn", max_batch_size=4, log_file=tmp_path / "triton.log") as server:
            assert server.host == "127.0.0.1" and _listening(server.grpc_port) and _listening(server.http_port)
            client = grpc.InferenceServerClient(server.grpc_url)
            request = grpc.InferInput("image", list(x.shape), "FP32")
            request.set_data_from_numpy(x)
            answer = client.infer("cnn", [request], client_timeout=30).as_numpy("output_0")
            client.close()
            np.testing.assert_allclose(answer, model(x).numpy(), rtol=1e-4, atol=1e-5)
            assert server.batch_sizes == {2: 1}
            ports = server.http_port, server.grpc_port
            raise RuntimeError("leaving the block")
    assert not any(_listening(port) for port in ports), "the server outlived its context"
