// Tests of core/print.hpp: `std::cout << x` and to_string(x, options) give exactly the text
// print(torch_tensor) gives in PyTorch 1.13 (tests/data/views/print.txt, recorded by
// tests/data/views/generate.py): integers, fractions, scientific notation, nan/inf, negative zero,
// empty tensors, scalars, float16/bfloat16 (the dtype suffix), summarised tensors of 1 to 4
// dimensions, row wrapping, and torch.set_printoptions' settings.
#include <catch2/catch.hpp>

#include <tessel/tessel.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using tessel::bfloat16;
using tessel::float16;
using tessel::Shape;
using tessel::Tensor;

namespace {

struct PrintCase {
  std::string dtype;
  std::vector<std::int64_t> shape;
  tessel::PrintOptions options;
  std::vector<double> values;
  std::string text;
};

// The next line of the file, which must start with `word`; the stream is positioned after it.
std::istringstream next_line(std::ifstream& file, const char* word) {
  std::string line;
  REQUIRE(std::getline(file, line));
  std::istringstream in(line);
  std::string first;
  in >> first;
  REQUIRE(first == word);
  return in;
}

std::vector<PrintCase> load_print_cases() {
  std::ifstream file(std::filesystem::path(__FILE__).parent_path() / "data" / "views" / "print.txt");
  REQUIRE(file.good());
  std::vector<PrintCase> cases;
  while (file.peek() == '#') file.ignore(1 << 20, '\n');
  while (file.peek() != std::ifstream::traits_type::eof()) {
    PrintCase c;
    auto head = next_line(file, "print");
    std::size_t rank = 0;
    head >> c.dtype >> rank;
    c.shape.resize(rank);
    for (auto& s : c.shape) head >> s;

    auto opts = next_line(file, "options");
    int sci = -1;
    opts >> c.options.precision >> c.options.threshold >> c.options.edgeitems >> c.options.linewidth >> sci;
    if (sci >= 0) c.options.sci_mode = sci == 1;

    auto vals = next_line(file, "values");
    std::size_t n = 0;
    vals >> n;
    for (std::size_t i = 0; i < n; ++i) {
      std::string hex;
      vals >> hex;
      c.values.push_back(std::strtod(hex.c_str(), nullptr));
    }

    auto text = next_line(file, "text");
    std::size_t lines = 0;
    text >> lines;
    for (std::size_t i = 0; i < lines; ++i) {
      std::string line;
      REQUIRE(std::getline(file, line));
      c.text += (i ? "\n" : "") + line;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

template <class T, std::size_t R>
std::string print_as(const PrintCase& c) {
  Shape<R> shape{};
  for (std::size_t d = 0; d < R; ++d) shape[d] = c.shape[d];
  Tensor<T, R> t(shape);
  REQUIRE(std::size_t(t.numel()) == c.values.size());
  for (std::size_t i = 0; i < c.values.size(); ++i) {
    if constexpr (std::is_same_v<T, float>) t.data()[i] = float(c.values[i]);
    else t.data()[i] = T(c.values[i]);  // exact: the values were T's to begin with
  }
  return tessel::to_string(t, c.options);
}

template <class T>
std::string print_typed(const PrintCase& c) {
  switch (c.shape.size()) {
    case 0: return print_as<T, 0>(c);
    case 1: return print_as<T, 1>(c);
    case 2: return print_as<T, 2>(c);
    case 3: return print_as<T, 3>(c);
    case 4: return print_as<T, 4>(c);
    default: FAIL("rank " << c.shape.size()); return {};
  }
}

}  // namespace

TEST_CASE("print: the text of print(torch_tensor), case by case", "[tensor][print][pytorch]") {
  const auto cases = load_print_cases();
  REQUIRE(cases.size() >= 35);
  int summarised = 0, half = 0;
  for (const auto& c : cases) {
    std::string got;
    if (c.dtype == "float32") got = print_typed<float>(c);
    else if (c.dtype == "float16") got = print_typed<float16>(c);
    else if (c.dtype == "bfloat16") got = print_typed<bfloat16>(c);
    else FAIL("dtype " << c.dtype);
    INFO("PyTorch:\n" << c.text << "\ntessel:\n" << got);
    CHECK(got == c.text);
    summarised += c.text.find("...") != std::string::npos;
    half += c.dtype != "float32";
  }
  CHECK(summarised >= 5);
  CHECK(half >= 6);
}

TEST_CASE("print: operator<< on views, owning views and tensors", "[tensor][print]") {
  auto x = tessel::arange(6).view(2, 3);
  std::ostringstream os;
  os << x << "|" << x.transpose(0, 1) << "|" << x.transpose(0, 1).contiguous() << "|" << x.select(1, 2);
  CHECK(os.str() ==
        "tensor([[0., 1., 2.],\n        [3., 4., 5.]])|"
        "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])|"
        "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])|"
        "tensor([2., 5.])");
  std::ostringstream half;
  half << tessel::full<float16>({2}, 0.5) << " " << tessel::zeros<bfloat16>(0, 2);
  CHECK(half.str() == "tensor([0.5000, 0.5000], dtype=torch.float16) tensor([], size=(0, 2), dtype=torch.bfloat16)");
}
