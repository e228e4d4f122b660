"""The rig side of labweb: the agent and what it runs on a rig PC. Never imports Django."""

__version__ = "0.1.0"
