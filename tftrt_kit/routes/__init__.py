"""Conversion routes: one module per route, each with one entry in :mod:`tftrt_kit.routes.registry`."""

from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.registry import ROUTES, RouteEntry, default_routes, register_route, route_entry, routes

__all__ = ["ROUTES", "RouteContext", "RouteEntry", "default_routes", "register_route", "route_entry", "routes"]
