"""The parts an agent runs, each wired to the agent's actions, status and events by `install(agent)`."""
