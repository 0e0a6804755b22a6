"""The local Pelcro Core API emulator: deterministic data over real HTTP, with knobs."""

from pelcro_sync.sandbox.config import Faults, SandboxConfig
from pelcro_sync.sandbox.runner import Running, serve_forever
from pelcro_sync.sandbox.sandbox import Sandbox

__all__ = ["Faults", "Running", "Sandbox", "SandboxConfig", "serve_forever"]
