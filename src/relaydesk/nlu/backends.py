"""Built-in intent backends, registered in `BACKENDS` by name, and `build` to create one
with options (`relaydesk nlu eval --option name=value`).

Each factory imports its module only when called, so choosing the default backend never
imports an optional heavy dependency."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from relaydesk.nlu.intent import BACKENDS, IntentClassifier

__all__ = ["BACKENDS", "BackendOptionError", "build", "check_options", "options_of"]

#: built-in backend name -> (module, class, constructor arguments the name implies)
_BUILT_IN: dict[str, tuple[str, str, dict[str, Any]]] = {
    "tfidf": ("relaydesk.nlu.tfidf", "TfidfIntentClassifier", {}),
    #: the TF-IDF+LR of the NLU reference figures (raw probabilities), to compare against
    "tfidf-baseline": (
        "relaydesk.nlu.tfidf",
        "TfidfIntentClassifier",
        {"name": "tfidf-baseline", "c": 10.0, "normalised": False, "calibrated": False},
    ),
    #: the optional extra `relaydesk[embeddings]`; torch is imported only when one is built
    "embeddings": ("relaydesk.nlu.embeddings", "EmbeddingIntentClassifier", {}),
}
_FIXED = {"name"}  # set by the backend's name, never an option


class BackendOptionError(ValueError):
    """An option the backend does not have, or a value of the wrong type."""


def _class(name: str) -> type[Any]:
    module, cls, _ = _BUILT_IN[name]
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def options_of(name: str) -> dict[str, inspect.Parameter]:
    """The keyword options of built-in backend `name`: constructor parameter -> Parameter
    (its `default` and its `annotation`, a string)."""
    if name not in _BUILT_IN:
        return {}
    parameters = inspect.signature(_class(name).__init__).parameters
    return {
        key: p
        for key, p in parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and key not in _FIXED
    }


def _convert(backend: str, key: str, value: str, parameter: inspect.Parameter) -> Any:
    annotation = str(parameter.annotation)
    if value.lower() == "none" and "None" in annotation:
        return None
    try:
        if "bool" in annotation:
            truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            return truth[value.lower()]
        if "float" in annotation:
            return float(value)
        if "int" in annotation:
            return int(value)
    except (KeyError, ValueError):
        kind = "true or false" if "bool" in annotation else f"a number ({annotation})"
        raise BackendOptionError(
            f"option {key}={value!r} of backend {backend!r}: expected {kind}"
        ) from None
    return value


def check_options(name: str, options: Mapping[str, str]) -> dict[str, Any]:
    """`options` (name -> text value, as typed on the command line) checked against the
    constructor of backend `name` and converted to their types; nothing is built."""
    if name not in BACKENDS:
        raise BackendOptionError(
            f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}"
        )
    if not options:
        return {}
    valid = options_of(name)
    if not valid:
        raise BackendOptionError(f"backend {name!r} takes no options")
    converted = {}
    for key, value in options.items():
        if key not in valid:
            raise BackendOptionError(
                f"unknown option {key!r} for backend {name!r}; valid options: "
                + ", ".join(sorted(valid))
            )
        converted[key] = _convert(name, key, value, valid[key])
    return converted


def build(name: str, options: Mapping[str, str] | None = None) -> IntentClassifier:
    """A new classifier of backend `name` with `options` (see `check_options`)."""
    converted = check_options(name, options or {})
    if not converted:
        return BACKENDS[name]()
    _, _, implied = _BUILT_IN[name]
    return _class(name)(**{**implied, **converted})  # type: ignore[no-any-return]


def _factory(name: str) -> Any:
    def create() -> IntentClassifier:
        _, _, implied = _BUILT_IN[name]
        return _class(name)(**implied)  # type: ignore[no-any-return]

    return create


for _name in _BUILT_IN:
    BACKENDS.setdefault(_name, _factory(_name))
