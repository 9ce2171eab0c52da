"""Print, as JSON, the accessible tree of the application with a given pid, as a screen
reader (Orca) reads it over AT-SPI: each window, and in it every object's role, name,
description, states and the names of the objects it is labelled by.

Run with Debian's ``/usr/bin/python3`` (``python3-pyatspi`` is a system package)::

    /usr/bin/python3 atspi_tree.py PID "Window title" ...

Waits (bounded) until the application shows a window for every title given.
"""

from __future__ import annotations

import json
import sys
import time

import pyatspi

MAX_NODES = 800
WAIT_S = 60.0


def find_app(pid):
    desktop = pyatspi.Registry.getDesktop(0)
    for index in range(desktop.childCount):
        app = desktop.getChildAtIndex(index)
        if app is not None and app.get_process_id() == pid:
            return app
    return None


def node(obj, depth):
    states = obj.getState().getStates()
    labelled_by = []
    for relation in obj.getRelationSet():
        if relation.getRelationType() == pyatspi.RELATION_LABELLED_BY:
            for i in range(relation.getNTargets()):
                target = relation.getTarget(i)
                labelled_by.append(target.name if target is not None else None)
    return {
        "depth": depth,
        "role": obj.getRoleName(),
        "name": obj.name or "",
        "description": obj.description or "",
        "states": sorted(pyatspi.stateToString(s) for s in states),
        "labelled_by": labelled_by,
    }


def walk(window):
    nodes = []
    stack = [(window, 0)]
    while stack and len(nodes) < MAX_NODES:
        obj, depth = stack.pop()
        if obj is None:
            continue
        nodes.append(node(obj, depth))
        children = [obj.getChildAtIndex(i) for i in range(obj.childCount)]
        stack.extend((child, depth + 1) for child in reversed(children))
    return nodes


def main():
    pid = int(sys.argv[1])
    wanted = set(sys.argv[2:])
    deadline = time.monotonic() + WAIT_S
    while True:
        app = find_app(pid)
        titles = set()
        if app is not None:
            titles = {app.getChildAtIndex(i).name for i in range(app.childCount)}
        if app is not None and wanted <= titles:
            break
        if time.monotonic() > deadline:
            print(f"windows not found over AT-SPI: {sorted(wanted - titles)}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    windows = {}
    for index in range(app.childCount):
        window = app.getChildAtIndex(index)
        if window.name in wanted:
            windows[window.name] = walk(window)
    json.dump({"application": app.name, "windows": windows}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
