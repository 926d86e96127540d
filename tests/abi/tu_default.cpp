// Built with the test build's own flags (no -m options).
#define TESSEL_ABI_TU_FUNCTION tu_default
#include "tu.inc"
