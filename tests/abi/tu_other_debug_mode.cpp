// Built in the other bounds-checking mode than the rest of the test build (NDEBUG flipped):
// element access has a different inline body, so it must get different symbols too.
#ifdef NDEBUG
#undef NDEBUG
#else
#define NDEBUG 1
#endif
#define TESSEL_ABI_TU_FUNCTION tu_other_debug_mode
#include "tu.inc"
