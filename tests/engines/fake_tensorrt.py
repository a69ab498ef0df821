"""A fake ``tensorrt`` module shaped like the TensorRT 10 Python API, and a fake CUDA runtime.

Enough of the API for Polygraphy's ``EngineFromBytes`` and ``TrtRunner`` to run a
"plan" without a GPU: the plan is JSON naming its tensors, profiles and one op; the
execution context behaves as TensorRT's does where the runner's logic depends on it
(``set_input_shape`` returns False outside the active profile, shape tensors are read
from host memory, data-dependent outputs go through the output allocator). "Device"
memory is host memory handed out by :class:`FakeCuda`, which counts what is live.
"""

from __future__ import annotations

import ctypes
import enum
import json
import types
from typing import Any

import numpy as np
from polygraphy.cuda import cuda as polygraphy_cuda


class FakeCuda(polygraphy_cuda.Cuda):
    """Polygraphy's CUDA wrapper over host memory: malloc/free/memcpy/streams, with live counts."""

    def __init__(self) -> None:  # no libcudart to find
        self.handle = None
        self.live: dict[int, Any] = {}
        self.streams: set[int] = set()
        self._next_stream = 1

    def malloc(self, nbytes: int) -> int:
        buffer = ctypes.create_string_buffer(max(int(nbytes), 1))
        address = ctypes.addressof(buffer)
        self.live[address] = buffer
        return address

    def free(self, ptr: int) -> None:
        if ptr:
            del self.live[ptr]

    def memcpy(self, dst: int, src: int, nbytes: int, kind: Any, stream_ptr: int | None = None) -> None:
        ctypes.memmove(dst, src, int(nbytes))

    def create_stream(self) -> int:
        self._next_stream += 1
        self.streams.add(self._next_stream)
        return self._next_stream

    def destroy_stream(self, ptr: int) -> None:
        self.streams.remove(ptr)

    def stream_synchronize(self, ptr: int) -> None:
        pass


class DataType(enum.Enum):
    FLOAT = np.float32
    HALF = np.float16
    INT32 = np.int32
    INT64 = np.int64
    INT8 = np.int8
    BOOL = np.bool_


_DTYPES = {"float32": DataType.FLOAT, "float16": DataType.HALF, "int32": DataType.INT32, "int64": DataType.INT64}


def plan(inputs: dict, outputs: dict, profiles: list, op: str) -> bytes:
    """A fake plan: ``inputs``/``outputs`` map names to ``{"dtype", "shape"[, "shape_tensor"]}``;
    ``profiles`` is a list of ``{input: [min, opt, max]}``; ``op`` applies to the first input:
    ``affine`` (y = 2x + 1), ``positive_indices`` (data-dependent length) or ``reshape``
    (to the values of the shape-tensor input ``shape``)."""
    return b"FAKE" + json.dumps({"inputs": inputs, "outputs": outputs, "profiles": profiles, "op": op}).encode()


