"""The TensorRT step shared by routes: check acceptance, build a plan where a builder exists."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from tftrt_kit.engines.tensorrt_builder import BuildOptions, TensorRTBuilder, TensorRTCheck
from tftrt_kit.errors import EngineBuildError, MissingDependencyError
from tftrt_kit.profiles import Profile
from tftrt_kit.routes.base import RouteContext


@dataclasses.dataclass
class EngineOutcome:
    """What the TensorRT step produced: a plan (maybe), the check, or why it was skipped."""

    plan: bytes | None = None
    check: TensorRTCheck | None = None
    skipped: str | None = None
    module: str | None = None


def check_and_build(
    model: Any,
    context: RouteContext,
    options: BuildOptions | None = None,
    *,
    profiles: Sequence[Profile] | None = None,
    shape_values: Sequence[Profile] | None = None,
) -> EngineOutcome:
    """Parse ``model`` with TensorRT and build a plan when ``context.build_plans``.

    A missing TensorRT module is not an error here: the outcome is "skipped" with
    the install hint, and the route goes on with its ONNX artifact. A parser or
    build refusal is recorded in the check (``accepted=False`` / ``error`` holding
    TensorRT's own message), and the outcome has no plan. So is a dynamic dim with
    no size (``context.profiles.missing``): the model is parse-checked only and the
    check's ``error`` says which ``shapes=`` to pass.

    Args:
        model: The ``onnx.ModelProto``.
        context: The route context (precision, backend, whether to build, profiles).
        options: Build options; default: the context's precision and ``profiles``.
        profiles: Optimization profiles of the plan; default: the context's, over the
            source's inputs (a segment passes its own, over its boundary tensors), or
            the builder's batch profile 1/8/32 when the context has none.
        shape_values: Per profile, the values of the shape-tensor inputs; default: the
            context's (``shapes={"dims": {"values": ...}}``) when ``profiles`` is default too.
    """
    try:
        builder = TensorRTBuilder(context.backend)
    except MissingDependencyError as err:
        return EngineOutcome(skipped=str(err))
    plan = context.profiles
    no_plan = plan.no_plan_reason if plan is not None else None
    if not context.build_plans or no_plan:
        check = builder.check(model)
        check.error = no_plan if context.build_plans else None
        return EngineOutcome(check=check, module=builder.module_name)
    if options is None:
        if profiles is None and plan is not None:
            profiles = plan.profiles
            shape_values = plan.values if shape_values is None else shape_values
        options = context.engine.build_options(context.precision, profiles, shape_values)
    try:
        plan, check = builder.build(model, options)
    except EngineBuildError as err:
        # The failed attempt's check holds every refused node, or TensorRT's own build message.
        check = err.check if err.check is not None else builder.check(model)
        check.precision = options.precision
        check.error = check.error or str(err)
        return EngineOutcome(check=check, module=builder.module_name)
    return EngineOutcome(plan=plan, check=check, module=builder.module_name)
