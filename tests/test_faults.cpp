// Faults a user can run into at the edges (issue 11): sizes that overflow, memory that runs
// out, fork(), and legal outputs that share a buffer with the inputs. Each TEST_CASE is its
// own CTest process (a crash or a hang fails only that case; tests/CMakeLists.txt gives this
// file a TIMEOUT), and each fails on the code before issue 11 was fixed:
//   * overflowing sizes allocated a wrapped byte count and the GEMM wrote past it;
//   * a std::bad_alloc inside the engine's parallel region terminated the process (2 threads),
//     and left a packing buffer pointing nowhere (the next call crashed);
//   * a fork() child hung in the OpenMP runtime, or deadlocked on the allocator's lock;
//   * outputs sharing no element with the inputs were refused as overlapping.
// The address-space limit (setrlimit RLIMIT_AS) cannot work under AddressSanitizer, which
// reserves terabytes of address space up front: there those cases exit with code 77, which
// CTest reports as skipped (SKIP_RETURN_CODE).
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/reference.hpp"

#include <tessel/tessel.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TESSEL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESSEL_TEST_ASAN 1
#endif
#endif

using namespace tessel_test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using tessel::bfloat16;
using tessel::Shape;
using tessel::shape_error;
using tessel::Tensor;
using tessel::TensorView;

