"""Load check of a served segment-route artifact: concurrent tritonclient requests, answers vs the source, batching.

The server binds to 127.0.0.1 only, gets a bounded number of requests under a time
limit, and is stopped by ``load_check`` itself.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytriton", reason="nvidia-pytriton (extra 'serve') is not installed")
pytest.importorskip("tritonclient.grpc", reason="tritonclient (extra 'serve') is not installed")

from tftrt_kit.errors import ConfigError  # noqa: E402
from tftrt_kit.triton import load_check  # noqa: E402


def test_load_check_matches_source_and_sees_dynamic_batches(segment_artifact, tmp_path):
    artifact, model = segment_artifact
    result = load_check(artifact, model, requests=48, concurrency=12, timeout_s=60, max_batch_size=8,
                        max_queue_delay_us=20000, log_file=tmp_path / "triton.log")
    assert result.completed == 48 and result.failed == 0 and not result.timed_out, result
    assert result.mismatches == 0 and result.max_rel_error < 1e-4, result
    assert max(result.batch_sizes) > 1, f"no batch > 1 formed: {result.batch_sizes}"
    assert sum(b * n for b, n in result.batch_sizes.items()) == 48
    assert result.ok and result.p50_ms is not None and result.p99_ms >= result.p50_ms
    assert "mismatches 0" in str(result)



def test_load_check_bounds_are_checked(segment_artifact):
    with pytest.raises(ConfigError, match="requests > 0"):
        load_check(segment_artifact[0], requests=0)
