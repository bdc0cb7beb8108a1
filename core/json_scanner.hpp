#pragma once
// A strict JSON scanner for reading traces fast (core/trace_reader.cpp). Header-only: its small
// methods want inlining on the hot path of a million-event file.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/trace_reader.hpp"

namespace dmlsim::core::json {

// A strict JSON scanner over the whole text, specialised for reading traces: keys and strings
// without escapes are views into the text, numbers go through std::from_chars. nlohmann's SAX
// parser was measured at 54 MB/s here (6.5 s for a 1.5 M-event trace), too slow for the GUI's
// 2 s load target. Errors name the file, line and column; an error at the end of the text means
// the file is truncated.
// Bytes that end the fast path through a string: the quote, a backslash, control characters and
// the lead bytes of multi-byte UTF-8 (validated on the slow path).
constexpr auto kStringSpecial = [] {
  std::array<bool, 256> special{};
  for (int c = 0; c < 256; ++c)
    special[static_cast<std::size_t>(c)] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
  return special;
}();

class Scanner {
 public:
  Scanner(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  std::size_t position() const { return pos_; }
  bool at_end() {
    skip_whitespace();
    return pos_ >= text_.size();
  }

  // The next non-blank character, not consumed ('\0' at the end).
  char peek() {
    skip_whitespace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, std::string_view where) {
    if (!consume(c)) fail(fmt::format("expected '{}' {}, found {}", c, where, found()));
  }
  // After a member or element: true if another follows, false at `close`.
  bool next_in(char close, std::string_view where) {
    if (consume(',')) return true;
    if (consume(close)) return false;
    fail(fmt::format("expected ',' or '{}' {}, found {}", close, where, found()));
  }

  // A string; the view lives until the next call of string().
  std::string_view string() {
    if (peek() != '"') fail(fmt::format("expected a string, found {}", found()));
    const std::size_t begin = ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (!kStringSpecial[static_cast<unsigned char>(c)]) {  // the common case, one test per byte
        ++pos_;
        continue;
      }
      if (c == '"') return text_.substr(begin, pos_++ - begin);
      if (c == '\\') return escaped_string(begin);
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string (must be escaped)");
      if (static_cast<unsigned char>(c) >= 0x80) {
        skip_utf8();
        continue;
      }
      ++pos_;
    }
    fail("unterminated string");
  }

  // A number token, validated against JSON's grammar.
  struct Number {
    std::string_view text;
    bool integral = true;
  };
  Number number() {
    skip_whitespace();
    const std::size_t begin = pos_;
    bool integral = true;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      fail(pos_ < text_.size() ? "invalid value" : "expected a value");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      integral = false;
      if (!digits()) fail("invalid number: no digit after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      integral = false;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) fail("invalid number: no digit in the exponent");
    }
    return {text_.substr(begin, pos_ - begin), integral};
  }

  // Skips one value of any type, checking its syntax.
  void skip_value(int depth = 0) {
    constexpr int kMaxDepth = 256;
    if (depth > kMaxDepth) fail("nested too deeply");
    switch (peek()) {
      case '{':
        ++pos_;
        if (consume('}')) return;
        do {
          string();
          expect(':', "after an object key");
          skip_value(depth + 1);
        } while (next_in('}', "in an object"));
        return;
      case '[':
        ++pos_;
        if (consume(']')) return;
        do skip_value(depth + 1);
        while (next_in(']', "in an array"));
        return;
      case '"':
        string();
        return;
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        number();
    }
  }

  // What the next value is, for "found ..." in messages.
  std::string_view next_kind() {
    switch (peek()) {
      case '{':
        return "an object";
      case '[':
        return "an array";
      case '"':
        return "a string";
      case 't':
      case 'f':
        return "a boolean";
      case 'n':
        return "null";
      case '\0':
        return "the end of the file";
      default:
        return "a number";
    }
  }

  // Fails as malformed JSON unless a value starts here.
  void expect_value() {
    const char c = peek();
    if (c == '\0') fail("expected a value");
    if (std::string_view("{[\"tfn-0123456789").find(c) == std::string_view::npos)
      fail(fmt::format("expected a value, found '{}'", c));
  }

