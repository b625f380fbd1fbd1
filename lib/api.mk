# The typed API layer (agents, tasks, pagination, waiting, bulk watch), added to libnnacore.
NNA_API_SOURCES = \
	lib/composite.c \
	lib/validate.c \
	lib/agent_parse.c \
	lib/page_parse.c \
	lib/paginate.c \
	lib/walk.c \
	lib/agents.c \
	lib/messages.c \
	lib/poll_sched.c \
	lib/wait_result.c \
	lib/wait.c \
	lib/watch.c

# Installed as $(includedir)/nna/*.h (nobase_include_HEADERS would keep the include/
# prefix and install them under $(includedir)/include/nna).
nnaapiincludedir = $(includedir)/nna
nnaapiinclude_HEADERS = include/nna/agents.h include/nna/paginate.h
