"""Keras for the course: its backend chosen before it is imported, imported on first use."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["activation_name", "import_keras", "keras_backend"]


def keras_backend() -> str:
    """Select Keras's JAX backend unless one was chosen, and return the backend's name.

    Keras reads ``KERAS_BACKEND`` once, when it is first imported: set it before that to
    use another backend (``"torch"``, ``"tensorflow"``).
    """
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = sys.modules.get("keras")
    if keras is not None:  # already imported: its choice stands
        return str(keras.backend.backend())
    return os.environ["KERAS_BACKEND"]


def import_keras() -> Any:
    """Keras, on the backend :func:`keras_backend` chose (imported on first use)."""
    keras_backend()
    try:
        import keras
    except ImportError as exc:  # pragma: no cover - both are dependencies of mlcourse
        raise ImportError(
            f"Day 3 needs Keras 3 and JAX ({exc}): pip install keras 'jax[cpu]'"
        ) from None
    return keras


def activation_name(layer: Any) -> str | None:
    """The name of a layer's activation function ("relu", "sigmoid", ...), if it has one."""
    return getattr(getattr(layer, "activation", None), "__name__", None)
