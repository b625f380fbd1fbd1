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
	lib/future.c lib/future_internal.h \
	lib/client.c lib/client_internal.h \
	lib/pipeline.c lib/op.h \
	lib/workspace.c lib/limiter.h \
	lib/reconcile.c lib/reconcile.h lib/idset.c \
	lib/errtext.c lib/errtext.h \
	lib/url.c lib/url.h \
	lib/uuid.c lib/uuid.h \
	lib/task_parse.c lib/api_internal.h \
	lib/tasks.c lib/run.c \
	$(NNA_API_SOURCES)
lib_libnnacore_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(OPENSSL_CFLAGS)
lib_libnnacore_la_LIBADD = $(CURL_LIBS) $(CJSON_LIBS) $(OPENSSL_LIBS) $(M_LIBS)

lib_LTLIBRARIES += lib/libnna.la
lib_libnna_la_SOURCES = lib/loop_ev.c
lib_libnna_la_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS) $(CJSON_CFLAGS)
lib_libnna_la_LIBADD = lib/libnnacore.la $(EV_LIBS)
lib_libnna_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(NNA_LT_VERSION) -export-symbols-regex '^nna_'
include lib/uv.mk
