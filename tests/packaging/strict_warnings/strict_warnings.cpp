// Compiled (not run) by packaging.strict_warnings.*: the umbrella header and every public
// function of SPEC §6, instantiated for float, float16 and bfloat16, must compile without a
// single warning under -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror at -O2 (GCC's
// flow-based warnings only look at inlined code), with and without OpenMP.
//
// Warnings in a header-only library land in the user's build, where -Werror turns them into
// errors, so the headers are held to stricter flags than the tests use. The calls below are
// what a user writes; the argument values never run, only their types matter.
#include <tessel/tessel.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

// A named namespace, not an unnamed one: internal functions that nothing calls could be
// dropped before GCC's late warning passes look at them.
namespace strict_warnings {

template <class T>
void views(tessel::Tensor<T, 3>& x) {
  auto v = x.view();
  auto heads = v.view(2, 3, 2, -1);                 // [b, s, nh, hd]
  auto swapped = heads.transpose(1, 2).permute(0, 1, 3, 2);
  auto owned = swapped.contiguous();
  auto flat = v.reshape(-1, v.size(2));
  auto first = v.select(0, 0).narrow(1, 0, 2).unsqueeze(0).expand(2, -1, -1);
  auto pieces = v.split(2, -1);
  auto parts = v.chunk(2, 1);
  tessel::Tensor<T, 3> copy = v.clone();
  copy.view().copy_(v);
  (void)owned;
  (void)flat;
  (void)first;
  (void)pieces;
  (void)parts;
}

template <class T>
void functions() {
  const std::int64_t b = 2, s = 3, h = 8, e = 4, nh = 2;
  tessel::Tensor<T, 3> A1({b, s, h}), A3({b, 4, h}), dA1({b, s, h}), C3({b, s, e});
  tessel::Tensor<T, 2> W1({h, e}), P({b, s}), A({s, h}), C({s, e}), dW1({h, e});
  tessel::Tensor<T, 4> O2({b, s, nh, e});
  views(A1);

  auto o2 = tessel::matmul_with_multi_head(A1, W1, nh);
  tessel::matmul_with_multi_head_into(A1, W1, nh, O2.view());

  const tessel::ImportanceOptions options{.top_p = 0.5, .top_k = 2};
  auto forward = tessel::matmul_with_importance(A1, W1, P, nh, options);
  const auto t = static_cast<std::int64_t>(forward.selected.size());
  tessel::Tensor<T, 3> dO3({t, nh, e}), O3({t, nh, e});
  auto backward = tessel::matmul_with_importance(A1, W1, P, nh, options, dO3);
  std::vector<std::int64_t> selected = tessel::select_important(P, options);
  tessel::select_important_into(P, options, selected);
  tessel::matmul_with_importance_into(A1, W1, selected, nh, O3, dO3, dA1, dW1);

  // The explicitly typed forms of SPEC §6 (what the deducing overloads forward to).
  tessel::TensorView<const T, 3> a1 = A1;
  tessel::TensorView<const T, 2> w1 = W1, p = P;
  auto typed = tessel::matmul_with_importance<T>(a1, w1, p, nh, {}, std::optional<tessel::TensorView<const T, 3>>{});

  auto c2 = tessel::matmul(A, W1);
  auto c3 = tessel::matmul(A1, W1);
  auto c33 = tessel::matmul(A1, A3.view().transpose(1, 2));
  tessel::matmul_into(A, W1, C.view());
  tessel::matmul_into(A1, W1, C3.view());
  tessel::matmul_into(A1.view(), A3.view().transpose(1, 2), tessel::Tensor<T, 3>({b, s, b * 2}).view());
  (void)o2;
  (void)backward;
  (void)typed;
  (void)c2;
  (void)c3;
  (void)c33;

  const float round_trip = static_cast<float>(T(1.5f));
  (void)round_trip;
  if constexpr (!std::is_same_v<T, float>) {
    const T from_double(0.1);  // rounded once, not through float
    (void)from_double;
  }
}

// Explicit instantiations: each is emitted (and optimized) like a user's call would be.
template void functions<float>();
template void functions<tessel::float16>();
template void functions<tessel::bfloat16>();

int controls() {
  tessel::set_num_threads(2);
  const std::string_view isa = tessel::active_isa();
  tessel::release_cached_memory();
  tessel::set_memory_cache_limit(std::size_t{1} << 20);
  const auto stats = tessel::memory_stats();
  (void)stats;
  return tessel::get_num_threads() + static_cast<int>(isa.size());
}

}  // namespace strict_warnings