namespace {

constexpr std::int64_t two_to(int e) { return std::int64_t{1} << e; }

// ---- the address-space limit --------------------------------------------------------------

std::size_t address_space_in_use() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  REQUIRE(pages > 0);
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Whether the kernel enforces RLIMIT_AS on this process: with 1 MiB of headroom, a 64 MiB
// block (its own mapping, see below) must be refused. qemu-user accepts the call and ignores
// it, since the limit would apply to the emulator itself.
bool address_space_limit_is_enforced() {
  rlimit saved{};
  if (::getrlimit(RLIMIT_AS, &saved) != 0) return false;
  rlimit limited = saved;
  limited.rlim_cur = address_space_in_use() + (std::size_t{1} << 20);
  if (::setrlimit(RLIMIT_AS, &limited) != 0) return false;
  void* volatile block = std::malloc(std::size_t{64} << 20);  // volatile: the call must happen
  const bool enforced = block == nullptr;
  std::free(block);
  ::setrlimit(RLIMIT_AS, &saved);
  return enforced;
}

// Exits with CTest's skip code where RLIMIT_AS cannot be used (AddressSanitizer, or a
// process the kernel does not limit, such as one run by qemu-user). Otherwise makes glibc's
// malloc count against the limit from the first byte: by default a thread other
// than the main one allocates from its own arena, whose 64 MiB of address space are reserved
// (and counted) in advance, and glibc falls back to it when a fresh mapping is refused; and
// after frees it serves larger blocks from arenas too. So: one arena (grown with brk, which the
// limit sees) and a fixed threshold above which every block is its own mapping. Call this
// before any thread other than the main one allocates.
void prepare_address_space_limit() {
#if defined(TESSEL_TEST_ASAN)
  std::printf("SKIPPED: RLIMIT_AS cannot work under AddressSanitizer (it reserves terabytes of address space)\n");
  std::fflush(stdout);
  std::_Exit(77);
#endif
#if defined(__GLIBC__)
  REQUIRE(::mallopt(M_ARENA_MAX, 1) == 1);
  REQUIRE(::mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1);
#endif
  if (!address_space_limit_is_enforced()) {
    std::printf("SKIPPED: RLIMIT_AS is accepted but not enforced here (qemu-user ignores it)\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
}

// What a bad_alloc case runs under: malloc prepared for the limit, `threads` threads (the
// settings are restored at the end of the case).
class BadAllocSettings {
 public:
  explicit BadAllocSettings(int threads) {
    prepare_address_space_limit();
    tessel::set_num_threads(threads);
  }

 private:
  tessel_test::SettingsGuard guard_;
};

// Lets the process map at most `headroom` more bytes while it lives.
class AddressSpaceLimit {
 public:
  explicit AddressSpaceLimit(std::size_t headroom) {
    REQUIRE(::getrlimit(RLIMIT_AS, &saved_) == 0);
    rlimit limited = saved_;
    limited.rlim_cur = address_space_in_use() + headroom;
    REQUIRE(::setrlimit(RLIMIT_AS, &limited) == 0);
  }
  ~AddressSpaceLimit() { ::setrlimit(RLIMIT_AS, &saved_); }
  AddressSpaceLimit(const AddressSpaceLimit&) = delete;
  AddressSpaceLimit& operator=(const AddressSpaceLimit&) = delete;

 private:
  rlimit saved_{};
};

// ---- fork ---------------------------------------------------------------------------------

// Runs `child` in a fork() child, which exits with its return value (0: success). Waits at
// most `seconds`; a child still running then is killed and reported as -1 (a hang).
template <class F>
int run_in_child(F&& child, double seconds = 30) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 3;
    try {
      code = child();
    } catch (...) {
      code = 2;
    }
    std::_Exit(code);  // no Catch2, no static destructors in the child
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    REQUIRE(done >= 0);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A product large enough that two threads both get work units: a batch of two, each above
// the engine's threshold of useful work per thread.
struct TwoThreadProduct {
  Tensor<float, 3> A = random_tensor<float, 3>({2, 192, 256}, 71);
  Tensor<float, 3> B = random_tensor<float, 3>({2, 256, 160}, 72);
  Tensor<float, 3> run() const { return tessel::matmul(A, B); }
};

// A product whose packed B block takes MiBs: several k blocks and a wide B (m a multiple of
// every kernel's MR, so that it is not run transposed).
// (Enough rows for several row blocks whatever the L2, so that the engine keeps its 2 MiB B
// column block for all of k: gemm/partition.hpp, keep_b.)
struct LargeProduct {
  Tensor<float, 3> A = random_tensor<float, 3>({1, 1100, 2048}, 3);
  Tensor<float, 3> B = random_tensor<float, 3>({1, 2048, 256}, 4);
  Tensor<float, 3> C = Tensor<float, 3>({1, 1100, 256});
  void run() { tessel::matmul_into(A, B, C); }
  Verdict judged() const { return judge(C, ref_matmul(dense(A), dense(B))); }
};

}  // namespace

// ---- 4. fork() before any threads ran ---------------------------------------------------

// First in the file: it needs a process in which tessel has not yet run threads, which it is
// under CTest (every case its own process) and also when the whole file runs in one process.
TEST_CASE("faults: a child forked before tessel used threads keeps its threads", "[faults][fork]") {
  SettingsGuard guard;
  tessel::set_num_threads(2);
  const TwoThreadProduct product;
  const int status = run_in_child([&] {
    if (tessel::get_num_threads() != 2) return 10;
    (void)product.run();
    return 0;
  });
  CHECK(status == 0);
  const auto C = product.run();
  CHECK_VERDICT(judge(C, ref_matmul(dense(product.A), dense(product.B))));
}

// ---- 1. sizes that overflow ---------------------------------------------------------------

TEST_CASE("faults: a stride-0 view of 2^62 elements counts them and one of 2^64 is refused", "[faults][overflow]") {
  float one = 1.0f;
  const TensorView<float, 2> scalar(&one, {1, 1});
  const auto big = scalar.expand(two_to(31), two_to(31));
  CHECK(big.numel() == two_to(62));
  CHECK_FALSE(big.empty());
  CHECK(big(two_to(31) - 1, 12345) == 1.0f);
  const auto flat = big.view(-1);
  CHECK(flat.shape() == Shape<1>{two_to(62)});
  CHECK(big.view(two_to(20), -1, two_to(11)).shape() == Shape<3>{two_to(20), two_to(31), two_to(11)});

  CHECK_THAT(error_of([&] { (void)scalar.expand(two_to(32), two_to(32)); }),
             StartsWith("expand: ") && Contains("[4294967296, 4294967296]"));
  CHECK_THAT(error_of([&] { (void)TensorView<float, 2>(&one, {two_to(32), two_to(32)}, {0, 0}); }),
             StartsWith("TensorView: ") && Contains("[4294967296, 4294967296]"));
  CHECK_THAT(error_of([&] { (void)big.view(two_to(32), two_to(32), -1); }),
             StartsWith("view: ") && Contains("[4294967296, 4294967296, -1]"));
}

TEST_CASE("faults: matmul of stride-0 views whose product cannot be allocated throws before writing",
          "[faults][overflow]") {
  float one = 1.0f;
  const TensorView<const float, 2> scalar(&one, {1, 1});
  // [2^31, 1] x [1, 2^31]: legal inputs, a C of 2^62 floats = 2^64 bytes.
  const auto A = scalar.expand(two_to(31), 1), B = scalar.expand(1, two_to(31));
  tessel::reset_memory_stats();
  CHECK_THAT(error_of([&] { (void)tessel::matmul(A, B); }),
             StartsWith("matmul: ") && Contains("C") && Contains("[2147483648, 2147483648]"));
  // Batched, and in bfloat16 (2^63 bytes: one past what an object can span).
  const auto A3 = scalar.expand(2, two_to(31), 1);
  CHECK_THAT(error_of([&] { (void)tessel::matmul(A3, B); }), StartsWith("matmul: ") && Contains("[2, 2147483648"));
  bfloat16 hb(1.0f);
  const TensorView<const bfloat16, 2> hs(&hb, {1, 1});
  CHECK_THAT(error_of([&] { (void)tessel::matmul(hs.expand(two_to(31), 1), hs.expand(1, two_to(31))); }),
             StartsWith("matmul: ") && Contains("bytes"));
  CHECK(tessel::memory_stats().bytes_requested == 0);
}

TEST_CASE("faults: the multi-head and importance outputs are checked for overflow before allocating",
          "[faults][overflow]") {
  float one = 1.0f;
  const TensorView<const float, 3> cube(&one, {1, 1, 1});
  const TensorView<const float, 2> square(&one, {1, 1});
  tessel::reset_memory_stats();
  // O2 [2^12, 2^12, 2^20, 2^20] from A1 [2^12, 2^12, 2^20] (heads of size 1) and W1 [2^20, 2^20].
  const auto A1 = cube.expand(two_to(12), two_to(12), two_to(20));
  const auto W1 = square.expand(two_to(20), two_to(20));
  CHECK_THAT(error_of([&] { (void)tessel::matmul_with_multi_head(A1, W1, two_to(20)); }),
             StartsWith("matmul_with_multi_head: ") && Contains("O2") && Contains("more elements"));
  // O3 [1, 2^31, 2^31] for the one selected position of A1 [1, 1, 2^31] with 2^31 heads.
  const auto A1s = cube.expand(1, 1, two_to(31));
  const auto W1s = square.expand(two_to(31), two_to(31));
  float p = 1.0f;
  const TensorView<const float, 2> P(&p, {1, 1});
  CHECK_THAT(error_of([&] { (void)tessel::matmul_with_importance(A1s, W1s, P, two_to(31)); }),
             StartsWith("matmul_with_importance: ") && Contains("O3") && Contains("[1, 2147483648, 2147483648]"));
  CHECK(tessel::memory_stats().bytes_requested == 0);
}

// ---- 2, 3. std::bad_alloc in the engine, and what stays usable after it -------------------

TEST_CASE("faults: bad_alloc in the engine reaches the caller (1 thread) and its buffers stay usable",
          "[faults][bad_alloc]") {
  const BadAllocSettings settings(1);
  const auto As = random_tensor<float, 3>({2, 128, 128}, 1), Bs = random_tensor<float, 3>({2, 128, 128}, 2);
  LargeProduct large;
  Tensor<float, 3> Cs_before({2, 128, 128}), Cs_after({2, 128, 128});
  tessel::matmul_into(As, Bs, Cs_before);  // this thread's buffers now fit the small product
  tessel::release_cached_memory();
  {
    AddressSpaceLimit limit(std::size_t{1} << 20);
    CHECK_THROWS_AS(large.run(), std::bad_alloc);
    // Still limited: the small product needs no more than the buffers kept through the failure.
    tessel::matmul_into(As, Bs, Cs_after);
  }
  CHECK(same_bits(Cs_before, Cs_after));
  CHECK_VERDICT(judge(Cs_after, ref_matmul(dense(As), dense(Bs))));
  large.run();
  CHECK_VERDICT(large.judged());
}

TEST_CASE("faults: bad_alloc in the engine reaches the caller (2 threads) and the library keeps working",
          "[faults][bad_alloc]") {
  const BadAllocSettings settings(2);
  // Eight batches: eight work units, which both threads take part in.
  const auto As = random_tensor<float, 3>({8, 128, 128}, 1), Bs = random_tensor<float, 3>({8, 128, 128}, 2);
  LargeProduct large;
  const auto before = tessel::matmul(As, Bs);  // the worker thread exists now
  Tensor<float, 3> after(before.shape());
  tessel::release_cached_memory();
  {
    AddressSpaceLimit limit(std::size_t{1} << 20);
    CHECK_THROWS_AS(large.run(), std::bad_alloc);
    CHECK_THROWS_AS(large.run(), std::bad_alloc);  // and again, the same way
  }
  // Both threads' buffers were in the failed call; repeated calls give each thread units.
  for (int i = 0; i < 20; ++i) {
    tessel::matmul_into(As, Bs, after);
    REQUIRE(same_bits(before, after));
  }
  large.run();
  CHECK_VERDICT(large.judged());
  // The selection's parallel region too (its scratch grows on each thread).
  const auto P = random_tensor<float, 2>({64, 4096}, 5, 0.0, 1.0);
  const auto selected = tessel::select_important(P, opts(0.5, 100));
  CHECK(selected == ref_select<float>(dense(P), 0.5, 100));
}

TEST_CASE("faults: the allocator returns its cached blocks to the system when a fresh block is refused",
          "[faults][bad_alloc]") {
  prepare_address_space_limit();
  tessel::release_cached_memory();
  { Tensor<float, 1> cached({two_to(24)}); }  // 64 MiB, kept in the cache when freed
  REQUIRE(tessel::memory_stats().cached_bytes >= two_to(26));
  AddressSpaceLimit limit(std::size_t{8} << 20);
  // 20 MiB: too small to be served by the 64 MiB block, too large for the headroom until the
  // cache is given back.
  Tensor<float, 1> t({5 * two_to(20)});
  CHECK(tessel::memory_stats().cached_bytes == 0);
  CHECK(t(0) == 0.0f);
  CHECK(t(5 * two_to(20) - 1) == 0.0f);
}

// ---- 4, 5. fork() --------------------------------------------------------------------------

TEST_CASE("faults: a child forked after a 2-thread call computes the same bits on one thread", "[faults][fork]") {
  SettingsGuard guard;
  tessel::set_num_threads(2);
  const TwoThreadProduct product;
  const auto expected = product.run();  // two threads: the OpenMP pool exists now
  const int status = run_in_child([&] {
    const auto C = product.run();  // (hung in the OpenMP runtime before)
    if (!same_bits(C, expected)) return 12;
    if (tessel::get_num_threads() != 1) return 10;
    tessel::set_num_threads(2);  // has no effect in this child
    if (tessel::get_num_threads() != 1) return 11;
    // ...and so does a grandchild.
    const pid_t pid = ::fork();
    if (pid == 0) std::_Exit(same_bits(product.run(), expected) ? 0 : 13);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 14;
  });
  CHECK(status == 0);  // -1: the child hung
  CHECK(tessel::get_num_threads() == 2);  // the parent keeps its threads
  CHECK(same_bits(product.run(), expected));
}

TEST_CASE("faults: children forked while another thread allocates finish and compute the same bits",
          "[faults][fork]") {
  SettingsGuard guard;
  tessel::set_num_threads(1);
  const auto A = random_tensor<float, 2>({64, 48}, 81), B = random_tensor<float, 2>({48, 40}, 82);
  const auto expected = tessel::matmul(A, B);
  std::atomic<bool> stop{false};
  // Two threads that do little but take the allocator's lock: small blocks (fresh from the
  // system each time, under the lock) and large ones (through the cache).
  auto churn = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      Tensor<float, 1> small({1000}, tessel::uninitialized);
      Tensor<float, 1> large({3 * two_to(18)}, tessel::uninitialized);
    }
  };
  std::thread churn1(churn), churn2(churn);
  int hung = 0, failed = 0;
  for (int i = 0; i < 40 && hung == 0; ++i) {
    const int status = run_in_child(
        [&] {
          Tensor<float, 1> fresh({3 * two_to(18)});
          return same_bits(tessel::matmul(A, B), expected) ? 0 : 1;
        },
        10);
    hung += status == -1;
    failed += status != 0 && status != -1;
  }
  stop.store(true);
  churn1.join();
  churn2.join();
  CHECK(hung == 0);
  CHECK(failed == 0);
}

