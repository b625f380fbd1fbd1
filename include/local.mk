# Public headers, installed under $(includedir)/nna. Each one compiles alone in C and C++
# (tests/headers checks that).
nobase_include_HEADERS += \
	include/nna/nna.h \
	include/nna/status.h \
	include/nna/loop.h \
	include/nna/future.h \
	include/nna/workspace.h \
	include/nna/client.h \
	include/nna/tasks.h \
	include/nna/ev.h
