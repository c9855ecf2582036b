"""The one place a device choice ('auto', 'cpu', 'cuda', 'cuda:1', ...) becomes a ``torch.device``."""

from __future__ import annotations

import torch

from splatdream.errors import UserError


class DeviceUnavailable(UserError, RuntimeError):
    """The configured device is not on this machine; the message names the fix."""


def resolve_device(choice: str) -> torch.device:
    """'auto' picks CUDA when a GPU is visible; an explicit CUDA device must exist."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(choice)
    except RuntimeError as exc:
        raise DeviceUnavailable(f"unknown device {choice!r}; use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f"device {choice} asked for but no CUDA GPU is visible; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"device {choice}: only {torch.cuda.device_count()} CUDA GPU(s) visible")
    return device
