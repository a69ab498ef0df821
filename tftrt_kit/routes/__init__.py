"""Conversion routes. Each registers itself in :data:`tftrt_kit.routes.base.ROUTES`."""

from tftrt_kit.routes.base import ROUTES, RouteContext, register_route

__all__ = ["ROUTES", "RouteContext", "register_route", "load_routes"]


def load_routes() -> dict:
    """Import the built-in route modules (registering them) and return the registry."""
    import importlib

    for module in ("tftrt_kit.routes.onnx", "tftrt_kit.routes.segment"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
    return ROUTES
