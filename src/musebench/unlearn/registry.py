"""The method registry: the built-in methods plus those other installed packages register.

A package adds methods through the entry-point group ``musebench.methods`` (``docs/adding_a_method.md``)::

    [project.entry-points."musebench.methods"]
    my_method = "my_package:METHOD"        # a ``Method``, or a function of no arguments returning one

The registry is a read-only mapping ``name -> Method``. Built-ins cost nothing; entry points are listed only
when a name outside the built-ins is asked for (or the whole list is), and a plugin is imported only when
its own entry is read, so ``musebench --help`` and runs of built-in methods import no plugin. A broken
plugin (it cannot be imported, it gives no ``Method``, its name is taken) is a ``ConfigError`` that names
its package and entry point, raised where that name is used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from importlib import metadata

from musebench.errors import ConfigError
from musebench.unlearn.method import Method

ENTRY_POINT_GROUP = "musebench.methods"
BUILT_IN = "musebench"


def _package(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None and dist.metadata["Name"] else "an unknown package"


def _where(ep: metadata.EntryPoint) -> str:
    return f"plugin package '{_package(ep)}' (entry point '{ep.name} = {ep.value}' in group '{ENTRY_POINT_GROUP}')"


class MethodRegistry(Mapping):
    """``name -> Method`` over the built-ins and the ``musebench.methods`` entry points (discovered lazily)."""

    def __init__(self, built_in: dict[str, Method], group: str = ENTRY_POINT_GROUP):
        self._built_in = dict(built_in)
        self._group = group
        self._entry_points: dict[str, metadata.EntryPoint] | None = None
        self._conflicts: dict[str, str] = {}  # name -> why it cannot be used
        self._loaded: dict[str, Method] = {}

    # discovery ----------------------------------------------------------------------------------------
    def _discover(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            found: dict[str, metadata.EntryPoint] = {}
            conflicts: dict[str, str] = {}
            for ep in metadata.entry_points(group=self._group):
                if ep.name in self._built_in:
                    conflicts[ep.name] = (
                        f"{_where(ep)} registers '{ep.name}', the name of a built-in method; "
                        "rename the plugin's entry point"
                    )
                elif ep.name in found and ep.value != found[ep.name].value:
                    conflicts[ep.name] = (
                        f"method '{ep.name}' is registered twice: by {_where(found[ep.name])} "
                        f"and by {_where(ep)}; uninstall or rename one"
                    )
                else:
                    found.setdefault(ep.name, ep)
            self._entry_points, self._conflicts = found, conflicts
        return self._entry_points

    def refresh(self) -> None:
        """Forget what was discovered and loaded (after installing or removing a plugin in this process)."""
        self._entry_points, self._conflicts, self._loaded = None, {}, {}

    # the mapping --------------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Method:
        plugins = self._discover()  # also for a built-in name: a plugin taking it must not go unnoticed
        if name in self._conflicts:
            raise ConfigError(self._conflicts[name], field="method", value=name)
        if name in self._built_in:
            return self._built_in[name]
        if name not in plugins:
            raise KeyError(name)
        if name not in self._loaded:
            self._loaded[name] = _load_plugin(plugins[name])
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._built_in or (isinstance(name, str) and name in self._discover())

    # (``in`` never loads a plugin: a broken one is reported when its entry is read)

    def __iter__(self) -> Iterator[str]:
        yield from self._built_in
        yield from sorted(self._discover())

    def __len__(self) -> int:
        return len(self._built_in) + len(self._discover())

    # what ``musebench ls`` shows ----------------------------------------------------------------------
    def built_in_names(self) -> tuple[str, ...]:
        return tuple(self._built_in)

    def source(self, name: str) -> str:
        """``musebench`` for a built-in method, else the name of the package that registers it."""
        if name in self._built_in:
            return BUILT_IN
        return _package(self._discover()[name])

    def problems(self) -> dict[str, str]:
        """Every registered name that cannot be used, with the reason (loads each plugin)."""
        self._discover()
        found = dict(self._conflicts)
        for name in self._entry_points:
            try:
                self[name]
            except ConfigError as err:
                found[name] = err.message
        return found


def _load_plugin(ep: metadata.EntryPoint) -> Method:
    """Import a plugin's entry point and check that it gives a usable ``Method``."""
    try:
        obj = ep.load()
    except Exception as err:  # any import failure of third-party code is the plugin's, named as such
        raise ConfigError(
            f"{_where(ep)} cannot be imported: {type(err).__name__}: {err}", field="method", value=ep.name
        ) from err
    if callable(obj) and not isinstance(obj, Method) and not isinstance(obj, type):
        try:
            obj = obj()
        except Exception as err:
            raise ConfigError(
                f"{_where(ep)} failed building its Method: {type(err).__name__}: {err}", field="method", value=ep.name
            ) from err
    if not isinstance(obj, Method):
        raise ConfigError(
            f"{_where(ep)} gives a {type(obj).__name__}, not a musebench.unlearn.Method", field="method", value=ep.name
        )
    problems = method_problems(obj)
    if problems:
        raise ConfigError(
            f"{_where(ep)} gives an unusable Method: {'; '.join(problems)}", field="method", value=ep.name
        )
    return obj


def method_problems(method: Method) -> list[str]:
    """What is wrong with a ``Method`` (its entry is imported: a plugin's trainer must exist)."""
    problems = []
    if method.retain not in ("none", "gdr", "klr"):
        problems.append(f"retain must be none, gdr or klr (got {method.retain!r})")
    if method.config is not None:
        try:
            cls = method.config_class
        except Exception as err:  # noqa: BLE001 - any import failure of a plugin's config is reported as its own
            problems.append(f"its config '{method.config}' cannot be imported: {type(err).__name__}: {err}")
        else:
            from musebench.unlearn.config import UnlearnConfig

            if not (isinstance(cls, type) and issubclass(cls, UnlearnConfig) and dataclasses.is_dataclass(cls)):
                problems.append(f"its config must be an UnlearnConfig subclass (a dataclass), got {cls!r}")
            else:
                own = set(cls.__dataclass_fields__) - set(UnlearnConfig.__dataclass_fields__)
                problems += [
                    f"config field '{n}' has no metadata help text"
                    for n in sorted(own)
                    if not cls.__dataclass_fields__[n].metadata.get("help")
                ]
    try:
        target = method.load()
    except Exception as err:  # noqa: BLE001 - any import failure of a plugin's trainer is reported as its own
        problems.append(f"its entry '{method.entry}' cannot be imported: {type(err).__name__}: {err}")
        return problems
    if method.runner:
        if not callable(target):
            problems.append(f"its entry '{method.entry}' is not a function")
    else:
        from musebench.unlearn.trainer import UnlearnTrainer

        if not (isinstance(target, type) and issubclass(target, UnlearnTrainer)):
            problems.append(
                f"its entry '{method.entry}' is not an UnlearnTrainer subclass (pass runner=True "
                "for a function with run_unlearning's signature)"
            )
    return problems
