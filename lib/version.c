/* The version of the linked library (the headers' NNA_VERSION, frozen at build time). */
#include "nna/client.h"

const char *nna_version(void) { return NNA_VERSION; }
