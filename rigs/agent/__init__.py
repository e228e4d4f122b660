"""The agent process on a rig PC: runs the rig's parts, reports live state, obeys the dashboard's commands.

- `rigs.agent.assembly`: builds an agent from a rig.yaml, passing each part its collaborators.
- `rigs.agent.core`: the Agent (its link to the dashboard, the status it reports, the commands it runs).
- `rigs.agent.events`: the durable event stream every part writes to.
- `rigs.agent.disk`: the data disk's free space, measured off the event loop.
- the parts themselves live in `rigs.parts`.
"""

from rigs.agent.assembly import agent_build, agent_run
from rigs.agent.core import Agent, Part

__all__ = ["Agent", "Part", "agent_build", "agent_run"]