// ---- 6. outputs that share a buffer with the inputs but no element ------------------------

TEST_CASE("faults: matmul_into accepts a C beside A in one buffer and a C with strides {3 2}",
          "[faults][overlap]") {
  // buf [5, 6]: A = buf[:, 0:3], C = buf[:, 3:6] (PyTorch's torch.matmul(A, B, out=C) accepts it).
  auto buf = random_tensor<float, 2>({5, 6}, 91);
  const auto B = random_tensor<float, 2>({3, 3}, 92);
  const auto A = buf.view().narrow(1, 0, 3), C = buf.view().narrow(1, 3, 3);
  const auto A_before = A.clone();
  const Ref ref = ref_matmul(dense(A_before), dense(B));
  tessel::matmul_into(A, B, C);
  CHECK(same_bits(A.clone(), A_before));
  CHECK_VERDICT(judge(C, ref));

  // [2, 2] with strides {3, 2}: offsets 0, 2, 3, 5; offsets 1 and 4 are not part of it.
  std::vector<float> out(6, sentinel<float>());
  const TensorView<float, 2> folded(out.data(), {2, 2}, {3, 2});
  const auto A2 = random_tensor<float, 2>({2, 7}, 93), B2 = random_tensor<float, 2>({7, 2}, 94);
  tessel::matmul_into(A2, B2, folded);
  CHECK_VERDICT(judge(folded, ref_matmul(dense(A2), dense(B2))));
  CHECK(out[1] == sentinel<float>());
  CHECK(out[4] == sentinel<float>());
  // copy_ writes it too, without copying the source first.
  tessel::reset_memory_stats();
  folded.copy_(A2.view().narrow(1, 0, 2));
  CHECK(folded(1, 1) == A2(1, 1));
  CHECK(tessel::memory_stats().allocations == 0);
}

