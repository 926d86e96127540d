// Tests of tessel/core/tensor.hpp and allocator.hpp: the owning Tensor, MaybeOwnedView
// (what reshape/contiguous return) and the caching allocator's counters.
#include <catch2/catch.hpp>

#include <tessel/core/allocator.hpp>
#include <tessel/core/tensor.hpp>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

using tessel::bfloat16;
using tessel::float16;
using tessel::MaybeOwnedView;
using tessel::Shape;
using tessel::shape_error;
using tessel::Tensor;
using tessel::TensorView;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

bool aligned64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

template <class T>
bool all_zero_bytes(const T* p, std::int64_t n) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < std::size_t(n) * sizeof(T); ++i)
    if (b[i] != 0) return false;
  return true;
}

// Functions of the kinds users write: they take views, and Tensors / reshape results must
// be accepted without spelling a conversion.
float sum2(TensorView<const float, 2> v) {
  float s = 0;
  for (std::int64_t i = 0; i < v.size(0); ++i)
    for (std::int64_t j = 0; j < v.size(1); ++j) s += v(i, j);
  return s;
}
void fill2(TensorView<float, 2> v, float x) {
  for (std::int64_t i = 0; i < v.size(0); ++i)
    for (std::int64_t j = 0; j < v.size(1); ++j) v(i, j) = x;
}

// Starts a counting test from a known state: no cached blocks, counters zero.
void fresh_allocator_state() {
  tessel::set_memory_cache_limit(std::size_t{2} << 30);
  tessel::release_cached_memory();
  tessel::reset_memory_stats();
}

}  // namespace

TEMPLATE_TEST_CASE("Tensor: zero-filled, 64-byte aligned, contiguous", "[tensor]", float, float16, bfloat16) {
  for (std::int64_t n : {1, 3, 7, 16, 17, 1000, 70000}) {
    Tensor<TestType, 2> t({n, 3});
    CHECK(t.numel() == 3 * n);
    CHECK(t.shape() == Shape<2>{n, 3});
    CHECK(t.strides() == Shape<2>{3, 1});
    CHECK(t.size(-2) == n);
    CHECK(t.stride(0) == 3);
    CHECK(t.is_contiguous());
    CHECK(aligned64(t.data()));
    CHECK(all_zero_bytes(t.data(), t.numel()));
  }
  Tensor<TestType, 3> empty({4, 0, 2});
  CHECK(empty.numel() == 0);
  CHECK(empty.view().numel() == 0);
  Tensor<TestType, 1> def;
  CHECK(def.numel() == 0);
  CHECK_THROWS_AS((Tensor<TestType, 2>({2, -1})), shape_error);
}

TEST_CASE("Tensor: a reused (cached) block is zero-filled again", "[tensor][allocator]") {
  fresh_allocator_state();
  const Shape<1> shape{std::int64_t(3 * kMiB / sizeof(float))};  // 3 MiB: a cached size class
  const float* first = nullptr;
  {
    Tensor<float, 1> dirty(shape);
    first = dirty.data();
    std::fill(dirty.data(), dirty.data() + dirty.numel(), 1.5f);
  }
  Tensor<float, 1> again(shape);
  CHECK(again.data() == first);  // the same block came back from the cache ...
  CHECK(tessel::memory_stats().fresh_allocations == 1);
  CHECK(all_zero_bytes(again.data(), again.numel()));  // ... and was cleared
  Tensor<float, 1> raw(shape, tessel::uninitialized);  // the explicit opt-out allocates too
  CHECK(aligned64(raw.data()));
  CHECK(tessel::memory_stats().allocations == 3);
}

