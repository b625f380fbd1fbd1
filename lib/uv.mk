# The libuv binding: libnna-uv = the loop-independent core + lib/loop_uv.c. It never links
# libev (a libuv program gets exactly one event library). Built when configure finds libuv.
if HAVE_LIBUV
lib_LTLIBRARIES += lib/libnna-uv.la
lib_libnna_uv_la_SOURCES = lib/loop_uv.c
lib_libnna_uv_la_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CJSON_CFLAGS)
lib_libnna_uv_la_LIBADD = lib/libnnacore.la $(UV_LIBS)
lib_libnna_uv_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(NNA_LT_VERSION) -export-symbols lib/nna.sym
EXTRA_lib_libnna_uv_la_DEPENDENCIES = lib/nna.sym
noinst_LTLIBRARIES += lib/libnna-uv-test.la
lib_libnna_uv_test_la_SOURCES = lib/loop_uv.c
lib_libnna_uv_test_la_CFLAGS = $(lib_libnna_uv_la_CFLAGS)
lib_libnna_uv_test_la_LIBADD = lib/libnnacore.la $(UV_LIBS)
# (not nobase_include_HEADERS: with the include/ prefix it would land in
# $(includedir)/include/nna/uv.h)
nnauvincludedir = $(includedir)/nna
nnauvinclude_HEADERS = include/nna/uv.h
else
EXTRA_DIST += lib/loop_uv.c include/nna/uv.h
endif
