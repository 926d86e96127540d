#include "tessel_user_lib.hpp"

tessel::Tensor<float, 4> tessel_user_ones_product(std::int64_t h, std::int64_t e, std::int64_t nh) {
  tessel::Tensor<float, 3> A1({1, 1, h});
  tessel::Tensor<float, 2> W1({h, e});
  for (std::int64_t k = 0; k < h; ++k) {
    A1(0, 0, k) = 1.0f;
    for (std::int64_t c = 0; c < e; ++c) W1(k, c) = 1.0f;
  }
  return tessel::matmul_with_multi_head(A1, W1, nh);
}
