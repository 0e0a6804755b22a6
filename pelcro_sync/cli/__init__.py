"""The pelcro-sync command line: its commands, progress bars and the demo."""
