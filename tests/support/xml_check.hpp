// tests/support/xml_check.hpp — a strict XML 1.0 well-formedness checker with a small tree.
//
// The SVG pictures must open in any viewer, and a browser shows nothing at all for a
// malformed SVG file, so the tests parse every picture with this checker rather than trust
// the writer. Written from the XML 1.0 specification (§2.1–2.8, 3.1, 4.1, 4.6) for the
// documents tessel writes: no DTD, so only the five predefined entities and character
// references exist. What it enforces:
//   * the input is valid UTF-8 and every character is an XML Char;
//   * an optional XML declaration at the very start, then comments, processing instructions
//     and white space around exactly one root element (a DOCTYPE is rejected);
//   * names are well-formed (ASCII exactly as §2.3; any non-ASCII letter from U+00C0 up is
//     accepted, more broadly than §2.3 — tessel writes ASCII names only); start and end tags
//     match; attribute names are unique within an element; attribute values are quoted and
//     hold no '<';
//   * every '&' starts a valid reference (&amp; &lt; &gt; &quot; &apos; &#N; &#xH; naming a
//     Char); character data holds no "]]>"; comments hold no "--"; CDATA sections close.
// parse() returns the element tree with references decoded, or throws ParseError saying
// where (line and column) and why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace tessel_test::xml {

class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;  // in document order, decoded
  std::vector<std::unique_ptr<Element>> children;
  std::string text;  // character data directly inside this element, decoded and concatenated

  const std::string* attr(std::string_view key) const {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
  std::string attr_or(std::string_view key, std::string fallback = {}) const {
    const std::string* v = attr(key);
    return v ? *v : fallback;
  }
  // This element and every descendant, depth first in document order.
  void walk(const std::function<void(const Element&)>& visit) const {
    visit(*this);
    for (const auto& c : children) c->walk(visit);
  }
  std::vector<const Element*> find_all(std::string_view tag) const {
    std::vector<const Element*> found;
    walk([&](const Element& e) {
      if (e.name == tag) found.push_back(&e);
    });
    return found;
  }
  // All character data of the subtree.
  std::string all_text() const {
    std::string s = text;
    for (const auto& c : children) s += c->all_text();
    return s;
  }
};

namespace detail {

class Parser {
 public:
  explicit Parser(std::string_view doc) : s_(doc) {}

  std::unique_ptr<Element> document() {
    check_encoding();
    if (starts_with("<?xml") && pos_ + 5 < s_.size() && is_space(s_[pos_ + 5])) xml_declaration();
    misc();
    if (starts_with("<!DOCTYPE")) fail("a DOCTYPE is not supported (tessel's documents have none)");
    if (!starts_with("<")) fail("expected the root element");
    auto root = element();
    misc();
    if (pos_ != s_.size()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw ParseError("XML not well-formed at line " + std::to_string(line) + ", column " + std::to_string(col) +
                     ": " + why);
  }

  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  bool starts_with(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  bool at_end() const { return pos_ >= s_.size(); }
  void expect(std::string_view p) {
    if (!starts_with(p)) fail("expected \"" + std::string(p) + "\"");
    pos_ += p.size();
  }
  bool skip_space() {
    const std::size_t start = pos_;
    while (!at_end() && is_space(s_[pos_])) ++pos_;
    return pos_ > start;
  }

  static bool is_char(std::uint32_t c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
  }

  // Decodes the UTF-8 sequence at i; returns the code point and its length, or fails.
  std::pair<std::uint32_t, std::size_t> code_point(std::size_t i) const {
    const auto b0 = static_cast<unsigned char>(s_[i]);
    if (b0 < 0x80) return {b0, 1};
    std::size_t len = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : 0;
    if (len == 0 || i + len > s_.size()) return {0xFFFFFFFFu, 1};
    std::uint32_t c = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s_[i + k]);
      if ((b & 0xC0) != 0x80) return {0xFFFFFFFFu, 1};
      c = (c << 6) | (b & 0x3F);
    }
    // Overlong forms and surrogates are not valid UTF-8.
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
      return {0xFFFFFFFFu, 1};
    return {c, len};
  }

  void check_encoding() {
    for (std::size_t i = 0; i < s_.size();) {
      const auto [c, len] = code_point(i);
      if (c == 0xFFFFFFFFu) {
        pos_ = i;
        fail("invalid UTF-8");
      }
      if (!is_char(c)) {
        pos_ = i;
        fail("character U+" + std::to_string(c) + " is not allowed in XML");
      }
      i += len;
    }
  }

  static bool is_name_start(std::uint32_t c) {
    return c == ':' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
  }
  static bool is_name_char(std::uint32_t c) {
    return is_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7;
  }

