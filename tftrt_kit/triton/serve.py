"""``tftrt_kit.triton.serve``: a local Triton server (through PyTriton) serving an artifact.

PyTriton starts the Triton server bundled in its wheel, with a Python-backend proxy
model that hands each batch the dynamic batcher formed to a callable in this
process: here, the artifact loaded by ``tftrt_kit.load()``. Production Triton
serves the repository written by :func:`tftrt_kit.triton.export` instead; the HTTP
and gRPC protocols, the model's inputs and the batching are the same.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from tftrt_kit._optional import require
from tftrt_kit.dtypes import numpy_dtype
from tftrt_kit.errors import ConfigError, ServerError
from tftrt_kit.triton.config import BatchingOptions

LOOPBACK = "127.0.0.1"


@dataclasses.dataclass
class LocalServer:
    """A running local Triton server.

    Attributes:
        model_name: The served model.
        host: The address it is bound to.
        http_port: HTTP/REST port.
        grpc_port: gRPC port.
        model: The in-process model (``tftrt_kit.load``) the server calls.
        batching: The batching it was configured with.
        batch_sizes: Batch size -> how many times the model was called with it
            (what the dynamic batcher formed, seen inside the served callable).
    """

    model_name: str
    host: str
    http_port: int
    grpc_port: int
    model: Any
    batching: BatchingOptions
    batch_sizes: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def http_url(self) -> str:
        """``host:port`` of the HTTP endpoint (as tritonclient.http expects it)."""
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        """``host:port`` of the gRPC endpoint (as tritonclient.grpc expects it)."""
        return f"{self.host}:{self.grpc_port}"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve(
    artifact: str | Path,
    *,
    host: str = LOOPBACK,
    http_port: int | None = None,
    grpc_port: int | None = None,
    name: str = "model",
    max_batch_size: int = 16,
    instances: int = 1,
    preferred_batch_sizes: tuple[int, ...] | None = None,
    max_queue_delay_us: int = 2000,
    executor: str = "auto",
    log_file: str | Path | None = None,
) -> Iterator[LocalServer]:
    """Serve ``artifact`` on a local Triton server with dynamic batching; stop it on exit.

    Args:
        artifact: An artifact directory written by ``convert()`` (either route).
        host: Address every endpoint binds to (loopback by default: a local test server).
        http_port: HTTP port; default: a free one.
        grpc_port: gRPC port; default: a free one.
        name: The model name clients call.
        max_batch_size: Largest batch the dynamic batcher forms.
        instances: Copies of the callable Triton may run at once.
        preferred_batch_sizes: Batch sizes the batcher aims for (default: powers of two up to the maximum).
        max_queue_delay_us: How long a request waits for others to join its batch.
        executor: Passed to ``tftrt_kit.load`` (``auto``, ``tensorrt``, ``onnxruntime``, ``tensorflow``).
        log_file: Write the server's log to this file rather than standard output.

    Yields:
        The :class:`LocalServer`, ready for requests.

    Raises:
        MissingDependencyError: ``nvidia-pytriton`` (extra ``serve``) is not installed.
        ConfigError: the artifact's batch dimension is static (nothing to batch), or a bad option.
        ArtifactError: the artifact does not load.
        ServerError: the server did not start or did not load the model.

    Example:
        >>> with tftrt_kit.triton.serve("out/segment") as server:                 # doctest: +SKIP
        ...     client = tritonclient.grpc.InferenceServerClient(server.grpc_url)
    """
    require("pytriton", "Serving with a local Triton server")
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    from tftrt_kit.runtime.loader import load

    batching = BatchingOptions(max_batch_size, instances, True, preferred_batch_sizes, max_queue_delay_us)
    model = load(artifact, executor=executor)
    if not all(s.has_dynamic_batch for s in (*model.inputs, *model.outputs)):
        raise ConfigError(
            f"Expected an artifact with a dynamic batch dimension to serve with dynamic batching. "
            f"Received: inputs {[list(s.shape) for s in model.inputs]} in {str(artifact)!r}."
        )
    server = LocalServer(name, host, http_port or free_port(host), grpc_port or free_port(host), model, batching)
    config = TritonConfig(
        http_address=host, http_port=server.http_port, grpc_address=host, grpc_port=server.grpc_port,
        allow_metrics=False, allow_sagemaker=False, allow_vertex_ai=False, exit_timeout_secs=5,
        log_file=Path(log_file).resolve() if log_file is not None else None,
    )
    triton = Triton(config=config)
    try:
        triton.bind(
            model_name=name,
            infer_func=[_infer_function(server)] * instances,
            inputs=[Tensor(name=s.name, dtype=numpy_dtype(s.dtype), shape=_dims(s.shape)) for s in model.inputs],
            outputs=[Tensor(name=s.name, dtype=numpy_dtype(s.dtype), shape=_dims(s.shape)) for s in model.outputs],
            config=ModelConfig(max_batch_size=max_batch_size, batcher=DynamicBatcher(
                max_queue_delay_microseconds=max_queue_delay_us, preferred_batch_size=list(batching.preferred(max_batch_size)),
            )),
            strict=True,
        )
        with python_backend_environment():
            try:
                triton.run()
            except Exception as err:
                where = f"; server log: {log_file}" if log_file is not None else ""
                raise ServerError(f"Expected the local Triton server to start and load model {name!r}. "
                                  f"Received: {type(err).__name__}: {str(err)[:500]}{where}") from err
        yield server
    finally:
        _stop(triton)


def _dims(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    return tuple(-1 if d is None else d for d in shape[1:])


def _infer_function(server: LocalServer) -> Any:
    from pytriton.decorators import batch

    lock = threading.Lock()
    dtypes = {s.name: numpy_dtype(s.dtype) for s in server.model.outputs}

    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        with lock:
            server.batch_sizes[len(next(iter(inputs.values())))] += 1
        outputs = server.model(inputs)
        return {name: np.asarray(outputs[name], dtype=dtype) for name, dtype in dtypes.items()}

    return infer


def _stop(triton: Any) -> None:
    """Stop the server; a server that never started has nothing to stop (PyTriton's stop would fail on it)."""
    if getattr(triton, "_triton_server", None) is None:
        triton._workspace.clean()
        return
    triton.stop()


@contextlib.contextmanager
def python_backend_environment() -> Iterator[None]:
    """Put the interpreter's own ``libpython`` first on ``LD_LIBRARY_PATH`` while the server starts.

    Triton's Python-backend stub links ``libpython3.X.so``. In a virtualenv of a Python
    built outside the system (pyenv, conda), the loader would otherwise find the
    system's libpython of the same version, whose ABI differs, and the model fails to
    load (``'_thread.RLock' object has no attribute '_recursion_count'``). PyTriton
    copies ``os.environ`` into the server process when it starts it, so the change is
    scoped to the start and undone afterwards; this process's own libraries were bound
    at its start and are unaffected.
    """
    library_dir = Path(sys.base_prefix) / "lib"
    if not any(library_dir.glob(f"libpython{sys.version_info.major}.{sys.version_info.minor}*.so*")):
        yield
        return
    previous = os.environ.get("LD_LIBRARY_PATH")
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(library_dir), previous) if p)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = previous