  // "file:line:col: malformed JSON (byte N): problem", or "truncated" at the end of the text.
  [[noreturn]] void fail(std::string_view problem) const {
    if (pos_ >= text_.size()) {
      throw TraceReadError(
          fmt::format("{}: truncated: the file ends (byte {}, line {}) before its JSON is complete ({})",
                      source_, text_.size(), line_of(text_.size()), problem));
    }
    const std::size_t line_start = pos_ == 0 ? std::string_view::npos : text_.rfind('\n', pos_ - 1);
    const std::size_t column = pos_ - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    throw TraceReadError(
        fmt::format("{}:{}:{}: malformed JSON (byte {}): {}", source_, line_of(pos_), column, pos_, problem));
  }

  std::size_t line_of(std::size_t at) const {
    const std::string_view before = text_.substr(0, std::min(at, text_.size()));
    return 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  }

 private:
  void skip_whitespace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
      ++pos_;
    }
  }

  bool digits() {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > begin;
  }

  void literal(std::string_view word) {
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with(word)) {
      pos_ += word.size();
      return;
    }
    if (word.starts_with(rest)) pos_ = text_.size();  // "tr" at the end: truncated
    fail(fmt::format("invalid literal, expected '{}'", word));
  }

  std::string found() {
    if (peek() == '\0') return "the end of the file";
    return fmt::format("'{}'", text_[pos_]);
  }

  std::string_view escaped_string(std::size_t begin) {
    scratch_.assign(text_.substr(begin, pos_ - begin));
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return scratch_;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        fail("control character in a string (must be escaped)");
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        const std::size_t from = --pos_;
        skip_utf8();
        scratch_.append(text_.substr(from, pos_ - from));
        continue;
      }
      if (c != '\\') {
        scratch_ += c;
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          scratch_ += e;
          break;
        case 'b':
          scratch_ += '\b';
          break;
        case 'f':
          scratch_ += '\f';
          break;
        case 'n':
          scratch_ += '\n';
          break;
        case 'r':
          scratch_ += '\r';
          break;
        case 't':
          scratch_ += '\t';
          break;
        case 'u':
          append_utf8(code_point());
          break;
        default:
          --pos_;
          fail(fmt::format("invalid escape '\\{}' in a string", e));
      }
    }
    fail("unterminated string");
  }

  // One multi-byte UTF-8 sequence at pos_ (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF).
  void skip_utf8() {
    const auto byte = [this](std::size_t i) {
      return i < text_.size() ? static_cast<unsigned char>(text_[i]) : 0x100u;
    };
    const unsigned lead = byte(pos_);
    std::size_t length = 0;
    unsigned low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      fail("invalid UTF-8 in a string");
    }
    for (std::size_t i = 1; i < length; ++i) {
      const unsigned b = byte(pos_ + i);
      if (b == 0x100u) {
        pos_ = text_.size();
        fail("unterminated string");
      }
      if (b < (i == 1 ? low : 0x80u) || b > (i == 1 ? high : 0xBFu)) fail("invalid UTF-8 in a string");
    }
    pos_ += length;
  }

  std::uint32_t hex4() {
    if (pos_ + 4 > text_.size()) {
      pos_ = text_.size();
      fail("unterminated \\u escape");
    }
    std::uint32_t v = 0;
    const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, v, 16);
    if (ec != std::errc() || end != text_.data() + pos_ + 4) fail("invalid \\u escape");
    pos_ += 4;
    return v;
  }

  std::uint32_t code_point() {
    const std::uint32_t high = hex4();
    if (high < 0xD800 || high > 0xDFFF) return high;
    if (high > 0xDBFF || text_.substr(pos_, 2) != "\\u") fail("invalid UTF-16 surrogate in a \\u escape");
    pos_ += 2;
    const std::uint32_t low = hex4();
    if (low < 0xDC00 || low > 0xDFFF) fail("invalid UTF-16 surrogate pair in a \\u escape");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }

  void append_utf8(std::uint32_t cp) {
    auto put = [this](std::uint32_t byte) { scratch_ += static_cast<char>(byte); };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | (cp >> 6));
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3F));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
  std::string scratch_;
};

}  // namespace dmlsim::core::json
