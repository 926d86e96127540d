// A user's program: only the public header and the documented API.
// Built by every packaging test (find_package, add_subdirectory, FetchContent,
// pkg-config, plain -I) with the compiler's default flags -- no -march.
// It prints "openmp: yes|no" (whether this build has OpenMP, which the test compares with
// what the way of consuming tessel promises) and checks the thread count against it; the
// tests run it with TESSEL_NUM_THREADS=3. ../downstream builds it with
// TESSEL_CONSUMER_WITH_USER_LIB: then it also calls the installed library of ../user_lib.
#include <tessel/tessel.hpp>
#if defined(TESSEL_CONSUMER_WITH_USER_LIB)
#include <tessel_user_lib.hpp>
#endif

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main() {
  constexpr std::int64_t b = 2, s = 3, h = 8, e = 4, nh = 2, hd = h / nh;

  tessel::Tensor<float, 3> A1({b, s, h});
  tessel::Tensor<float, 2> W1({h, e});
  // Small integers: every product and sum is exact in fp32, so we can compare with ==.
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t k = 0; k < h; ++k) A1(i, j, k) = float((i * 7 + j * 3 + k) % 5) - 2.0f;
  for (std::int64_t k = 0; k < h; ++k)
    for (std::int64_t c = 0; c < e; ++c) W1(k, c) = float((k * 5 + c * 2) % 7) - 3.0f;

  auto O2 = tessel::matmul_with_multi_head(A1, W1, nh);  // T deduced from the Tensors

  int failures = 0;
  const std::array<std::int64_t, 4> expected_shape{b, s, nh, e};
  for (std::size_t d = 0; d < 4; ++d) {
    if (O2.shape()[d] != expected_shape[d]) {
      std::printf("shape mismatch in dimension %zu: %lld != %lld\n", d,
                  static_cast<long long>(O2.shape()[d]),
                  static_cast<long long>(expected_shape[d]));
      return 1;
    }
  }
  // O2[i,j,n,c] = sum_k A1[i,j,n*hd+k] * W1[n*hd+k, c]
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t c = 0; c < e; ++c) {
          float want = 0.0f;
          for (std::int64_t k = 0; k < hd; ++k) want += A1(i, j, n * hd + k) * W1(n * hd + k, c);
          const float got = O2(i, j, n, c);
          if (got != want && ++failures <= 5)
            std::printf("O2(%lld,%lld,%lld,%lld) = %g, expected %g\n", static_cast<long long>(i),
                        static_cast<long long>(j), static_cast<long long>(n),
                        static_cast<long long>(c), double(got), double(want));
        }

  const float round_trip = static_cast<float>(tessel::bfloat16(1.5f));
  if (round_trip != 1.5f) {
    std::printf("float(bfloat16(1.5f)) = %g, expected 1.5\n", double(round_trip));
    ++failures;
  }

#if defined(TESSEL_CONSUMER_WITH_USER_LIB)
  const auto ones = tessel_user_ones_product(8, 3, 2);  // every element is 8 / 2
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      if (ones(0, 0, n, c) != 4.0f && ++failures <= 5)
        std::printf("tessel_user_ones_product: (0,0,%lld,%lld) = %g, expected 4\n", static_cast<long long>(n),
                    static_cast<long long>(c), double(ones(0, 0, n, c)));
#endif

  // Without OpenMP every call runs on one thread, and get_num_threads() says so whatever
  // TESSEL_NUM_THREADS or set_num_threads() asked for.
#if defined(_OPENMP)
  const bool openmp = true;
#else
  const bool openmp = false;
#endif
  const char* env = std::getenv("TESSEL_NUM_THREADS");
  const int from_env = env ? std::atoi(env) : 0;
  if (from_env > 0 && tessel::get_num_threads() != (openmp ? from_env : 1)) {
    std::printf("TESSEL_NUM_THREADS=%d but get_num_threads() = %d\n", from_env, tessel::get_num_threads());
    ++failures;
  }
  tessel::set_num_threads(2);
  if (tessel::get_num_threads() != (openmp ? 2 : 1)) {
    std::printf("after set_num_threads(2), get_num_threads() = %d\n", tessel::get_num_threads());
    ++failures;
  }
  tessel::set_num_threads(0);

  if (failures != 0) {
    std::printf("tessel consumer FAILED (%d mismatches)\n", failures);
    return 1;
  }
  const auto isa = tessel::active_isa();
  std::printf("tessel consumer OK (isa: %.*s, openmp: %s)\n", static_cast<int>(isa.size()), isa.data(),
              openmp ? "yes" : "no");
  return 0;
}
