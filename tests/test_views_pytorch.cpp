// Differential test against PyTorch itself: tests/data/views/chains.txt holds 600 random chains of
// view operations (view, reshape, permute, transpose, narrow, select, split, chunk, unsqueeze,
// expand, contiguous, clone; negative dimensions; invalid calls) on contiguous, permuted, sliced,
// selected and expanded starts, as PyTorch 1.13 executed them (tests/data/views/generate.py).
// Every step is replayed through tessel and compared: rank, sizes, strides, storage offset,
// whether a copy was made, every value, and which calls must throw.
//
// Each chain is replayed twice:
//   named      the base is a named Tensor: its views must be plain TensorViews until the chain
//              passes through a copy, and from then on owning MaybeOwnedViews;
//   temporary  the first operation is applied to a temporary Tensor (std::move of a copy of the
//              base): every result must own the memory.
// Only the current object of a chain is kept (the previous one, the Tensor a temporary start
// came from, and the split pieces not taken are destroyed), every other step applies the operation
// to an rvalue, and other tensors are allocated and freed between steps (filled with NaN): a
// result that did not keep its memory alive reads NaN, or trips AddressSanitizer.
#include <catch2/catch.hpp>

#include <tessel/tessel.hpp>

#include "support/view_reference.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

using tessel::MaybeOwnedView;
using tessel::Shape;
using tessel::shape_error;
using tessel::Tensor;
using tessel::TensorView;
using tessel_test::Index;

namespace {

constexpr std::size_t kMaxRank = 5;

std::filesystem::path data_dir() { return std::filesystem::path(__FILE__).parent_path() / "data" / "views"; }

// ---- the recorded cases ----------------------------------------------------------------------

struct Record {
  bool throws = false;
  std::size_t rank = 0;
  Index shape, strides;
  std::int64_t offset = 0;
  bool copied = false;
  std::vector<double> values;
};

struct Step {
  std::string op;
  Index args;
  bool is_pieces = false;
  Record result;               // a single result (or throws)
  std::vector<Record> pieces;  // split/chunk
  std::size_t take = 0;
  std::string text;            // the op line, for messages
};

struct Case {
  std::string header;
  Index base_shape;
  std::vector<Step> steps;
};

Record parse_record(std::istringstream& in) {
  Record r;
  std::size_t n = 0;
  in >> r.rank;
  r.shape.resize(r.rank);
  r.strides.resize(r.rank);
  for (auto& s : r.shape) in >> s;
  for (auto& s : r.strides) in >> s;
  int copied = 0;
  in >> r.offset >> copied >> n;
  r.copied = copied != 0;
  r.values.resize(n);
  for (auto& v : r.values) in >> v;
  return r;
}

std::vector<Case> load_chains() {
  std::ifstream file(data_dir() / "chains.txt");
  REQUIRE(file.good());
  std::vector<Case> cases;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string word;
    in >> word;
    if (word == "case") {
      cases.push_back({line, {}, {}});
    } else if (word == "base") {
      std::size_t rank = 0;
      in >> rank;
      cases.back().base_shape.resize(rank);
      for (auto& s : cases.back().base_shape) in >> s;
    } else if (word == "op") {
      Step s;
      s.text = line.substr(3);
      in >> s.op;
      for (std::int64_t a; in >> a;) s.args.push_back(a);
      cases.back().steps.push_back(std::move(s));
    } else if (word == "=") {
      Step& s = cases.back().steps.back();
      std::string kind;
      const auto pos = in.tellg();
      in >> kind;
      if (kind == "throws") {
        s.result.throws = true;
      } else if (kind == "pieces") {
        std::size_t count = 0;
        in >> count >> s.take;
        s.is_pieces = true;
        s.pieces.reserve(count);
      } else {
        in.seekg(pos);
        s.result = parse_record(in);
      }
    } else if (word == "-") {
      cases.back().steps.back().pieces.push_back(parse_record(in));
    } else {
      REQUIRE(word == "end");
    }
  }
  return cases;
}

// ---- the objects a chain holds -------------------------------------------------------------

