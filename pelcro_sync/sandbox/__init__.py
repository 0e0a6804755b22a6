"""The local Pelcro Core API emulator."""
