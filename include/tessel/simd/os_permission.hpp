// tessel/simd/os_permission.hpp — CPU features the OS hands out per process, on request.
//
// AMX's tile data (XTILEDATA, 8 KiB of register state per thread) is the one such feature on
// Linux (5.16 and later): XCR0 may enable it and the CPU may have it, yet a process's first
// tile instruction faults (SIGILL) unless the process asked first with
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). The grant is process-wide (every
// thread, existing or future, and children after fork) and cannot be taken back.
//
// The request is made lazily, the first time a kernel that needs AMX is considered
// (features_usable), never at static initialisation and never by a program that multiplies
// no bfloat16: once granted, Linux enlarges this process's signal frames to hold the tile
// state and refuses a sigaltstack() too small for them, which must not surprise programs that
// do not use the tile kernel. A refused request (an older kernel, a seccomp filter, an
// alternate signal stack already too small, an emulator that knows no such call) just means
// that the AMX kernels never run; nothing else changes.
//
// The answer is kept for the whole process (tessel::shared: every ABI namespace of the
// program shares it); threads asking at once may both make the call, which is idempotent.
// Anywhere but Linux on x86-64 the request is never made and AMX is never used.
#pragma once

#include "../core/config.hpp"

#include <atomic>
#include <cstdint>

#include "cpu_features.hpp"

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#define TESSEL_LINUX_X86_64 1
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Asks the OS for the tile data state once (no caching; see amx_permitted). true: granted.
inline bool request_amx_permission() {
#if defined(TESSEL_LINUX_X86_64) && defined(SYS_arch_prctl)
  // From the kernel's uapi/asm/prctl.h and fpu/types.h (spelled out: older headers lack them).
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return ::syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

// Whether this process may run tile instructions: asked on first use (when the CPU and XCR0
// offer AMX at all), remembered for the process.
inline bool amx_permitted() {
  static const bool granted = [] {
    int v = shared::amx_permission.load();
    if (v < 0) {
      v = cpu_features().amx_bf16 && request_amx_permission() ? 1 : 0;
      int expected = -1;
      shared::amx_permission.compare_exchange_strong(expected, v);
      v = shared::amx_permission.load();
    }
    return v == 1;
  }();
  return granted;
}

// Whether every feature in `needs` (CpuFeature bits) is present and granted to this process
// (asking for the ones the OS grants on request; see above).
inline bool features_usable(std::uint32_t needs) {
  if (!cpu_features().has(needs)) return false;
  if (needs & kFeatureAmxBf16) return amx_permitted();
  return true;
}

}  // namespace detail
TESSEL_NAMESPACE_END