TEST_CASE("Tensor: element access, view(), clone", "[tensor]") {
  Tensor<float, 3> t({2, 3, 4});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) t(i, j, k) = float(100 * i + 10 * j + k);
  for (std::int64_t f = 0; f < 24; ++f) {  // row-major: flat position f is [f/12, f/4%3, f%4]
    CHECK(t.data()[f] == float(100 * (f / 12) + 10 * (f / 4 % 3) + f % 4));
  }
  const auto v = t.view();
  CHECK(v.data() == t.data());
  CHECK(v.strides() == Shape<3>{12, 4, 1});
  const auto w = t.view(6, -1);
  CHECK(w.shape() == Shape<2>{6, 4});
  CHECK(w(5, 3) == 123.0f);
  const Tensor<float, 3>& ct = t;
  CHECK(ct(1, 2, 3) == 123.0f);
  STATIC_REQUIRE(std::is_same_v<decltype(ct.view()), TensorView<const float, 3>>);
  STATIC_REQUIRE(std::is_same_v<decltype(ct(0, 0, 0)), const float&>);
  auto c = t.clone();
  CHECK(c.data() != t.data());
  CHECK(std::memcmp(c.data(), t.data(), 24 * sizeof(float)) == 0);
  const auto vc = v.transpose(0, 2).clone();  // a strided view's clone is contiguous
  STATIC_REQUIRE(std::is_same_v<std::remove_const_t<decltype(vc)>, Tensor<float, 3>>);
  CHECK(vc.shape() == Shape<3>{4, 3, 2});
  CHECK(vc(3, 2, 1) == 123.0f);
  CHECK(vc.data()[1] == 100.0f);  // [0, 0, 1] = t[1, 0, 0]
  CHECK_THROWS_AS(t.view().at(2, 0, 0), shape_error);
  // PyTorch's spellings: size() is the shape, dim() the rank, item() the only element.
  CHECK(t.size() == t.shape());
  CHECK(t.transpose(0, 2).size() == Shape<3>{4, 3, 2});
  STATIC_REQUIRE(Tensor<float, 3>::dim() == 3);
  STATIC_REQUIRE(TensorView<const float, 2>::dim() == 2);
  CHECK(t.select(0, 1).select(0, 2).narrow(0, 3, 1).item() == 123.0f);
  CHECK(t.at(1, 2, 3) == 123.0f);
  CHECK_THROWS_AS(t.at(0, 3, 0), shape_error);
  CHECK_THROWS_AS(ct.at(-1, 0, 0), shape_error);
}

TEST_CASE("Tensor: copy and move semantics", "[tensor]") {
  Tensor<float, 2> a({3, 5});
  std::iota(a.data(), a.data() + a.numel(), 1.0f);

  Tensor<float, 2> b(a);  // deep copy
  CHECK(b.data() != a.data());
  CHECK(b.shape() == a.shape());
  CHECK(std::memcmp(b.data(), a.data(), 15 * sizeof(float)) == 0);
  b(0, 0) = -1.0f;
  CHECK(a(0, 0) == 1.0f);

  Tensor<float, 2> c({1, 1});
  c = a;  // copy assignment replaces shape and contents
  CHECK(c.shape() == Shape<2>{3, 5});
  CHECK(c(2, 4) == 15.0f);
  CHECK(c.data() != a.data());
  auto& self = c;
  c = self;  // self-assignment keeps everything
  CHECK(c(2, 4) == 15.0f);

  const float* pa = a.data();
  Tensor<float, 2> d(std::move(a));  // move: the buffer changes hands
  CHECK(d.data() == pa);
  CHECK(d(2, 4) == 15.0f);
  CHECK(a.numel() == 0);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(a.data() == nullptr);

  Tensor<float, 2> e({2, 2});
  e = std::move(d);
  CHECK(e.data() == pa);
  CHECK(e.shape() == Shape<2>{3, 5});
  CHECK(d.numel() == 0);  // NOLINT(bugprone-use-after-move)

  std::vector<Tensor<float, 2>> many;
  for (int i = 0; i < 20; ++i) many.emplace_back(Shape<2>{i, 2});  // reallocation moves
  for (int i = 0; i < 20; ++i) CHECK(many[std::size_t(i)].numel() == 2 * i);
}

TEST_CASE("Tensor: conversions to views", "[tensor]") {
  STATIC_REQUIRE(std::is_convertible_v<Tensor<float, 2>&, TensorView<float, 2>>);
  STATIC_REQUIRE(std::is_convertible_v<Tensor<float, 2>&, TensorView<const float, 2>>);
  STATIC_REQUIRE(std::is_convertible_v<const Tensor<float, 2>&, TensorView<const float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<const Tensor<float, 2>&, TensorView<float, 2>>);
  STATIC_REQUIRE(std::is_convertible_v<TensorView<float, 2>, TensorView<const float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<TensorView<const float, 2>, TensorView<float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Tensor<float, 2>&, TensorView<const float, 3>>);
  STATIC_REQUIRE(tessel::TensorLike<Tensor<bfloat16, 3>>);
  STATIC_REQUIRE(tessel::TensorLike<MaybeOwnedView<const float, 1>>);
  STATIC_REQUIRE(std::is_same_v<tessel::element_of_t<const Tensor<float16, 2>&>, float16>);

  Tensor<float, 2> t({2, 3});
  fill2(t, 2.0f);
  CHECK(sum2(t) == 12.0f);
  const Tensor<float, 2>& ct = t;
  CHECK(sum2(ct) == 12.0f);
  const TensorView<const float, 2> cv = t;
  CHECK(cv.data() == t.data());
  CHECK(cv.shape() == t.shape());
  CHECK(tessel::as_const_view(t).data() == t.data());
  CHECK(tessel::as_mutable_view(t).data() == t.data());
}

