# Fuzz targets are built by fuzz/build.sh (clang + libFuzzer), not by make; only shipped.
EXTRA_DIST += fuzz/build.sh fuzz/run.sh \
	fuzz/fuzz_httpdate.c \
	fuzz/fuzz_httpdate.dict \
	fuzz/fuzz_iso8601.c \
	fuzz/fuzz_iso8601.dict \
	fuzz/fuzz_retry_after.c \
	fuzz/fuzz_retry_after.dict \
	fuzz/corpus/fuzz_httpdate/asctime \
	fuzz/corpus/fuzz_httpdate/imf \
	fuzz/corpus/fuzz_httpdate/leap \
	fuzz/corpus/fuzz_httpdate/max \
	fuzz/corpus/fuzz_httpdate/rfc850 \
	fuzz/corpus/fuzz_httpdate/zero \
	fuzz/corpus/fuzz_iso8601/compact_off \
	fuzz/corpus/fuzz_iso8601/frac \
	fuzz/corpus/fuzz_iso8601/max \
	fuzz/corpus/fuzz_iso8601/min \
	fuzz/corpus/fuzz_iso8601/nozone \
	fuzz/corpus/fuzz_iso8601/raw_double \
	fuzz/corpus/fuzz_iso8601/utc \
	fuzz/corpus/fuzz_retry_after/asctime \
	fuzz/corpus/fuzz_retry_after/frac \
	fuzz/corpus/fuzz_retry_after/huge \
	fuzz/corpus/fuzz_retry_after/imf \
	fuzz/corpus/fuzz_retry_after/int \
	fuzz/corpus/fuzz_retry_after/neg \
	fuzz/corpus/fuzz_retry_after/ows \
	fuzz/corpus/fuzz_retry_after/past \
	fuzz/corpus/fuzz_retry_after/rfc850
