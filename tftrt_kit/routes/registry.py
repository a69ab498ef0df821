"""The route registry: one entry per route, carrying everything the library needs to know about it.

An entry names the route, the class that converts (its stages), the manifest fields
its artifacts hold, the loader that runs them, the Triton exporter that serves them,
and whether ``convert()`` runs it by default. ``convert()``, ``load()``, manifest
validation, ``tftrt_kit.triton.export`` and the CLI all read this registry, so adding a
route is one module with one ``@register_route(...)`` entry.

Every module of the ``tftrt_kit.routes`` package is imported on first use of the
registry, which registers the built-in routes; a route defined elsewhere registers
when its module is imported.

Example:
    >>> @register_route("toy", manifest_schema={"model_file": of_type(str)},
    ...                 loader="my_package.toy:ToyModel")                      # doctest: +SKIP
    ... class ToyRoute:
    ...     def stages(self, source, context): return [Stage("export", export_toy), Stage("save", save_toy)]
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, Callable, Mapping

from tftrt_kit.errors import ConfigError
from tftrt_kit.runtime.manifest_schema import Check


@dataclasses.dataclass(frozen=True)
class RouteEntry:
    """One route, as the library knows it.

    Attributes:
        name: The route's name (``convert(routes=...)``, the manifest's ``route``).
        route: The route class; called with the route's options object when one is given.
        manifest_schema: Route-specific manifest fields and their checks (the shared
            fields of every manifest are checked too).
        loader: The artifact loader, ``loader(directory, manifest, executor)`` returning
            a callable model; or its ``"module:attribute"`` path, imported on first load.
        triton_exporter: ``exporter(name, directory, manifest, batching, skipped)``
            returning the Triton models to write, or its path; None: not exportable.
        default_order: Position among ``convert()``'s default routes; None: runs only when asked.
    """

    name: str
    route: Callable[..., Any]
    manifest_schema: Mapping[str, Check]
    loader: Callable[..., Any] | str
    triton_exporter: Callable[..., Any] | str | None = None
    default_order: int | None = None

    def load_artifact(self) -> Callable[..., Any]:
        """The loader, imported if given by path."""
        return resolve(self.loader)

    def export_triton(self) -> Callable[..., Any]:
        """The Triton exporter, imported if given by path.

        Raises:
            ConfigError: the route has none.
        """
        if self.triton_exporter is None:
            raise ConfigError(f"Expected a route with a Triton exporter. Received: route {self.name!r}, which has none.")
        return resolve(self.triton_exporter)


ROUTES: dict[str, RouteEntry] = {}
_discovered = False


def register_route(
    name: str,
    *,
    manifest_schema: Mapping[str, Check],
    loader: Callable[..., Any] | str,
    triton_exporter: Callable[..., Any] | str | None = None,
    default_order: int | None = None,
) -> Callable[[type], type]:
    """Class decorator registering a route under ``name`` (see :class:`RouteEntry` for the fields).

    Raises:
        ConfigError: another class is registered under ``name``.
    """

    def decorate(cls: type) -> type:
        existing = ROUTES.get(name)
        if existing is not None and _qualified(existing.route) != _qualified(cls):
            raise ConfigError(f"Expected one route per name. Received: {name!r} registered by {existing.route!r} and {cls!r}.")
        cls.name = name
        ROUTES[name] = RouteEntry(name, cls, dict(manifest_schema), loader, triton_exporter, default_order)
        return cls

    return decorate


def _qualified(cls: Any) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def unregister_route(name: str) -> None:
    """Remove route ``name`` from the registry (for routes registered by tests or plug-ins)."""
    ROUTES.pop(name, None)


def routes() -> dict[str, RouteEntry]:
    """Every registered route by name, importing the built-in route modules first."""
    global _discovered
    if not _discovered:
        package = importlib.import_module("tftrt_kit.routes")
        for module in pkgutil.iter_modules(package.__path__, "tftrt_kit.routes."):
            importlib.import_module(module.name)
        _discovered = True
    return ROUTES


def route_entry(name: str) -> RouteEntry:
    """The entry of route ``name``.

    Raises:
        ConfigError: no route of that name is registered.
    """
    found = routes().get(name)
    if found is None:
        raise ConfigError(f"Expected a route from {sorted(ROUTES)}. Received: {name!r}.")
    return found


def default_routes() -> tuple[str, ...]:
    """The routes ``convert()`` runs when none are named, in their default order."""
    ranked = sorted((e.default_order, e.name) for e in routes().values() if e.default_order is not None)
    return tuple(name for _, name in ranked)


def resolve(reference: Callable[..., Any] | str) -> Callable[..., Any]:
    """``reference`` itself, or the attribute a ``"module:attribute"`` path names."""
    if callable(reference):
        return reference
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