template <class Seq>
struct AnyObjectOf;
template <std::size_t... R>
struct AnyObjectOf<std::index_sequence<R...>> {
  using type = std::variant<TensorView<float, R>..., MaybeOwnedView<float, R>..., Tensor<float, R>...>;
};
using Object = AnyObjectOf<std::make_index_sequence<kMaxRank + 1>>::type;

template <class X>
inline constexpr bool is_tensor_v = false;
template <std::size_t R>
inline constexpr bool is_tensor_v<Tensor<float, R>> = true;
template <class X>
inline constexpr bool is_owning_view_v = false;
template <std::size_t R>
inline constexpr bool is_owning_view_v<MaybeOwnedView<float, R>> = true;

template <class F>
auto with_rank(std::int64_t n, F&& f) {
  switch (n) {
    case 0: return f(std::integral_constant<std::size_t, 0>{});
    case 1: return f(std::integral_constant<std::size_t, 1>{});
    case 2: return f(std::integral_constant<std::size_t, 2>{});
    case 3: return f(std::integral_constant<std::size_t, 3>{});
    case 4: return f(std::integral_constant<std::size_t, 4>{});
    case 5: return f(std::integral_constant<std::size_t, 5>{});
    default: FAIL("rank " << n << " is beyond what the replay instantiates"); return f(std::integral_constant<std::size_t, 0>{});
  }
}

template <std::size_t N>
Shape<N> shape_arg(const Index& args, std::size_t first) {
  REQUIRE(args.size() >= first + N);
  Shape<N> s{};
  for (std::size_t i = 0; i < N; ++i) s[i] = args[first + i];
  return s;
}

// What one operation produced: one object, pieces, a shape_error, or nothing because tessel
// rejects the call at compile time (narrow/select/split/chunk of a 0-d tensor, which PyTorch
// rejects at run time).
struct Outcome {
  std::vector<Object> objects;
  bool threw = false;
  bool rejected_at_compile_time = false;
  std::string message;
};

template <class Y>
Outcome one(Y&& y) {
  Outcome o;
  o.objects.emplace_back(std::forward<Y>(y));
  return o;
}
template <class P>
Outcome many(std::vector<P>&& pieces) {
  Outcome o;
  for (auto& p : pieces) o.objects.emplace_back(std::move(p));
  return o;
}
Outcome compile_time_rejection() {
  Outcome o;
  o.rejected_at_compile_time = true;
  return o;
}

// Applies the step to x, forwarding its value category (so Tensor&& and MaybeOwnedView&& paths run).
template <class X>
Outcome run_op(X&& x, const Step& s) {
  using V = std::remove_cvref_t<X>;
  constexpr std::size_t R = V::rank;
  const Index& a = s.args;
  const std::string& op = s.op;
  try {
    if (op == "view")
      return with_rank(a[0], [&](auto n) { return one(std::forward<X>(x).view(shape_arg<n>(a, 1))); });
    if (op == "reshape")
      return with_rank(a[0], [&](auto n) { return one(std::forward<X>(x).reshape(shape_arg<n>(a, 1))); });
    if (op == "permute") return one(std::forward<X>(x).permute(shape_arg<R>(a, 1)));
    if (op == "transpose") return one(std::forward<X>(x).transpose(a[0], a[1]));
    if (op == "unsqueeze") {
      if constexpr (R < kMaxRank) return one(std::forward<X>(x).unsqueeze(a[0]));
      else FAIL("unsqueeze beyond the replay's ranks");
    }
    if (op == "expand")
      return with_rank(a[0], [&](auto n) -> Outcome {
        if constexpr (n >= R) return one(std::forward<X>(x).expand(shape_arg<n>(a, 1)));
        FAIL("expand to fewer dimensions is not a valid case");
        return {};
      });
    if (op == "contiguous") return one(std::forward<X>(x).contiguous());
    if (op == "clone") return one(std::forward<X>(x).clone());
    if constexpr (R == 0) {
      return compile_time_rejection();
    } else {
      if (op == "narrow") return one(std::forward<X>(x).narrow(a[0], a[1], a[2]));
      if (op == "select") return one(std::forward<X>(x).select(a[0], a[1]));
      if (op == "split") return many(std::forward<X>(x).split(a[0], a[1]));
      if (op == "splitlist") {
        const auto k = static_cast<std::size_t>(a[0]);
        const std::vector<std::int64_t> sizes(a.begin() + 1, a.begin() + 1 + std::ptrdiff_t(k));
        return many(std::forward<X>(x).split(sizes, a[k + 1]));
      }
      if (op == "chunk") return many(std::forward<X>(x).chunk(a[0], a[1]));
    }
  } catch (const shape_error& e) {
    Outcome o;
    o.threw = true;
    o.message = e.what();
    return o;
  }
  FAIL("unknown operation " << op);
  return {};
}

