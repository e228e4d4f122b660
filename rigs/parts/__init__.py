"""The parts an agent runs (camera spooler, behaviour task, copier, session), wired by rigs.agent.assembly."""