TEST_CASE("MaybeOwnedView: usable where a TensorView is accepted", "[tensor]") {
  Tensor<float, 3> t({2, 3, 4});
  std::iota(t.data(), t.data() + t.numel(), 0.0f);
  const float total = 24.0f * 23.0f / 2.0f;

  const auto r_view = t.view().reshape(6, 4);  // contiguous: a view of t
  CHECK_FALSE(r_view.owns_memory());
  CHECK(r_view.data() == t.data());
  CHECK(sum2(r_view) == total);

  const auto r_copy = t.view().transpose(0, 2).reshape(4, 6);  // needs a copy
  CHECK(r_copy.owns_memory());
  CHECK(r_copy.data() != t.data());
  CHECK(aligned64(r_copy.data()));
  CHECK(sum2(r_copy) == total);
  CHECK(r_copy(0, 1) == 12.0f);  // transposed [4,3,2] flattened: [0,0,1] = t[1,0,0]

  const auto c_copy = t.view().permute(2, 0, 1).contiguous();
  CHECK(c_copy.owns_memory());
  CHECK(c_copy.is_contiguous());
  CHECK(c_copy(1, 0, 2) == 9.0f);  // t[0, 2, 1]
  const auto c_same = t.view().contiguous();
  CHECK_FALSE(c_same.owns_memory());
  CHECK(c_same.data() == t.data());

  // A writable MaybeOwnedView goes where TensorView<float, 2> is taken.
  auto w = t.view().reshape(4, 6);
  fill2(w, 1.0f);
  CHECK(t(1, 2, 3) == 1.0f);

  // Copies share the owned buffer; it outlives the original object.
  MaybeOwnedView<float, 2> keep = t.view().transpose(1, 2).reshape(2, 12);
  REQUIRE(keep.owns_memory());
  {
    auto tmp = t.view().transpose(1, 2).reshape(2, 12);
    keep = tmp;
  }
  CHECK(keep.owns_memory());
  CHECK(sum2(keep) == 24.0f);
  const TensorView<const float, 2> as_view = keep;
  CHECK(as_view.data() == keep.data());
  CHECK(tessel::as_const_view(keep).data() == keep.data());
}

