"""TF-TRT's converter API (``tensorflow.python.compiler.tensorrt.trt_convert``) on the segment route.

TensorFlow 2.18 disabled TF-TRT; a TF-TRT script runs here after one change::

    from tftrt_kit.compat import trt_convert as trt   # was: from tensorflow.python.compiler.tensorrt import trt_convert as trt

``convert()`` segments the frozen signature and exports each segment to ONNX (and
calibrates it for INT8), ``build()`` builds a TensorRT plan per segment for the input
shapes seen, ``save()`` writes a SavedModel that plain TensorFlow loads unchanged and
``tftrt_kit.load()`` runs with the segments on TensorRT (or ONNX Runtime), and
``summary()`` prints TF-TRT's table plus why every op left in TensorFlow stayed there.
Parameters with no counterpart here are accepted and named in a ``UserWarning``.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

from tftrt_kit.compat.calling import ConvertedFunction, input_feeds
from tftrt_kit.compat.params import (  # noqa: F401 (TF-TRT's module namespace)
    DEFAULT_TRT_CONVERSION_PARAMS,
    DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES,
    PROFILE_STRATEGY_IMPLICIT_BATCH_MODE_COMPATIBLE,
    PROFILE_STRATEGY_OPTIMAL,
    PROFILE_STRATEGY_RANGE,
    PROFILE_STRATEGY_RANGE_OPTIMAL,
    TrtConversionParams,
    TrtPrecisionMode,
    check_conversion_params,
    supported_profile_strategies,
)
from tftrt_kit.compat.summary import GRAPH_INPUT_REASON, EngineRow, LeftInTensorFlow, summary_lines

_SERVE = "serve"


def _no_effect(parameter: str, value: Any, why: str, verdict: str = "has no effect here") -> None:
    warnings.warn(f"tftrt_kit.compat: {parameter}={value!r} {verdict}: {why}", UserWarning, stacklevel=3)


class TrtGraphConverterV2:
    """TF-TRT's offline converter for TF 2 SavedModels, running tftrt_kit's segment route.

    Args:
        input_saved_model_dir: The SavedModel to convert. Required.
        input_saved_model_tags: Tags to load; only ``["serve"]`` (the default) is
            honoured, others are reported (TF 2 loading ignores MetaGraph tags).
        input_saved_model_signature_key: Signature to convert (default ``serving_default``).
        use_dynamic_shape: ``None``/``True``: engines take dynamic shapes, with optimization
            profiles over every dimension. ``False`` (TF-TRT's implicit batch mode, gone
            from TensorRT 10) is reported and treated as ``True``.
        dynamic_shape_profile_strategy: ``Range`` (default), ``Optimal``, ``Range+Optimal``
            or ``ImplicitBatchModeCompatible``: how ``build()`` turns the shapes each
            segment's inputs take into its profiles, exactly as TF-TRT (see :meth:`build`).
        max_workspace_size_bytes: Workspace pool limit of each plan.
        precision_mode: ``FP32``, ``FP16`` or ``INT8`` (any case).
        minimum_segment_size: Fewest effective nodes in a segment (``-1``: no segment).
        maximum_cached_engines: Reported unless 1: one plan per segment here.
        use_calibration: INT8: calibrate on ``calibration_input_fn`` (per segment, ONNX
            Runtime post-training quantization) or use the graph's own Q/DQ nodes.
        allow_build_at_runtime: No run-time builds here (see :class:`TrtConversionParams`).
        conversion_params: A :class:`TrtConversionParams` overriding the six above
            (deprecated in TF-TRT, still accepted).

    Raises:
        ValueError: a bad precision mode, minimum segment size or profile strategy, or
            no ``input_saved_model_dir``.

    Example:
        >>> converter = TrtGraphConverterV2(input_saved_model_dir="resnet", precision_mode="FP16")  # doctest: +SKIP
        >>> converter.convert()                                                  # doctest: +SKIP
        >>> converter.build(input_fn=lambda: iter([np.zeros((8, 224, 224, 3), "float32")]))  # doctest: +SKIP
        >>> converter.save("resnet_trt")                                         # doctest: +SKIP
        >>> converter.summary()                                                  # doctest: +SKIP
    """

    def __init__(
        self,
        input_saved_model_dir: str | Path | None = None,
        input_saved_model_tags: list[str] | None = None,
        input_saved_model_signature_key: str | None = None,
        use_dynamic_shape: bool | None = None,
        dynamic_shape_profile_strategy: str | None = None,
        max_workspace_size_bytes: int = DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES,
        precision_mode: str = TrtPrecisionMode.FP32,
        minimum_segment_size: int = 3,
        maximum_cached_engines: int = 1,
        use_calibration: bool = True,
        allow_build_at_runtime: bool = True,
        conversion_params: TrtConversionParams | None = None,
    ):
        if conversion_params is None:
            conversion_params = TrtConversionParams(
                max_workspace_size_bytes, precision_mode, minimum_segment_size, maximum_cached_engines, use_calibration, allow_build_at_runtime
            )
        else:
            warnings.warn("conversion_params is deprecated (as in TF-TRT): pass the converter parameters directly.", DeprecationWarning, stacklevel=2)
        check_conversion_params(conversion_params)
        if input_saved_model_dir is None:
            raise ValueError("Expected input_saved_model_dir, the SavedModel to convert. Received: input_saved_model_dir=None")
        strategy = dynamic_shape_profile_strategy or PROFILE_STRATEGY_RANGE
        if strategy.lower() not in [s.lower() for s in supported_profile_strategies()]:
            raise ValueError(f"Expected dynamic_shape_profile_strategy in {supported_profile_strategies()}. Received: {dynamic_shape_profile_strategy!r}")
        if strategy.lower() == PROFILE_STRATEGY_IMPLICIT_BATCH_MODE_COMPATIBLE.lower():
            warnings.warn("dynamic_shape_profile_strategy='ImplicitBatchModeCompatible' is deprecated (as in TF-TRT).", DeprecationWarning, stacklevel=2)
        if input_saved_model_tags is not None and list(input_saved_model_tags) != [_SERVE]:
            _no_effect("input_saved_model_tags", input_saved_model_tags, "TF 2 SavedModels load by object graph; the 'serve' MetaGraph is used.")
        if use_dynamic_shape is False:
            _no_effect("use_dynamic_shape", False, "implicit batch mode is gone from TensorRT 10; engines use explicit batch with profiles from build().")
        if conversion_params.maximum_cached_engines != 1:
            _no_effect("maximum_cached_engines", conversion_params.maximum_cached_engines, "each segment has one plan; inputs outside its profile run on ONNX Runtime.")
        self._params = conversion_params
        self._input_saved_model_dir = input_saved_model_dir
        self._signature_key = input_saved_model_signature_key or "serving_default"
        self._profile_strategy = strategy
        self._precision = conversion_params.precision_mode.lower()
        self._need_calibration = self._precision == "int8" and conversion_params.use_calibration
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._source: Any = None
        self._result: Any = None
        self._model: Any = None
        self._build_called_once = False

    @property
    def route_result(self) -> Any:
        """The segment route's :class:`~tftrt_kit.report.RouteResult` (timings, segments, fallbacks, coverage).

        Raises:
            RuntimeError: before ``convert()``.
        """
        self._require_converted("route_result")
        return self._result

    @property
    def source(self) -> Any:
        """The loaded :class:`~tftrt_kit.source.Source` (signature specs, frozen graph; ``run()`` gives reference outputs).

        Raises:
            RuntimeError: before ``convert()``.
        """
        self._require_converted("source")
        return self._source

    @property
    def artifact_dir(self) -> Path:
        """The converted artifact (a temporary directory until ``save()`` copies it)."""
        self._require_converted("artifact_dir")
        return Path(self._result.artifact_dir)

    def _require_converted(self, what: str) -> None:
        if self._result is None:
            raise RuntimeError(f"Impossible to call `{type(self).__name__}.{what}` before calling {type(self).__name__}.convert().")

    def convert(self, calibration_input_fn: Callable[[], Iterable[Any]] | None = None) -> ConvertedFunction:
        """Segment the signature, export each segment to ONNX and, for INT8, calibrate it.

        Args:
            calibration_input_fn: INT8 with ``use_calibration`` only: a generator function
                yielding inputs (a tuple/list in signature order, a dict, or one array).

        Returns:
            The converted function (a :class:`ConvertedFunction`).

        Raises:
            RuntimeError: ``convert()`` was already called.
            ValueError: ``calibration_input_fn`` missing though INT8 calibration is needed,
                given though it is not, or yielding inputs that do not fit the signature.
            tftrt_kit.TftrtKitError: the model does not load or cannot be segmented.
        """
        from tftrt_kit.routes.base import RouteContext
        from tftrt_kit.routes.segment import SegmentOptions, SegmentRoute
        from tftrt_kit.source import load_source

        if self._result is not None:
            raise RuntimeError("convert() is already called. It is not supported to call convert() more than once.")
        if self._need_calibration and not calibration_input_fn:
            raise ValueError("Should specify calibration_input_fn because INT8 calibration is needed")
        if not self._need_calibration and calibration_input_fn:
            raise ValueError("Should not specify calibration_input_fn because INT8 calibration is not needed")
        source = load_source(self._input_saved_model_dir, signature=self._signature_key)
        calibration = input_feeds(calibration_input_fn, source.inputs, "calibration_input_fn") if calibration_input_fn else None
        precision = self._precision
        if precision == "int8" and not self._need_calibration:
            precision = self._qdq_precision(source)
        minimum = self._params.minimum_segment_size
        options = SegmentOptions(
            minimum_segment_size=minimum if minimum > 0 else len(source.graph_def.node) + 1,
            rule_precision="int8" if self._precision == "int8" else None,
        )
        self._workdir = tempfile.TemporaryDirectory(prefix="tftrt_kit_compat_")
        # TF-TRT calibrated with TensorRT's entropy calibrator (IInt8EntropyCalibrator2).
        context = RouteContext(
            output_dir=Path(self._workdir.name), precision=precision, build_plans=False, calibration_data=calibration, calibration_method="entropy"
        )
        self._result = SegmentRoute(options)(source, context)
        self._source = source
        return ConvertedFunction(self)

    @staticmethod
    def _qdq_precision(source: Any) -> str:
        """INT8 without calibration: TensorRT takes its ranges from the graph's Q/DQ nodes, exported as they are."""
        qdq = {n.op for n in source.graph_def.node if n.op.startswith(("QuantizeAndDequantize", "FakeQuant"))}
        if not qdq:
            warnings.warn(
                "precision_mode='INT8' with use_calibration=False expects quantization nodes (QuantizeAndDequantizeV2/V3/V4, "
                "FakeQuant*) in the graph; it has none, so the segments carry no INT8 ranges and compute in FP32.",
                UserWarning,
                stacklevel=3,
            )
        return "fp32"

    def build(self, input_fn: Callable[[], Iterable[Any]]) -> None:
        """Build a TensorRT plan per segment for the input shapes ``input_fn`` yields.

        As TF-TRT, the source graph runs on every element and each segment records the
        shapes its inputs take (every dimension, each input with its own leading size);
        ``dynamic_shape_profile_strategy`` turns them into that segment's optimization
        profiles (:func:`tftrt_kit.compat.profile_strategies.strategy_profiles`: ``Range`` one profile
        from the elementwise min to max with opt = max, ``Optimal`` one per distinct
        shape set, ``Range+Optimal`` both, ``ImplicitBatchModeCompatible`` one per shape
        set from batch 1). Without TensorRT (``tensorrt`` or ``tensorrt_rtx``) installed
        no plan is built and a warning says so.

        Args:
            input_fn: A generator function yielding inputs like ``calibration_input_fn``.

        Raises:
            NotImplementedError: ``build()`` was already called.
            RuntimeError: ``input_fn`` is None, or ``convert()`` was not called.
            ValueError: the inputs do not fit the signature.
        """
        if self._build_called_once:
            raise NotImplementedError("build() is already called. It is not supported to call build() more than once.")
        if not input_fn:
            raise RuntimeError("input_fn is None. Method build() needs input_fn to be specified in order to build TensorRT engines")
        if self._result is None:
            raise RuntimeError("Need to call convert() before build()")
        from tftrt_kit.compat.profile_strategies import strategy_profiles
        from tftrt_kit.routes.segment_profiles import observed_shapes

        batches = input_feeds(input_fn, self._source.inputs, "input_fn", same_rows=False)
        segments = [s for s in self._result.segments]
        seen = observed_shapes(self._source, sorted({t for s in segments for t in s.inputs}), batches)
        profiles = {s.name: strategy_profiles([{t: shapes[t] for t in s.inputs} for shapes in seen], self._profile_strategy) for s in segments}
        self._build_plans(profiles)
        self._build_called_once = True
        self._model = None

    def _build_plans(self, profiles: dict[str, list]) -> None:
        import onnx

        from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, read_manifest, write_manifest
        from tftrt_kit.engines.tensorrt_builder import BuildOptions
        from tftrt_kit.routes.base import RouteContext
        from tftrt_kit.routes.engine_step import check_and_build
        from tftrt_kit.routes.segment import onnx_inputs_only, record_plan

        assets = self.artifact_dir / SEGMENT_ASSETS
        manifest = read_manifest(self.artifact_dir)
        context = RouteContext(output_dir=self.artifact_dir, precision=self._result.precision, build_plans=True)
        for entry in manifest["parts"]:
            if entry["kind"] != "segment":
                continue
            model = onnx.load(str(assets / entry["onnx_file"]))
            options = BuildOptions(
                precision=self._result.precision,
                profiles=onnx_inputs_only(profiles[entry["name"]], model),
                workspace_bytes=self._params.max_workspace_size_bytes,
            )
            outcome = check_and_build(model, context, options)
            if outcome.skipped:
                warnings.warn(f"build(): no TensorRT plan built ({outcome.skipped}); segments run on ONNX Runtime.", UserWarning, stacklevel=3)
                return
            if outcome.plan is None:
                warnings.warn(f"build(): segment {entry['name']} has no plan ({outcome.check.error}); it runs on ONNX Runtime.", UserWarning, stacklevel=3)
            record_plan(entry, outcome, assets)
        write_manifest(assets, manifest)

    def save(self, output_saved_model_dir: str | Path, save_gpu_specific_engines: bool = True, options: Any = None) -> None:
        """Write the converted SavedModel: the source's signatures unchanged, the segments and their plans.

        ``tf.saved_model.load(dir)`` runs it in plain TensorFlow; ``tftrt_kit.load(dir)`` runs
        the segments on TensorRT (or ONNX Runtime). An existing SavedModel directory is replaced.

        Args:
            output_saved_model_dir: Where to write.
            save_gpu_specific_engines: ``False`` leaves the plans out (reported: nothing
                rebuilds them at run time; segments then run on ONNX Runtime).
            options: ``tf.saved_model.SaveOptions``; reported and unused (the SavedModel is
                written by ``convert()``).

        Raises:
            RuntimeError: ``convert()`` was not called.
            tftrt_kit.OutputDirError: the directory exists, is not empty and holds no SavedModel.
        """
        from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, atomic_directory, read_manifest, write_manifest

        self._require_converted("save()")
        if options is not None:
            _no_effect("options", options, "the SavedModel was written by convert(); save() copies it.")
        if not self._build_called_once and self._params.allow_build_at_runtime:
            _no_effect("allow_build_at_runtime", True, "no engine is built at run time; call build(input_fn) before save() to save plans, else segments run on ONNX Runtime.")
        if not save_gpu_specific_engines:
            _no_effect("save_gpu_specific_engines", False, "plans are left out and nothing rebuilds them at run time; segments run on ONNX Runtime.")
        target = Path(output_saved_model_dir)
        replace = (target / "saved_model.pb").is_file()
        with atomic_directory(target, overwrite=replace) as staging:
            shutil.copytree(self.artifact_dir, staging, dirs_exist_ok=True)
            if not save_gpu_specific_engines:
                manifest = read_manifest(staging)
                for entry in manifest["parts"]:
                    if entry.get("plan_file"):
                        (staging / SEGMENT_ASSETS / entry["plan_file"]).unlink()
                        entry["plan_file"] = entry["plan_backend"] = None
                write_manifest(staging / SEGMENT_ASSETS, manifest)

    def summary(self, line_length: int = 160, detailed: bool = True, print_fn: Callable[..., Any] | None = None) -> None:
        """Print TF-TRT's conversion table, then every op left in TensorFlow with the reason.

        Args:
            line_length: Table width, at least 160.
            detailed: Show each engine's op histogram and node names.
            print_fn: Called once per item (default ``print``); pass a collector to capture it.

        Raises:
            RuntimeError: ``convert()`` was not called.
            ValueError: ``line_length`` below 160.
        """
        from tftrt_kit.runtime.artifact import read_manifest

        self._require_converted("summary()")
        print_fn = print_fn or print
        histograms = {s.name: s.op_histogram for s in self._result.segments}
        entries = [e for e in read_manifest(self.artifact_dir)["parts"] if e["kind"] == "segment"]
        engines = [EngineRow.from_manifest(e, histograms[e["name"]]) for e in entries]
        inputs = sum(1 for n in self._source.graph_def.node if n.op == "Placeholder")
        left = [LeftInTensorFlow(f.op_type, f.count, f.reason) for f in self._result.fallbacks]
        if inputs:
            left.append(LeftInTensorFlow("Placeholder", inputs, GRAPH_INPUT_REASON))
        for item in summary_lines(engines, left, len(self._source.graph_def.node), line_length=line_length, detailed=detailed):
            print_fn(item)

    def _runtime_model(self) -> Any:
        from tftrt_kit.runtime.loader import load

        if self._model is None:
            self._model = load(self.artifact_dir)
        return self._model


#: ``tf.experimental.tensorrt.Converter`` and ``ConversionParams``.
Converter = TrtGraphConverterV2
ConversionParams = TrtConversionParams
