// A user's program: only the public header and the documented API.
// Built by every packaging test (find_package, add_subdirectory, FetchContent,
// pkg-config, plain -I) with the compiler's default flags -- no -march.
#include <tessel/tessel.hpp>

#include <array>
#include <cstdint>
#include <cstdio>

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

  if (failures != 0) {
    std::printf("tessel consumer FAILED (%d mismatches)\n", failures);
    return 1;
  }
  const auto isa = tessel::active_isa();
  std::printf("tessel consumer OK (isa: %.*s)\n", static_cast<int>(isa.size()), isa.data());
  return 0;
}
