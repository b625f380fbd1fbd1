# The library. The loop-independent core is a convenience library linked into libnna
# (core + libev binding) and, when libuv is found, libnna-uv (core + libuv binding), so a
# libuv program never links libev.
include lib/pure.mk
include lib/api.mk

noinst_LTLIBRARIES += lib/libnnacore.la
lib_libnnacore_la_SOURCES = \
	$(NNA_PURE_SOURCES) \
	lib/status.c \
	lib/loop_core.c lib/loop_core.h \
	lib/transport.c lib/transport.h \
	lib/reply_limits.c lib/reply_limits.h lib/json_depth.c lib/json_depth.h \
	lib/future.c lib/future_internal.h \
	lib/client.c lib/client_internal.h \
	lib/pipeline.c lib/op.h \
	lib/workspace.c lib/limiter.h lib/limit_backend.h \
	lib/reconcile.c lib/reconcile.h lib/idset.c lib/looks.c \
	lib/errtext.c lib/errtext.h \
	lib/url.c lib/url.h \
	lib/cleartext.c \
	lib/uuid.c lib/uuid.h \
	lib/task_parse.c lib/api_internal.h \
	lib/jsonspan.c lib/jsonspan.h lib/jsondoc.c lib/jsondoc.h \
	lib/tasks.c lib/run.c \
	$(NNA_API_SOURCES)
# TLS is libcurl's (its OpenSSL backend): libnna calls no OpenSSL function itself.
lib_libnnacore_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS)
lib_libnnacore_la_LIBADD = $(CURL_LIBS) $(CJSON_LIBS) $(M_LIBS)
# The Redis limiter backend (docs/scale-out.md), only when hiredis was found.
if HAVE_HIREDIS
lib_libnnacore_la_SOURCES += lib/limit_redis.c lib/limit_redis_loop.c lib/limit_redis.h
lib_libnnacore_la_CFLAGS += $(HIREDIS_CFLAGS)
lib_libnnacore_la_LIBADD += $(HIREDIS_LIBS)
endif

lib_LTLIBRARIES += lib/libnna.la
lib_libnna_la_SOURCES = lib/loop_ev.c
lib_libnna_la_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS) $(CJSON_CFLAGS)
lib_libnna_la_LIBADD = lib/libnnacore.la $(EV_LIBS)
lib_libnna_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(NNA_LT_VERSION) -export-symbols lib/nna.sym
EXTRA_lib_libnna_la_DEPENDENCIES = lib/nna.sym

# Only the public API is exported: the names of the functions the installed headers
# declare. The internal ones stay inside the shared libraries.
NNA_PUBLIC_HDRS = $(nnainclude_HEADERS) $(nnaapiinclude_HEADERS) include/nna/uv.h
lib/nna.sym: $(NNA_PUBLIC_HDRS)
	$(AM_V_GEN)$(MKDIR_P) lib && cat $(addprefix $(srcdir)/,$(NNA_PUBLIC_HDRS)) \
	  | grep -oE '\bnna_[A-Za-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:](]//g' | sort -u > $@
CLEANFILES += lib/nna.sym

# The tests reach into the internals (timer heap, limiter, parsers): they link static
# convenience copies with every symbol visible instead of the shared libraries.
noinst_LTLIBRARIES += lib/libnna-test.la
lib_libnna_test_la_SOURCES = lib/loop_ev.c
lib_libnna_test_la_CFLAGS = $(lib_libnna_la_CFLAGS)
lib_libnna_test_la_LIBADD = lib/libnnacore.la $(EV_LIBS)
include lib/uv.mk

# nna_version(): the linked library's version.
lib_libnnacore_la_SOURCES += lib/version.c
