"""The local Pelcro Core API emulator: deterministic data over real HTTP, with knobs."""

from pelcro_sandbox.config import Faults, SandboxConfig
from pelcro_sandbox.runner import Running, serve, serve_forever
from pelcro_sandbox.sandbox import Sandbox

__all__ = ["Faults", "Running", "Sandbox", "SandboxConfig", "serve", "serve_forever"]