// ---- checking a result ----------------------------------------------------------------------

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// What the replay knows about the memory the current object views.
struct Lineage {
  std::uintptr_t storage = 0;     // address of element 0 of the current storage
  std::int64_t storage_numel = 0;  // its size in elements
  bool owned = false;             // the chain started at a temporary or passed through a copy
  bool block = false;             // ... and that block holds memory (not an empty tensor)
};

struct Counts {
  int steps = 0, throws = 0, compile_time = 0, copies = 0, pieces = 0, plain = 0, owning = 0;
};

template <class Y>
void check_object(const Y& y, const Record& rec, Lineage& lin, const std::string& op, bool temporary_start,
                  Counts& counts) {
  constexpr std::size_t R = Y::rank;
  REQUIRE(R == rec.rank);
  const Index shape = tessel_test::to_index(y.shape());
  const Index strides = tessel_test::to_index(y.strides());
  CHECK(shape == rec.shape);
  CHECK(strides == rec.strides);
  REQUIRE(y.numel() == std::int64_t(rec.values.size()));
  const std::uintptr_t at = address(y.data());
  const bool may_copy = op == "clone" || op == "contiguous" || op == "reshape";
  bool copied = false;
  if (may_copy) {
    if (y.numel() > 0)
      copied = at < lin.storage || at >= lin.storage + std::uintptr_t(lin.storage_numel) * sizeof(float);
    else
      copied = op == "clone";  // an empty copy has no address to tell it by
  }
  CHECK(copied == rec.copied);
  if (copied) {
    lin = Lineage{at, y.numel(), true, y.numel() > 0};
    ++counts.copies;
  }
  const auto offset = static_cast<std::int64_t>(at - lin.storage) / std::int64_t(sizeof(float));
  CHECK(offset == rec.offset);

  // Ownership follows the chain.
  if constexpr (is_tensor_v<Y>) {
    CHECK(lin.owned);
  } else if constexpr (is_owning_view_v<Y>) {
    CHECK(y.owns_memory() == (lin.owned && lin.block));
    ++counts.owning;
  } else {
    CHECK_FALSE(lin.owned);  // a plain TensorView only ever views the named base
    CHECK_FALSE(temporary_start);
    ++counts.plain;
  }

  std::size_t i = 0;
  bool values_ok = true;
  tessel_test::for_each_index(shape, [&](const Index& idx) {
    const double got = tessel_test::element(y, idx);
    if (got != rec.values[i] && values_ok) {
      values_ok = false;
      FAIL_CHECK("element " << tessel_test::str(idx) << " is " << got << ", PyTorch has " << rec.values[i]);
    }
    ++i;
  });
}

void check_any(const Object& obj, const Record& rec, Lineage& lin, const std::string& op, bool temporary_start,
               Counts& counts) {
  std::visit([&](const auto& y) { check_object(y, rec, lin, op, temporary_start, counts); }, obj);
}

// Allocates and frees tensors and vectors of the sizes the chains use, filled with NaN, so that
// memory a result failed to keep alive is reused and overwritten.
void churn(std::uint32_t seed) {
  std::vector<Tensor<float, 1>> tensors;
  std::vector<std::vector<float>> vectors;
  for (std::uint32_t k = 0; k < 6; ++k) {
    const std::int64_t n = 1 + std::int64_t((seed * 2654435761u + k * 40503u) % 300u);
    tensors.emplace_back(Shape<1>{n}).fill_(std::numeric_limits<float>::quiet_NaN());
    vectors.emplace_back(std::size_t(n), std::numeric_limits<float>::quiet_NaN());
  }
}