TEST_CASE("faults: matmul_with_multi_head_into accepts A1 and O2 side by side in one row buffer",
          "[faults][overlap]") {
  const std::int64_t b = 2, s = 5, h = 12, nh = 3, e = 4;
  auto rows = random_tensor<float, 3>({b, s, h + nh * e}, 95);
  const auto W1 = random_tensor<float, 2>({h, e}, 96);
  const auto A1 = rows.view().narrow(2, 0, h);
  const auto O2 = rows.view().narrow(2, h, nh * e).view(b, s, nh, e);
  const auto A1_before = A1.clone();
  tessel::matmul_with_multi_head_into(A1, W1, nh, O2);
  CHECK(same_bits(A1.clone(), A1_before));
  CHECK_VERDICT(judge(O2, ref_multi_head(dense(A1_before), dense(W1), nh)));
}

TEST_CASE("faults: matmul_with_importance_into accepts inputs and outputs interleaved in shared buffers",
          "[faults][overlap]") {
  const std::int64_t b = 2, s = 6, h = 8, nh = 2, e = 4;
  // A1 and dA1 are the two halves of each row of one [b, s, 2h] buffer; O3 and dO3 likewise.
  auto pairs = random_tensor<float, 3>({b, s, 2 * h}, 97);
  const auto W1 = random_tensor<float, 2>({h, e}, 98);
  const std::vector<std::int64_t> sel{1, 4, 7, 11};
  const auto t = static_cast<std::int64_t>(sel.size());
  auto heads = random_tensor<float, 3>({t, 2 * nh, e}, 99);
  Tensor<float, 2> dW1({h, e});
  const auto A1 = pairs.view().narrow(2, 0, h), dA1 = pairs.view().narrow(2, h, h);
  const auto O3 = heads.view().narrow(1, 0, nh), dO3 = heads.view().narrow(1, nh, nh);
  const auto A1_before = A1.clone();
  const auto dO3_before = dO3.clone();
  tessel::matmul_with_importance_into(A1, W1, sel, nh, O3, dO3, dA1, dW1.view());
  CHECK(same_bits(A1.clone(), A1_before));
  CHECK(same_bits(dO3.clone(), dO3_before));
  CHECK_VERDICT(judge(O3, ref_importance_forward(dense(A1_before), dense(W1), nh, sel)));
  CHECK_VERDICT(judge(dA1, ref_grad_input(dense(W1), nh, sel, dense(dO3_before), b, s)));
  CHECK_VERDICT(judge(dW1, ref_grad_weight(dense(A1_before), nh, sel, dense(dO3_before))));
}

