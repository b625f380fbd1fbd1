# Pure-function layer (retry policy, time formats, RNG, token bucket): no I/O, no global
# state. Included from lib/local.mk; the unit tests compile these sources directly.
NNA_PURE_SOURCES = lib/retry.c lib/iso8601.c lib/httpdate.c lib/rng.c lib/tokenbucket.c \
	lib/retry.h lib/timefmt.h lib/rng.h lib/tokenbucket.h
