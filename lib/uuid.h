/* UUID text checks. Pure; any thread. Internal. */
#ifndef NNA_UUID_H
#define NNA_UUID_H
#include <stdint.h>
/* 1 when s is 8-4-4-4-12 hex digits (either case), nothing more. */
int nna_uuid_valid(const char *s);
/* Parses a valid UUID into 16 bytes: 0, or -1. */
int nna_uuid_parse(const char *s, uint8_t out[16]);
#endif