def make_fake_tensorrt() -> types.ModuleType:
    """A fresh module object named ``tensorrt`` (version 10.13.0)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.13.0"
    trt.DataType = DataType
    trt.float32, trt.float16, trt.int32, trt.int64, trt.int8, trt.bool = (
        DataType.FLOAT, DataType.HALF, DataType.INT32, DataType.INT64, DataType.INT8, DataType.BOOL,
    )
    trt.nptype = lambda dtype: dtype.value
    trt.TensorIOMode = enum.Enum("TensorIOMode", "NONE INPUT OUTPUT")
    trt.TensorFormat = enum.Enum("TensorFormat", "LINEAR CHW2 HWC8 CHW4 CHW16 CHW32 DHWC8 CDHW32 HWC DLA_LINEAR DLA_HWC4 HWC16 DHWC CHW")
    trt.TensorLocation = enum.Enum("TensorLocation", "DEVICE HOST")
    trt.ExecutionContextAllocationStrategy = enum.Enum("ExecutionContextAllocationStrategy", "STATIC ON_PROFILE_CHANGE USER_MANAGED")

    class Logger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

    class ILogger:
        def __init__(self) -> None:
            self.min_severity = Logger.WARNING

    class IOutputAllocator:
        def __init__(self) -> None:
            pass

    class IDebugListener:
        def __init__(self) -> None:
            pass

    class Runtime:
        def __init__(self, logger: Any) -> None:
            self.logger = logger

        def deserialize_cuda_engine(self, data: bytes) -> Any:
            if not bytes(data).startswith(b"FAKE"):
                self.logger.log(Logger.ERROR, "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (magic tag does not match)")
                return None
            return ICudaEngine(json.loads(bytes(data)[4:]))

    class ICudaEngine:
        def __init__(self, spec: dict) -> None:
            self.spec = spec
            self.tensors = {**{n: {**t, "mode": trt.TensorIOMode.INPUT} for n, t in spec["inputs"].items()},
                            **{n: {**t, "mode": trt.TensorIOMode.OUTPUT} for n, t in spec["outputs"].items()}}
            self.names = list(self.tensors)
            self.contexts = 0

        num_io_tensors = property(lambda self: len(self.names))
        num_optimization_profiles = property(lambda self: max(len(self.spec["profiles"]), 1))

        def get_tensor_name(self, index: int) -> str:
            return self.names[index]

        def get_tensor_mode(self, name: str) -> Any:
            return self.tensors[name]["mode"]

        def get_tensor_shape(self, name: str) -> tuple:
            return tuple(self.tensors[name]["shape"])

        def get_tensor_dtype(self, name: str) -> Any:
            return _DTYPES[self.tensors[name]["dtype"]]

        def get_tensor_format(self, name: str, profile: int = 0) -> Any:
            return trt.TensorFormat.LINEAR

        def is_shape_inference_io(self, name: str) -> bool:
            return bool(self.tensors[name].get("shape_tensor"))

        def get_tensor_profile_shape(self, name: str, index: int) -> list:
            assert not self.is_shape_inference_io(name)
            return [tuple(s) for s in self.spec["profiles"][index][name]]

        def get_tensor_profile_values(self, index: int, name: str) -> list:
            assert self.is_shape_inference_io(name)
            return [tuple(s) for s in self.spec["profiles"][index][name]]

        def create_execution_context(self, strategy: Any = None) -> Any:
            self.contexts += 1
            return IExecutionContext(self)

    class IExecutionContext:
        def __init__(self, engine: ICudaEngine) -> None:
            self.engine = engine
            self.active_optimization_profile = 0
            self.shapes = {n: engine.get_tensor_shape(n) for n in engine.names}
            self.addresses: dict[str, int] = {}
            self.allocators: dict[str, Any] = {}

        def set_optimization_profile_async(self, index: int, stream: int) -> bool:
            if not 0 <= index < self.engine.num_optimization_profiles:
                return False
            self.active_optimization_profile = index
            return True

        def get_tensor_shape(self, name: str) -> tuple:
            return tuple(self.shapes[name])

        def set_input_shape(self, name: str, shape: tuple) -> bool:
            profiles = self.engine.spec["profiles"]
            if self.engine.is_shape_inference_io(name):
                return tuple(shape) == self.engine.get_tensor_shape(name)
            if profiles and name in profiles[self.active_optimization_profile]:
                low, _, high = profiles[self.active_optimization_profile][name]
                if len(shape) != len(low) or not all(a <= d <= b for a, d, b in zip(low, shape, high)):
                    return False
            self.shapes[name] = tuple(shape)
            return True

        def get_tensor_address(self, name: str) -> int:
            return self.addresses.get(name, 0)

        def set_tensor_address(self, name: str, ptr: int) -> bool:
            self.addresses[name] = ptr
            return True

        def set_output_allocator(self, name: str, allocator: Any) -> bool:
            self.allocators[name] = allocator
            return True

        def _read(self, name: str) -> np.ndarray:
            dtype = self.engine.get_tensor_dtype(name).value
            shape = self.shapes[name] if not self.engine.is_shape_inference_io(name) else tuple(self.engine.get_tensor_shape(name))
            count = int(np.prod(shape))
            raw = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(self.addresses[name])
            return np.frombuffer(bytes(raw), dtype=dtype).reshape(shape)

        def execute_async_v3(self, stream: int) -> bool:
            spec = self.engine.spec
            inputs = {n: self._read(n) for n in spec["inputs"]}
            first = next(iter(inputs.values()))
            if spec["op"] == "affine":
                results = [2 * first + 1]
            elif spec["op"] == "positive_indices":
                results = [np.flatnonzero(first > 0).astype(np.int64)]
            elif spec["op"] == "reshape":
                results = [first.reshape(tuple(int(v) for v in inputs["shape"]))]
            else:
                return False
            for name, value in zip(spec["outputs"], results):
                value = np.ascontiguousarray(value, dtype=self.engine.get_tensor_dtype(name).value)
                allocator = self.allocators[name]
                ptr = allocator.reallocate_output_async(name, 0, max(value.nbytes, 1), 256, stream)
                ctypes.memmove(ptr, value.ctypes.data, value.nbytes)
                allocator.notify_shape(name, value.shape)
            return True

    trt.Logger, trt.ILogger, trt.IOutputAllocator, trt.IDebugListener = Logger, ILogger, IOutputAllocator, IDebugListener
    trt.Runtime, trt.ICudaEngine, trt.IExecutionContext = Runtime, ICudaEngine, IExecutionContext
    trt.init_libnvinfer_plugins = lambda logger, namespace: True
    return trt
