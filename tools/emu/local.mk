# nna-emu: local emulator of the Nanonets Agents API (internal library + program).
noinst_LTLIBRARIES += tools/emu/libnnaemu.la
tools_emu_libnnaemu_la_SOURCES = \
	tools/emu/api_agents.c \
	tools/emu/api_tasks.c \
	tools/emu/config.c \
	tools/emu/control.c \
	tools/emu/cursor.c \
	tools/emu/emu.c \
	tools/emu/faults.c \
	tools/emu/lifecycle.c \
	tools/emu/log.c \
	tools/emu/multipart.c \
	tools/emu/ratelimit.c \
	tools/emu/router.c \
	tools/emu/server.c \
	tools/emu/stream.c \
	tools/emu/limits.c \
	tools/emu/store.c \
	tools/emu/util.c \
	lib/jsonspan.c
tools_emu_libnnaemu_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS)
tools_emu_libnnaemu_la_LIBADD = $(MHD_LIBS) $(CJSON_LIBS) $(PTHREAD_LIBS) $(M_LIBS)
noinst_HEADERS += tools/emu/emu.h tools/emu/emu_internal.h

bin_PROGRAMS += tools/emu/nna-emu
tools_emu_nna_emu_SOURCES = tools/emu/main.c
tools_emu_nna_emu_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS)
tools_emu_nna_emu_LDADD = tools/emu/libnnaemu.la $(CJSON_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/emu/test_emu
TESTS += tests/emu/test_emu
tests_emu_test_emu_SOURCES = tests/emu/test_emu.c
tests_emu_test_emu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) \
	-I$(top_srcdir)/tools/emu -DNNA_EMU_BUILDDIR='"$(abs_top_builddir)/tools/emu"'
tests_emu_test_emu_LDADD = tools/emu/libnnaemu.la $(CHECK_LIBS) $(CURL_LIBS) $(CJSON_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += docs/emu.md

# The emulator's limits and the test hooks for the client's (generated bodies, headers).
check_PROGRAMS += tests/emu/test_emu_limits
TESTS += tests/emu/test_emu_limits
tests_emu_test_emu_limits_SOURCES = tests/emu/test_emu_limits.c
tests_emu_test_emu_limits_CFLAGS = $(tests_emu_test_emu_CFLAGS) $(MHD_CFLAGS)
tests_emu_test_emu_limits_LDADD = $(tests_emu_test_emu_LDADD)
