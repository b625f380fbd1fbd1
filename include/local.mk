# Public headers, installed as $(includedir)/nna/*.h. Each one compiles alone in C and C++
# (tests/headers.sh checks that). The API and libuv parts install theirs the same way from
# lib/api.mk and lib/uv.mk.
nnaincludedir = $(includedir)/nna
nnainclude_HEADERS = \
	include/nna/nna.h \
	include/nna/status.h \
	include/nna/loop.h \
	include/nna/future.h \
	include/nna/workspace.h \
	include/nna/client.h \
	include/nna/tasks.h \
	include/nna/json.h \
	include/nna/ev.h
