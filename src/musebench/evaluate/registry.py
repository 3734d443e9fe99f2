"""``TASKS``: every criterion the evaluation can compute, by the name ``--metrics`` selects.

The built-ins in MUSE order, then any added with ``register_task`` or by a package's entry point in the group
``musebench.tasks`` (an object naming a ``Task`` instance), loaded on first use.
"""

from __future__ import annotations

from importlib import metadata

from musebench.errors import ConfigError
from musebench.evaluate.privacy import PrivLeak
from musebench.evaluate.task import Task
from musebench.evaluate.tasks import KnowMem, VerbMem

ENTRY_POINT_GROUP = "musebench.tasks"

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        VerbMem(),
        KnowMem("knowmem_f", "knowmem_forget_qa"),
        KnowMem("knowmem_r", "knowmem_retain_qa", aliases=("utility",)),
        PrivLeak(),
        PrivLeak(suite=True),
    )
}
_plugins_loaded = False


def register_task(task: Task) -> Task:
    """Make ``task`` selectable by its name (and aliases); a name already taken is refused."""
    taken = {n for t in TASKS.values() for n in (t.name, *t.aliases)}
    clash = sorted({task.name, *task.aliases} & taken)
    if clash:
        raise ConfigError("a criterion of that name is already registered", field="name", value=clash[0])
    TASKS[task.name] = task
    return task


def load_plugin_tasks() -> None:
    """Register the tasks packages declare in ``musebench.tasks`` (once; a broken one is one clear error)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in TASKS:
            continue
        try:
            task = ep.load()
        except Exception as err:  # any failure of a plugin's import is reported the same way
            raise ConfigError(
                f"criterion plugin '{ep.value}' failed to load: {err}", field=ENTRY_POINT_GROUP, value=ep.name
            ) from err
        register_task(task)


def task_named(name: str) -> Task | None:
    """The task selected by ``name`` (its own name or an alias, any case)."""
    name = name.strip().lower()
    return TASKS.get(name) or next((t for t in TASKS.values() if name in t.aliases), None)
