"""Which statuses can a route answer? Read from the code, not from its documentation.

Starting at a view method (and every decorator layer around it that lives in ``cms``), follow
the calls into ``cms`` functions and collect:

- ``raise SomeError(...)`` of a domain error (:class:`cms.errors.CmsError`: its ``status``) or of
  a werkzeug HTTP exception (its ``code``);
- ``abort(<status>)`` (Flask or flask-smorest) and ``problem(<status>, ...)``.

Calls are resolved by name through each function's module globals and closure (``articles.
get_article(...)``, ``expected_version(...)``); calls on objects (``self.x()``, ``query.one()``)
are not followed. That errs towards collecting a status a route cannot really reach, which only
asks the document to mention one status too many.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import types

import flask
import flask_smorest
from werkzeug.exceptions import HTTPException

import cms.problems
from cms.errors import CmsError

_ABORTS = {flask.abort, flask_smorest.abort, cms.problems.problem}


def _namespace(func: types.FunctionType) -> dict:
    names = dict(func.__globals__)
    if func.__closure__:
        names.update(inspect.getclosurevars(func).nonlocals)
    return names


def _resolve(node: ast.expr, names: dict):
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, names)
        if isinstance(owner, types.ModuleType | type):
            return getattr(owner, node.attr, None)
    return None


def _status_of(exc) -> int | None:
    if isinstance(exc, type) and issubclass(exc, CmsError):
        return exc.status
    if isinstance(exc, type) and issubclass(exc, HTTPException) and exc.code:
        return exc.code
    return None


def _in_cms(func) -> bool:
    return isinstance(func, types.FunctionType) and func.__module__.split(".")[0] == "cms"


_MEMO: dict[types.FunctionType, frozenset[int]] = {}
_ACTIVE: set[types.FunctionType] = set()


def statuses_raised(func: types.FunctionType) -> frozenset[int]:
    """Every status ``func`` (and the ``cms`` functions it calls) can raise or answer."""
    if func in _MEMO:
        return _MEMO[func]
    if func in _ACTIVE:  # recursion: the outer call collects the rest
        return frozenset()
    _ACTIVE.add(func)
    try:
        _MEMO[func] = frozenset(_collect(func))
    finally:
        _ACTIVE.discard(func)
    return _MEMO[func]


def _collect(func: types.FunctionType) -> set[int]:
    found: set[int] = set()
    for layer in _layers(func):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(layer)))
        except (OSError, TypeError, SyntaxError):
            continue
        names = _namespace(layer)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cms"):
                module = importlib.import_module(node.module)  # an import inside the function
                for alias in node.names:
                    names[alias.asname or alias.name] = getattr(module, alias.name, None)
            elif isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                status = _status_of(_resolve(target, names))
                if status is not None:
                    found.add(status)
            elif isinstance(node, ast.Call):
                callee = _resolve(node.func, names)
                if callee in _ABORTS:
                    first = node.args[0] if node.args else None
                    if isinstance(first, ast.Constant) and isinstance(first.value, int):
                        found.add(first.value)
                elif _in_cms(callee):
                    found |= statuses_raised(callee)
    return found


def _layers(func):
    """``func`` and the functions it wraps (``functools.wraps``), those defined in ``cms``."""
    seen = set()
    while func is not None and id(func) not in seen:
        seen.add(id(func))
        if _in_cms(func):
            yield func
        func = getattr(func, "__wrapped__", None)
