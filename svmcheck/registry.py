"""Finding models: a shipped model by name (``models/`` package) or a user's .py file."""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import sys

from .errors import ModelDefinitionError, SvmCheckError, UnknownModelError
from .model import Model


def _models_in(module) -> list[type]:
    out = []
    for _, obj in vars(module).items():
        if (inspect.isclass(obj) and issubclass(obj, Model) and obj is not Model
                and obj.name and obj.__module__ == module.__name__):
            out.append(obj)
    return out


def shipped() -> dict[str, type]:
    """name -> model class for every model in the ``models`` package (sorted by name)."""
    import models
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(models.__path__):
        if info.name.startswith("_"):
            continue
        try:
            mod = importlib.import_module(f"models.{info.name}")
        except SvmCheckError:
            raise
        except Exception as e:  # a broken shipped model must not hide the others' names
            raise ModelDefinitionError(
                f"shipped model module models/{info.name}.py fails to import: "
                f"{type(e).__name__}: {e}") from None
        for cls in _models_in(mod):
            found[cls.name] = cls
    return dict(sorted(found.items()))


def load_file(path: str) -> list[type]:
    if not os.path.isfile(path):
        raise UnknownModelError(f"model file '{path}' does not exist; check the path")
    modname = "svmcheck_user_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except SvmCheckError:
        raise
    except SyntaxError as e:
        raise ModelDefinitionError(
            f"model file '{path}' has a syntax error at line {e.lineno}: {e.msg}; fix it and "
            f"re-run") from None
    except Exception as e:
        raise ModelDefinitionError(
            f"model file '{path}' fails to import: {type(e).__name__}: {e}; fix the file "
            f"(run python {path} to see the traceback)") from None
    classes = _models_in(mod)
    if not classes:
        raise ModelDefinitionError(
            f"model file '{path}' defines no Model subclass with a name; subclass "
            f"svmcheck.Model and set name = \"...\"")
    return classes


def resolve(name: str) -> tuple[type, str | None]:
    """The model class for a shipped name or a ``.py`` path (``path.py:name`` picks one)."""
    target = None
    if ":" in name and name.split(":")[0].endswith(".py"):
        name, target = name.split(":", 1)
    if name.endswith(".py") or os.sep in name:
        classes = load_file(name)
        if target is None:
            if len(classes) > 1:
                names = ", ".join(c.name for c in classes)
                raise UnknownModelError(
                    f"model file '{name}' defines several models ({names}); pick one as "
                    f"{name}:NAME")
            return classes[0], os.path.abspath(name)
        for c in classes:
            if c.name == target:
                return c, os.path.abspath(name)
        raise UnknownModelError(
            f"model file '{name}' has no model '{target}'; it has: "
            f"{', '.join(c.name for c in classes)}")
    models = shipped()
    if name not in models:
        raise UnknownModelError(
            f"unknown model '{name}'; available: {', '.join(models)} (or pass a path to a "
            f".py file)")
    return models[name], None


def build(name: str, overrides: dict | None = None):
    """Resolve, configure and construct a model: (model instance, model path or None)."""
    cls, path = resolve(name)
    cfg = cls.Config.build(overrides, model=cls.name)
    return cls(cfg), path