TEST_CASE("faults: an output that may share memory with an input is computed through a temporary",
          "[faults][overlap]") {
  // A's elements sit at 202·i + 206·j (even offsets, some repeated: an input may do that), C's
  // at 1 + 208·i + 2·j (odd): disjoint, but not provably so within the solver's budget.
  std::vector<float> buf(42000);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(static_cast<int>(i % 17) - 8) / 8.0f;
  const TensorView<const float, 2> A(buf.data(), {103, 101}, {202, 206});
  const TensorView<float, 2> C(buf.data() + 1, {103, 104}, {208, 2});
  REQUIRE(tessel::detail::sharing_between(C, A) == tessel::detail::Sharing::unknown);
  const auto B = random_tensor<float, 2>({101, 104}, 100);
  const auto A_before = A.clone();
  const Ref ref = ref_matmul(dense(A_before), dense(B));
  tessel::reset_memory_stats();
  tessel::matmul_into(A, B, C);
  CHECK(tessel::memory_stats().bytes_requested >= 103 * 104 * 4);  // the temporary
  CHECK(same_bits(A.clone(), A_before));
  CHECK_VERDICT(judge(C, ref));
  // The same layout shifted onto A's even offsets does share an element and is refused.
  const TensorView<float, 2> C_even(buf.data(), {103, 104}, {208, 2});
  CHECK_THAT(error_of([&] { tessel::matmul_into(A, B, C_even); }),
             StartsWith("matmul_into: ") && Contains("C") && Contains("overlaps the memory of A"));
}

