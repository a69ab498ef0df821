"""Run a serialized TensorRT plan on a GPU, on the TensorRT >= 10 Python API.

Kept small on purpose: deserialize, set input shapes, bind device buffers by
tensor name, ``execute_async_v3``, copy back. Device memory and streams come from
polygraphy's CUDA wrapper (ctypes over libcudart), so no extra CUDA package is
needed. Nothing here can run without a GPU; :func:`gpu_available` says whether it can.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any, Mapping

import numpy as np

from tftrt_kit._optional import require
from tftrt_kit.engines.tensorrt_builder import resolve_backend
from tftrt_kit.errors import EngineBuildError, RuntimeInputError


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """Whether a CUDA runtime and at least one CUDA device are present."""
    try:
        from polygraphy import cuda

        count = ctypes.c_int(0)
        status = cuda.wrapper().handle.cudaGetDeviceCount(ctypes.byref(count))
    except Exception:
        return False
    return status == 0 and count.value > 0


class TensorRTRunner:
    """Executes one plan. Construct it only where :func:`gpu_available` is true.

    Args:
        plan: Serialized engine bytes.
        backend: ``"auto"``, ``"tensorrt"`` or ``"tensorrt_rtx"`` (the module that built the plan).

    Raises:
        EngineBuildError: the plan does not deserialize (other TensorRT version or GPU).
    """

    name = "tensorrt"

    def __init__(self, plan: bytes, *, backend: str = "auto"):
        from polygraphy import cuda

        module = resolve_backend(backend)
        self.trt = trt = require(module, "Running TensorRT engines")
        self._cuda = cuda
        logger = trt.Logger(trt.Logger.ERROR)
        self.engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
        if self.engine is None:
            raise EngineBuildError(
                f"Expected a plan built by this {module} {trt.__version__} for this GPU. "
                "Received: a plan that failed to deserialize; rebuild it on this machine."
            )
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = tuple(n for n in names if is_input[n])
        self.output_names = tuple(n for n in names if not is_input[n])
        self.stream = cuda.Stream()
        self._buffers: dict[str, Any] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        buffer = self._buffers.get(name)
        if buffer is None:
            buffer = self._buffers[name] = self._cuda.DeviceArray(shape=shape, dtype=dtype)
        else:
            buffer.resize(shape)
        return buffer

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on ``feeds`` (input name -> host array); returns host outputs by name."""
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise RuntimeInputError(f"Expected inputs {list(self.input_names)}. Received: {sorted(feeds)}; missing {missing}.")
        for name in self.input_names:
            host = np.ascontiguousarray(feeds[name], dtype=self.trt.nptype(self.engine.get_tensor_dtype(name)))
            self.context.set_input_shape(name, host.shape)
            device = self._buffer(name, host.shape, host.dtype)
            device.copy_from(host, stream=self.stream)
            self.context.set_tensor_address(name, device.ptr)
        outputs = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            dtype = np.dtype(self.trt.nptype(self.engine.get_tensor_dtype(name)))
            device = self._buffer(name, shape, dtype)
            self.context.set_tensor_address(name, device.ptr)
            outputs[name] = np.empty(shape, dtype=dtype)
        if not self.context.execute_async_v3(self.stream.ptr):
            raise EngineBuildError("Expected TensorRT to execute the engine. Received: execute_async_v3 returned False.")
        for name, host in outputs.items():
            self._buffers[name].copy_to(host, stream=self.stream)
        self.stream.synchronize()
        return outputs

    def __repr__(self) -> str:
        return f"TensorRTRunner(inputs={list(self.input_names)}, outputs={list(self.output_names)})"