TEST_CASE("memory_stats: counts allocations, fresh vs cached, live and peak bytes", "[tensor][allocator]") {
  fresh_allocator_state();
  auto s0 = tessel::memory_stats();
  CHECK(s0.allocations == 0);
  CHECK(s0.fresh_allocations == 0);
  CHECK(s0.cached_bytes == 0);
  const auto live0 = s0.live_bytes;

  {
    Tensor<float, 1> small({10});  // 40 bytes -> one 64-byte block, never cached
    auto s = tessel::memory_stats();
    CHECK(s.allocations == 1);
    CHECK(s.fresh_allocations == 1);
    CHECK(s.bytes_requested == 40);
    CHECK(s.live_bytes == live0 + 64);
  }
  CHECK(tessel::memory_stats().live_bytes == live0);
  CHECK(tessel::memory_stats().cached_bytes == 0);
  {
    Tensor<float, 1> small({10});  // small blocks are not cached: fresh again
    CHECK(tessel::memory_stats().fresh_allocations == 2);
  }
  Tensor<float, 1> none({0});  // no elements: no allocation
  CHECK(tessel::memory_stats().allocations == 2);

  tessel::reset_memory_stats();
  const std::int64_t n = std::int64_t(3 * kMiB / sizeof(float));  // 3 MiB, rounded to 4 MiB (2 MiB pages)
  const std::int64_t block = std::int64_t(4 * kMiB);
  {
    Tensor<float, 1> big({n});
    auto s = tessel::memory_stats();
    CHECK(s.fresh_allocations == 1);
    CHECK(s.bytes_requested == std::int64_t(3 * kMiB));
    CHECK(s.live_bytes == live0 + block);
  }
  auto s1 = tessel::memory_stats();
  CHECK(s1.cached_bytes == block);  // freed but kept
  CHECK(s1.live_bytes == live0);
  CHECK(s1.peak_live_bytes == live0 + block);
  {
    Tensor<float, 1> big({n});  // served from the cache
    Tensor<float, 1> big2({n - 1000});  // the cache is empty again: fresh
    auto s = tessel::memory_stats();
    CHECK(s.allocations == 3);
    CHECK(s.fresh_allocations == 2);
    CHECK(s.cached_bytes == 0);
    CHECK(s.peak_live_bytes == live0 + 2 * block);
  }
  CHECK(tessel::memory_stats().cached_bytes == 2 * block);
  const std::int64_t mid_n = std::int64_t((kMiB + kMiB / 2) / sizeof(float));  // 1.5 MiB -> a 2 MiB block
  {
    // A cached block up to twice the rounded size is reused: a 4 MiB block serves 2 MiB.
    Tensor<float, 1> mid({mid_n});
    CHECK(tessel::memory_stats().fresh_allocations == 2);
    CHECK(tessel::memory_stats().live_bytes == live0 + block);
  }
  CHECK(tessel::memory_stats().cached_bytes == 2 * block);
  tessel::release_cached_memory();
  CHECK(tessel::memory_stats().cached_bytes == 0);
  { Tensor<float, 1> huge({std::int64_t(9 * kMiB / sizeof(float))}); }  // a 10 MiB block
  CHECK(tessel::memory_stats().fresh_allocations == 3);
  CHECK(tessel::memory_stats().cached_bytes == std::int64_t(10 * kMiB));
  {
    // ... but a larger one is not (10 MiB > 2 x 2 MiB): fresh.
    Tensor<float, 1> mid({mid_n});
    CHECK(tessel::memory_stats().fresh_allocations == 4);
  }
  CHECK(tessel::memory_stats().cached_bytes == std::int64_t(12 * kMiB));

  tessel::release_cached_memory();
  CHECK(tessel::memory_stats().cached_bytes == 0);
  {
    Tensor<float, 1> big({n});
    CHECK(tessel::memory_stats().fresh_allocations == 5);  // nothing cached to reuse
  }
  CHECK(tessel::memory_stats().cached_bytes == block);

  // A cache limit below the block size keeps nothing; lowering it trims what is cached.
  tessel::set_memory_cache_limit(kMiB);
  CHECK(tessel::memory_stats().cached_bytes == 0);
  {
    Tensor<float, 1> big({n});
    CHECK(tessel::memory_stats().fresh_allocations == 6);
  }
  CHECK(tessel::memory_stats().cached_bytes == 0);
  tessel::set_memory_cache_limit(std::size_t(block));  // exactly one block fits
  {
    Tensor<float, 1> a({n});
    Tensor<float, 1> b({n});
  }
  CHECK(tessel::memory_stats().cached_bytes == block);

  tessel::reset_memory_stats();
  auto s2 = tessel::memory_stats();
  CHECK(s2.allocations == 0);
  CHECK(s2.cached_bytes == block);  // reset clears counters, not the cache
  fresh_allocator_state();
}

TEST_CASE("memory_stats: a contiguous reshape or view allocates nothing; a copy allocates once", "[tensor][allocator]") {
  Tensor<float, 3> t({4, 5, 6});
  fresh_allocator_state();
  const auto live0 = tessel::memory_stats().live_bytes;
  {
    auto r = t.view().reshape(20, 6);
    auto v = t.view().view(-1);
    auto c = t.view().contiguous();
    auto p = t.view().permute(2, 1, 0).select(0, 1).narrow(0, 1, 2);
    (void)v;
    (void)p;
    CHECK_FALSE(r.owns_memory());
    CHECK_FALSE(c.owns_memory());
    CHECK(tessel::memory_stats().allocations == 0);
  }
  {
    auto r = t.view().transpose(0, 1).reshape(-1);
    CHECK(r.owns_memory());
    CHECK(tessel::memory_stats().allocations >= 1);
  }
  CHECK(tessel::memory_stats().live_bytes == live0);  // the copy was freed with its owner
  { auto k = t.view().clone(); }
  CHECK(tessel::memory_stats().live_bytes == live0);
}
