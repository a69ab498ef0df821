"""Run a serialized TensorRT plan on a GPU through Polygraphy's ``TrtRunner``.

``TrtRunner`` does the TensorRT work: it checks every ``set_input_shape``, binds
shape-tensor inputs to host memory, gives outputs with data-dependent shapes an
output allocator, and owns the stream and device buffers. Ours decides what the
caller sees: inputs cast to the plan's dtypes, a profile that fits each call (or a
:class:`RuntimeInputError` naming the input, its shape and the profiles), host copies
of the outputs, TensorRT's own message on failure, and device memory released on
:meth:`TensorRTRunner.close` or when the runner is collected.
"""

from __future__ import annotations

import weakref
from typing import Any, Mapping

import numpy as np

from tftrt_kit._optional import require
from tftrt_kit.engines.gpu import cuda_runtime, gpu_available
from tftrt_kit.engines.plan_profiles import describe_profiles, fitting_profile
from tftrt_kit.engines.trt_log import capture
from tftrt_kit.engines.trt_module import polygraphy_bound, resolve_backend
from tftrt_kit.errors import EngineBuildError, IncompatiblePlanError, RuntimeInputError
from tftrt_kit.profiles import fits

__all__ = ["TensorRTRunner", "gpu_available"]


class TensorRTRunner:
    """Executes one plan. Construct it only where :func:`gpu_available` is true.

    Args:
        plan: Serialized engine bytes.
        backend: ``"auto"``, ``"tensorrt"`` or ``"tensorrt_rtx"`` (the module that built the plan).

    Raises:
        IncompatiblePlanError: no CUDA runtime here, or the plan does not deserialize
            (other TensorRT version or GPU), with TensorRT's message.

    Example:
        >>> with TensorRTRunner(plan, backend="tensorrt") as runner:   # doctest: +SKIP
        ...     outputs = runner({"x": batch})
    """

    name = "tensorrt"

    def __init__(self, plan: bytes, *, backend: str = "auto"):
        from polygraphy.backend.trt import EngineFromBytes, TrtRunner
        from polygraphy.exception import PolygraphyException

        module = resolve_backend(backend)
        self.trt = trt = require(module, "Running TensorRT engines")
        self.backend = f"{module} {trt.__version__}"
        try:
            cuda_runtime()
        except OSError as err:
            raise IncompatiblePlanError(f"Expected a CUDA runtime to run {self.backend} plans. Received: {err}.") from err
        runner = TrtRunner(EngineFromBytes(bytes(plan)))
        with polygraphy_bound(trt), capture() as log:
            try:
                runner.activate()
            except PolygraphyException as err:
                raise IncompatiblePlanError(
                    f"Expected a plan {self.backend} deserializes on this GPU. Received: {log.reason() or err}; "
                    "convert the model again on this machine."
                ) from None
        self._runner = runner
        self._finalizer = weakref.finalize(self, _release, runner, trt)
        engine = runner.engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        is_input = {n: engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = tuple(n for n in names if is_input[n])
        self.output_names = tuple(n for n in names if not is_input[n])
        self.shape_tensor_inputs = frozenset(n for n in self.input_names if engine.is_shape_inference_io(n))
        self.dtypes = {n: np.dtype(trt.nptype(engine.get_tensor_dtype(n))) for n in names}
        self.profiles = _engine_profiles(engine, self.input_names, self.shape_tensor_inputs)
        self.input_shapes = {n: tuple(int(d) for d in engine.get_tensor_shape(n)) for n in self.input_names}
        self._profile = 0

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on ``feeds`` (input name -> host array); returns host outputs by name.

        Raises:
            RuntimeInputError: an input is missing, or its shape (shape-tensor input: its
                values) lies outside every optimization profile of the plan.
            EngineBuildError: TensorRT failed to run the plan (TensorRT's message).
        """
        from polygraphy.exception import PolygraphyException

        if not self._finalizer.alive:
            raise RuntimeInputError("Expected an open TensorRT runner. Received: a call after close().")
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise RuntimeInputError(f"Expected inputs {list(self.input_names)}. Received: {sorted(feeds)}; missing {missing}.")
        host = {n: np.ascontiguousarray(feeds[n], dtype=self.dtypes[n]) for n in self.input_names}
        self._select_profile(host)
        with polygraphy_bound(self.trt), capture() as log:
            try:
                outputs = self._runner.infer(host, check_inputs=True)
            except PolygraphyException as err:
                raise EngineBuildError(f"Expected {self.backend} to run the plan. Received: {log.reason() or err}") from None
        # TrtRunner reuses its host buffers on the next call: hand out copies.
        return {n: np.array(outputs[n], copy=True) for n in self.output_names}

    def _select_profile(self, host: Mapping[str, np.ndarray]) -> None:
        for name, array in host.items():
            expected = self.input_shapes[name]
            if name not in self.shape_tensor_inputs and (
                array.ndim != len(expected) or any(e != -1 and e != d for e, d in zip(expected, array.shape))
            ):
                raise RuntimeInputError(
                    f"Expected input {name!r} of shape {list(expected)} (-1: any size in the profiles). Received: shape {list(array.shape)}."
                )
        observed = {n: _observed(n, a, self.shape_tensor_inputs) for n, a in host.items()}
        index = fitting_profile(observed, self.profiles, preferred=self._profile)
        if index is None:
            outside = [
                f"{n} {'values' if n in self.shape_tensor_inputs else 'shape'} {list(v)}"
                for n, v in observed.items()
                if all(n in p and not fits(p, {n: v}) for p in self.profiles)
            ] or [f"{n} shape {list(v)}" for n, v in observed.items()]
            raise RuntimeInputError(
                f"Expected inputs within one optimization profile of the plan: {describe_profiles(self.profiles)}. "
                f"Received: {', '.join(outside)}."
            )
        if index != self._profile:
            from polygraphy.exception import PolygraphyException

            with polygraphy_bound(self.trt), capture() as log:
                try:
                    self._runner.set_profile(index)
                except PolygraphyException as err:
                    raise EngineBuildError(f"Expected {self.backend} to switch to profile {index}. Received: {log.reason() or err}") from None
            self._profile = index

    def close(self) -> None:
        """Free the plan's device memory, stream and execution context (idempotent)."""
        self._finalizer()

    def __enter__(self) -> "TensorRTRunner":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TensorRTRunner(inputs={list(self.input_names)}, outputs={list(self.output_names)}, profiles={len(self.profiles)})"


def _observed(name: str, array: np.ndarray, shape_tensors: frozenset[str]) -> tuple[int, ...]:
    """What a profile constrains: a shape tensor's values, any other input's shape."""
    return tuple(int(v) for v in array.ravel()) if name in shape_tensors else tuple(array.shape)


def _engine_profiles(engine: Any, inputs: tuple[str, ...], shape_tensors: frozenset[str]) -> tuple[dict[str, tuple], ...]:
    """Each profile of the plan as ``{input: (min, opt, max)}`` over its dynamic inputs and shape tensors."""
    dynamic = [n for n in inputs if n in shape_tensors or -1 in tuple(engine.get_tensor_shape(n))]
    profiles = []
    for index in range(engine.num_optimization_profiles):
        profile = {}
        for name in dynamic:
            if name in shape_tensors:
                bounds = engine.get_tensor_profile_values(index, name)
            else:
                bounds = engine.get_tensor_profile_shape(name, index)
            profile[name] = tuple(tuple(int(d) for d in b) for b in bounds)
        profiles.append(profile)
    return tuple(profiles)


def _release(runner: Any, trt: Any) -> None:
    """Deactivate ``runner`` and free what ``deactivate`` leaves: the output allocator's device buffers."""
    with polygraphy_bound(trt), capture():
        allocator = getattr(runner, "output_allocator", None)
        for buffer in getattr(allocator, "buffers", {}).values():
            buffer.free()
        if runner.is_active:
            runner.deactivate()
