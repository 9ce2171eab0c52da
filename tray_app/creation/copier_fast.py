"""Copier's own render, minus the work that does not apply to a local template folder.

Stock ``copier.run_copy`` of a local folder spawns ``git`` 3 times to learn
whether the folder is a repository (to clone its latest tag) and once per
rendered file (to sync executable bits into a destination git index), and it
compiles every templated string (paths, questions) with Jinja anew on each
render. Here, through Copier's ``Worker``:

- the template is a plain folder: no VCS lookup (we render what is on disk),
  no git index sync (our destinations are not git work trees);
- the Jinja environment of a template is reused across renders (a small pool,
  one environment per concurrent render), and ``from_string`` compiles each
  distinct source once. Copier's ``{% yield %}`` extension keeps per-render
  state in its environment: sources using it are never cached, and that state
  is reset exactly as a fresh compile would reset it.

These are Copier internals; :func:`available` checks that every hook is still
there, and the caller falls back to the public ``run_copy`` otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["RENDER_OPTIONS", "available", "render"]

#: How every ExLab render runs Copier, on this path and on ``copier.run_copy``: no questions,
#: no output, no unsafe template features, never overwrite, keep what failed for the error.
RENDER_OPTIONS: dict[str, Any] = {
    "defaults": True,
    "quiet": True,
    "unsafe": False,
    "overwrite": False,
    "cleanup_on_error": False,
}

#: Distinct template strings cached per environment (paths, defaults, helps...).
MAX_CACHED_SOURCES = 2000
#: Idle environments kept per template.
MAX_POOLED = 4

_pool_lock = threading.Lock()
_pools: dict[tuple[str, int], list[Any]] = {}


def available() -> bool:
    """True when this Copier still has every internal hook :func:`render` uses."""
    try:
        from copier import _jinja_ext, _main, _settings, _template
    except ImportError:
        return False
    worker = getattr(_main, "Worker", None)
    template = getattr(_template, "Template", None)
    return (
        worker is not None
        and template is not None
        and isinstance(worker.__dict__.get("template"), cached_property)
        and isinstance(worker.__dict__.get("jinja_env"), cached_property)
        and isinstance(template.__dict__.get("vcs"), cached_property)
        and callable(getattr(worker, "_sync_git_index_executable_bit", None))
        and hasattr(_settings, "SettingsModel")
        and callable(getattr(_jinja_ext, "get_yield_context", None))
    )


def _no_git_sync(*_args: object, **_kwargs: object) -> None:
    """Stands in for Worker._sync_git_index_executable_bit."""


def _reset_yield(env: Any) -> None:
    from copier._jinja_ext import get_yield_context

    context = get_yield_context(env)
    context.yield_name = None
    context.yield_iterable = None


def _caching_from_string(env: Any) -> Callable[..., Any]:
    compile_source = env.from_string
    compiled: dict[str, Any] = {}

    def from_string(source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if (
            globals is not None
            or template_class is not None
            or not isinstance(source, str)
            or "yield" in source
        ):
            return compile_source(source, globals, template_class)
        template = compiled.get(source)
        if template is None:
            template = compile_source(source)
            if len(compiled) < MAX_CACHED_SOURCES:
                compiled[source] = template
        else:
            _reset_yield(env)  # what compiling (the extension's preprocess) would do
        return template

    return from_string


def _pool_key(template_dir: Path) -> tuple[str, int]:
    """Environments depend on copier.yml (envops, extensions): key on its mtime too."""
    stamp = 0
    for name in ("copier.yml", "copier.yaml"):
        try:
            stamp = (template_dir / name).stat().st_mtime_ns
            break
        except OSError:
            continue
    return str(template_dir), stamp


def _checkout(key: tuple[str, int]) -> Any | None:
    with _pool_lock:
        pool = _pools.get(key)
        return pool.pop() if pool else None


def _checkin(key: tuple[str, int], env: Any) -> None:
    with _pool_lock:
        stale = [k for k in _pools if k[0] == key[0] and k != key]
        for old in stale:  # the template was edited: drop environments of the old one
            del _pools[old]
        pool = _pools.setdefault(key, [])
        if len(pool) < MAX_POOLED:
            pool.append(env)


def render(template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
    """Render like ``copier.run_copy(..., defaults=True, quiet=True, unsafe=False)``."""
    from copier import _main, _settings, _template

    worker = _main.Worker(
        src_path=str(template_dir),
        dst_path=destination,
        data=data,
        # The operator's personal Copier settings must not change lab folders.
        settings=_settings.SettingsModel(),
        **RENDER_OPTIONS,
    )
    template = _template.Template(url=str(template_dir))
    # Pre-filled cached properties: a plain folder, no VCS lookup, no git index sync.
    template.__dict__["vcs"] = None
    worker.__dict__["template"] = template
    worker.__dict__["_sync_git_index_executable_bit"] = _no_git_sync
    key = _pool_key(template_dir)
    env: Any = _checkout(key)
    if env is None:
        env = worker.jinja_env  # built by Copier, from this template's settings
        env.from_string = _caching_from_string(env)
    else:
        _reset_yield(env)
        worker.__dict__["jinja_env"] = env
    try:
        with worker:
            worker.run_copy()
    finally:
        _checkin(key, env)
