// Built with instruction-set flags the default unit lacks (-mavx2 -mfma -mf16c on x86-64).
#define TESSEL_ABI_TU_FUNCTION tu_isa_flags
#include "tu.inc"
