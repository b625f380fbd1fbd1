# The typed API layer (agents, tasks, pagination, waiting, bulk watch), added to libnnacore.
NNA_API_SOURCES =
