"""Dashboard configuration: environment variables and CLI flags, with safe defaults.

=================  ===============================================  ===============
variable           meaning                                          default
=================  ===============================================  ===============
MMPOS_DATA_DIR     folder of option-chain files the catalog scans   analytics default
MMPOS_HOST         interface to bind                                127.0.0.1
MMPOS_PORT         TCP port                                         8050
MMPOS_DEBUG        Dash debug mode (loopback hosts only)            off
=================  ===============================================  ===============

Nothing here touches the network or the clock; reading the environment is the only side effect.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
_TRUE = frozenset({"1", "true", "yes", "on"})


class UnsafeConfigError(ValueError):
    """A configuration that must not run (debug mode on a non-loopback interface)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    debug: bool = False

    def checked(self) -> Settings:
        """Return self, or raise UnsafeConfigError when debug would be exposed off this machine."""
        if self.debug and not is_loopback(self.host):
            raise UnsafeConfigError(
                f"refusing to run with debug on host {self.host!r}: Dash debug mode executes code "
                "sent by the browser; use --host 127.0.0.1 or turn debug off"
            )
        if not 0 < self.port < 65536:
            raise UnsafeConfigError(f"port must be 1-65535, got {self.port}")
        return self


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def data_dir_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """``MMPOS_DATA_DIR`` as a path, or None when unset (the catalog's default folder then)."""
    env = os.environ if env is None else env
    value = env.get("MMPOS_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``MMPOS_*`` environment variables (see the module docstring)."""
    env = os.environ if env is None else env
    port_text = env.get("MMPOS_PORT", "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError as err:
        raise UnsafeConfigError(f"MMPOS_PORT must be an integer, got {port_text!r}") from err
    return Settings(
        data_dir=data_dir_from_env(env),
        host=env.get("MMPOS_HOST", "").strip() or DEFAULT_HOST,
        port=port,
        debug=env.get("MMPOS_DEBUG", "").strip().lower() in _TRUE,
    )