template <std::size_t R>
Tensor<float, R> arange_tensor(const Index& shape) {
  Tensor<float, R> t(tessel_test::to_array<R>(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = float(i);
  return t;
}

void replay(const Case& c, bool temporary_start, Counts& counts) {
  INFO(c.header << (temporary_start ? " (temporary start)" : " (named start)"));
  with_rank(std::int64_t(c.base_shape.size()), [&](auto r0) {
    Tensor<float, r0> base = arange_tensor<r0>(c.base_shape);
    Lineage lin{address(base.data()), base.numel(), false, false};
    std::optional<Object> current;
    for (std::size_t k = 0; k < c.steps.size(); ++k) {
      const Step& s = c.steps[k];
      INFO("step " << k << ": " << s.text);
      Outcome out;
      if (k == 0 && temporary_start) {
        Tensor<float, r0> copy = base;
        lin = Lineage{address(copy.data()), copy.numel(), true, copy.numel() > 0};
        out = run_op(std::move(copy), s);  // the copy dies here unless the result took it over
        if (out.threw) current = Object(std::move(copy));  // a throwing op leaves the temporary intact
      } else if (k == 0) {
        out = run_op(base, s);
      } else {
        out = std::visit(
            [&](auto& obj) {
              using Y = std::remove_cvref_t<decltype(obj)>;
              if (is_tensor_v<Y> || k % 2 == 1) return run_op(std::move(obj), s);
              return run_op(obj, s);
            },
            *current);
      }
      churn(std::uint32_t(k * 7919 + c.steps.size()));
      ++counts.steps;
      if (out.rejected_at_compile_time) {
        CHECK(s.result.throws);
        ++counts.compile_time;
        continue;
      }
      if (s.result.throws) {
        CHECK(out.threw);
        ++counts.throws;
        if (!current) current = Object(TensorView<float, r0>(base));  // a failed first step
        continue;
      }
      if (out.threw) {
        FAIL_CHECK("tessel threw where PyTorch did not: " << out.message);
        return 0;
      }
      if (s.is_pieces) {
        REQUIRE(out.objects.size() == s.pieces.size());
        const Lineage before = lin;
        for (std::size_t p = 0; p < s.pieces.size(); ++p) {
          Lineage piece_lin = before;
          check_any(out.objects[p], s.pieces[p], piece_lin, s.op, temporary_start, counts);
        }
        counts.pieces += int(s.pieces.size());
        current = std::move(out.objects[s.take]);
      } else {
        REQUIRE(out.objects.size() == 1);
        check_any(out.objects[0], s.result, lin, s.op, temporary_start, counts);
        current = std::move(out.objects[0]);
      }
      out.objects.clear();  // the pieces not taken die now
      churn(std::uint32_t(k * 104729 + 17));
      // The current object, on its own, still reads PyTorch's values.
      const Record& rec = s.is_pieces ? s.pieces[s.take] : s.result;
      std::visit(
          [&](const auto& y) {
            std::size_t i = 0;
            tessel_test::for_each_index(rec.shape, [&](const Index& idx) {
              REQUIRE(double(tessel_test::element(y, idx)) == rec.values[i]);
              ++i;
            });
          },
          *current);
    }
    return 0;
  });
}

}  // namespace

TEST_CASE("views against PyTorch: recorded chains replayed from a named tensor and from a temporary", "[view][pytorch]") {
  const auto cases = load_chains();
  REQUIRE(cases.size() >= 500);
  Counts named, temporary;
  for (const auto& c : cases) replay(c, false, named);
  for (const auto& c : cases) replay(c, true, temporary);
  INFO("named: " << named.steps << " steps, " << named.throws << " throws, " << named.compile_time
                 << " rejected at compile time, " << named.copies << " copies, " << named.pieces << " pieces, "
                 << named.plain << " plain views, " << named.owning << " owning views");
  INFO("temporary: " << temporary.steps << " steps, " << temporary.owning << " owning views, " << temporary.plain
                     << " plain views");
  // The cases must exercise every side of the rules.
  CHECK(named.steps > 3000);
  CHECK(named.throws > 250);
  CHECK(named.copies > 200);
  CHECK(named.pieces > 1000);
  CHECK(named.plain > 1000);
  CHECK(named.owning > 500);
  CHECK(temporary.plain == 0);
  CHECK(temporary.owning > 3000);
}