  std::string name() {
    const std::size_t start = pos_;
    if (at_end()) fail("expected a name");
    auto [c, len] = code_point(pos_);
    if (!is_name_start(c)) fail("expected a name");
    pos_ += len;
    while (!at_end()) {
      std::tie(c, len) = code_point(pos_);
      if (!is_name_char(c)) break;
      pos_ += len;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  static void append_utf8(std::string& out, std::uint32_t c) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }

  // At '&': decodes one reference into out.
  void reference(std::string& out) {
    expect("&");
    if (starts_with("#")) {
      ++pos_;
      const bool hex = starts_with("x");
      if (hex) ++pos_;
      std::uint64_t value = 0;
      std::size_t digits = 0;
      while (!at_end() && s_[pos_] != ';') {
        const char d = s_[pos_];
        int v;
        if (d >= '0' && d <= '9') v = d - '0';
        else if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
        else if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
        else fail("bad digit in a character reference");
        value = value * (hex ? 16 : 10) + static_cast<std::uint64_t>(v);
        if (value > 0x10FFFF) fail("character reference out of range");
        ++digits;
        ++pos_;
      }
      if (digits == 0) fail("empty character reference");
      expect(";");
      if (!is_char(static_cast<std::uint32_t>(value))) fail("character reference to a character XML does not allow");
      append_utf8(out, static_cast<std::uint32_t>(value));
      return;
    }
    const std::string n = name();
    expect(";");
    if (n == "amp") out += '&';
    else if (n == "lt") out += '<';
    else if (n == "gt") out += '>';
    else if (n == "quot") out += '"';
    else if (n == "apos") out += '\'';
    else fail("undefined entity &" + n + ";");
  }

  std::string attribute_value() {
    if (at_end() || (s_[pos_] != '"' && s_[pos_] != '\'')) fail("attribute value must be quoted");
    const char quote = s_[pos_++];
    std::string v;
    while (true) {
      if (at_end()) fail("unterminated attribute value");
      const char c = s_[pos_];
      if (c == quote) break;
      if (c == '<') fail("'<' in an attribute value");
      if (c == '&') {
        reference(v);
        continue;
      }
      v += c;
      ++pos_;
    }
    ++pos_;
    return v;
  }

  void xml_declaration() {
    expect("<?xml");
    const std::size_t end = s_.find("?>", pos_);
    if (end == std::string_view::npos) fail("unterminated XML declaration");
    const std::string_view body = s_.substr(pos_, end - pos_);
    if (body.find("version=") == std::string_view::npos) fail("the XML declaration needs a version");
    pos_ = end + 2;
  }

  void comment() {
    expect("<!--");
    const std::size_t end = s_.find("--", pos_);
    if (end == std::string_view::npos) fail("unterminated comment");
    pos_ = end;
    if (!starts_with("-->")) fail("\"--\" inside a comment");
    pos_ += 3;
  }

  void processing_instruction() {
    expect("<?");
    const std::string target = name();
    std::string lower;
    for (char c : target) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "xml") fail("an XML declaration is only allowed at the very start");
    const std::size_t end = s_.find("?>", pos_);
    if (end == std::string_view::npos) fail("unterminated processing instruction");
    pos_ = end + 2;
  }

  void misc() {
    while (true) {
      skip_space();
      if (starts_with("<!--")) comment();
      else if (starts_with("<?")) processing_instruction();
      else return;
    }
  }

  std::unique_ptr<Element> element() {
    expect("<");
    auto e = std::make_unique<Element>();
    e->name = name();
    while (true) {
      const bool space = skip_space();
      if (starts_with("/>")) {
        pos_ += 2;
        return e;
      }
      if (starts_with(">")) {
        ++pos_;
        break;
      }
      if (!space) fail("expected white space, '>' or '/>' in the start tag of <" + e->name + ">");
      const std::string key = name();
      skip_space();
      expect("=");
      skip_space();
      std::string value = attribute_value();
      if (e->attr(key)) fail("attribute " + key + " appears twice on <" + e->name + ">");
      e->attributes.emplace_back(key, std::move(value));
    }
    content(*e);
    expect("</");
    const std::string closing = name();
    if (closing != e->name) fail("end tag </" + closing + "> does not match <" + e->name + ">");
    skip_space();
    expect(">");
    return e;
  }

  void content(Element& e) {
    while (true) {
      if (at_end()) fail("unterminated element <" + e.name + ">");
      if (starts_with("</")) return;
      if (starts_with("<!--")) {
        comment();
      } else if (starts_with("<![CDATA[")) {
        pos_ += 9;
        const std::size_t end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) fail("unterminated CDATA section");
        e.text += s_.substr(pos_, end - pos_);
        pos_ = end + 3;
      } else if (starts_with("<?")) {
        processing_instruction();
      } else if (starts_with("<")) {
        e.children.push_back(element());
      } else if (starts_with("&")) {
        reference(e.text);
      } else {
        if (starts_with("]]>")) fail("\"]]>\" in character data");
        e.text += s_[pos_++];
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace detail

inline std::unique_ptr<Element> parse(std::string_view document) { return detail::Parser(document).document(); }

}  // namespace tessel_test::xml