TEST_CASE("faults: outputs that do share memory are still refused before anything is written", "[faults][overlap]") {
  auto buf = random_tensor<float, 2>({5, 6}, 101);
  const auto snapshot = buf;
  const auto B = random_tensor<float, 2>({3, 3}, 102);
  // A = buf[:, 0:3] and C = buf[:, 2:5] share column 2.
  CHECK_THAT(error_of([&] { tessel::matmul_into(buf.view().narrow(1, 0, 3), B, buf.view().narrow(1, 2, 3)); }),
             StartsWith("matmul_into: ") && Contains("overlaps the memory of A"));
  // C with strides {1, 1} on [2, 2] reaches offset 1 twice; an expanded C repeats every element.
  Tensor<float, 2> A2({2, 3}), B2({3, 2});
  CHECK_THAT(error_of([&] { tessel::matmul_into(A2, B2, TensorView<float, 2>(buf.data(), {2, 2}, {1, 1})); }),
             StartsWith("matmul_into: ") && Contains("share memory"));
  CHECK_THAT(error_of([&] { tessel::matmul_into(A2, B2, buf.view().select(0, 0).narrow(0, 0, 2).expand(2, 2)); }),
             StartsWith("matmul_into: ") && Contains("share memory"));
  // O2 overlapping A1 by one column of the shared row buffer.
  const std::int64_t h = 4, nh = 2, e = 1;
  auto rows = random_tensor<float, 3>({2, 3, h + nh * e}, 103);
  const auto rows_before = rows;
  const auto W1 = random_tensor<float, 2>({h, e}, 104);
  const auto O2 = rows.view().narrow(2, h - 1, nh * e).view(2, 3, nh, e);
  CHECK_THAT(error_of([&] { tessel::matmul_with_multi_head_into(rows.view().narrow(2, 0, h), W1, nh, O2); }),
             StartsWith("matmul_with_multi_head_into: ") && Contains("O2") && Contains("A1"));
  // Two outputs of the importance matmul sharing an element.
  const auto A1 = random_tensor<float, 3>({1, 4, 4}, 105);
  const std::vector<std::int64_t> sel{0, 2};
  Tensor<float, 3> dO3({2, 2, 2});
  Tensor<float, 1> out({32});
  const TensorView<float, 3> O3(out.data(), {2, 2, 2});
  const TensorView<float, 3> dA1(out.data() + 7, {1, 4, 4});
  CHECK_THAT(error_of([&] { tessel::matmul_with_importance_into(A1, random_tensor<float, 2>({4, 2}, 106), sel, 2, O3,
                                                                dO3, dA1, Tensor<float, 2>({4, 2})); }),
             StartsWith("matmul_with_importance_into: ") && Contains("grad_input") && Contains("O3"));
  CHECK(same_bits(buf, snapshot));
  CHECK(same_bits(rows, rows_before));
}
