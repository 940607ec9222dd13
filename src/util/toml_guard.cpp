#include "util/toml_guard.hpp"

#include <cstdint>
#include <cstdio>

#include "util/text.hpp"

namespace ee::util {

namespace {

bool is_bare_key_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string code_point(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

// A single pass over the text with a small lexer: it knows strings,
// comments, table headers and the brackets of values, which is all it takes
// to tell where toml++ classifies characters as white space or asserts.
class scanner {
public:
  explicit scanner(std::string_view text) : s_(text) {
    // nop
  }

  std::optional<toml_input_problem> run() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") // a byte order mark is fine
      pos_ = 3;
    while (pos_ < s_.size() && !problem_) {
      switch (state_) {
      case state::normal:
        normal();
        break;
      case state::comment:
        // The line end is normal(): it starts the next line (a key).
        if (s_[pos_] == '\n')
          state_ = state::normal;
        else
          take();
        break;
      case state::basic:
      case state::ml_basic:
        basic_string(state_ == state::ml_basic);
        break;
      case state::literal:
      case state::ml_literal:
        literal_string(state_ == state::ml_literal);
        break;
      }
    }
    return problem_;
  }

private:
  enum class state { normal, comment, basic, ml_basic, literal, ml_literal };

  bool starts_with(std::string_view x) const {
    return s_.substr(pos_, x.size()) == x;
  }

  // Advances over one character (a whole UTF-8 sequence); reports invalid
  // UTF-8. @returns the code point.
  std::uint32_t take() {
    std::uint32_t cp = 0;
    auto n = decode_utf8(s_, pos_, cp);
    if (n == 0) {
      fail("invalid UTF-8 (byte 0x" + to_hex(s_.substr(pos_, 1)) +
           "): a TOML file must be UTF-8 text; write bytes >= 0x80 of an "
           "event type as { hex = \"...\" } or [0x.., ...]");
      pos_ = s_.size();
      return 0;
    }
    if (cp == '\n') {
      ++line_;
      column_ = 1;
      line_start_ = true;
    } else {
      ++column_;
      if (cp != ' ' && cp != '\t' && cp != '\r')
        line_start_ = false;
    }
    pos_ += n;
    return cp;
  }

  void fail(std::string message) {
    fail_at(line_, column_, std::move(message));
  }

  // Keeps the first problem only.
  void fail_at(std::size_t line, std::size_t column, std::string message) {
    if (!problem_)
      problem_ = toml_input_problem{line, column, std::move(message)};
  }

  // Consumes a run of quotes closing a multi-line string: `"""` plus up to
  // two quotes that belong to the content.
  void close_multi_line(char quote) {
    for (int i = 0; i < 5 && pos_ < s_.size() && s_[pos_] == quote; ++i)
      take();
    state_ = state::normal;
  }

  void normal() {
    char c = s_[pos_];
    if (static_cast<unsigned char>(c) >= 0x80) {
      auto line = line_, column = column_;
      auto cp = take();
      fail_at(line, column,
              "non-ASCII character " + code_point(cp) +
                  " outside quotes: TOML allows it only in strings and "
                  "comments; quote the key (\"...\") or the value");
      return;
    }
    if (c == '[' && line_start_ && open_.empty() && !in_header_) {
      header();
      return;
    }
    if (expect_value_ && c == '}') {
      fail("'}' where an array element is expected: close the array with "
           "']' first");
      return;
    }
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#')
      expect_value_ = false;
    if (c >= '0' && c <= '9' && !bare_ && date_then_bad_time()) {
      fail("a date followed by a space or 'T' must go on with a time, as in "
           "1979-05-27 07:32:00; quote the value if it is text");
      return;
    }
    if (bare_) {
      // toml++ reads a bare value up to white space, ']', '}', ',' or '#'
      // (a bare key also up to '=' or '.'): quotes and brackets inside are
      // part of it.
      if (!ends_bare(c)) {
        take();
        return;
      }
      bare_ = false;
    }
    switch (c) {
    case '#':
      state_ = state::comment;
      break;
    case '"':
      open_string('"', state::basic, state::ml_basic);
      break;
    case '\'':
      open_string('\'', state::literal, state::ml_literal);
      break;
    case '=':
      key_ = false;
      break;
    case '[':
      if (in_header_)
        break;
      open_ += c;
      key_ = false;
      // toml++ asserts when an array element starts with '}'.
      expect_value_ = true;
      break;
    case '{':
      open_ += c;
      key_ = true;
      break;
    case ',':
      key_ = !open_.empty() && open_.back() == '{';
      expect_value_ = !open_.empty() && open_.back() == '[';
      break;
    case ']':
    case '}':
      if (in_header_)
        in_header_ = false;
      else if (!open_.empty())
        open_.pop_back();
      key_ = false;
      break;
    case '\n':
      in_header_ = false;
      if (open_.empty())
        key_ = true;
      break;
    case ' ':
    case '\t':
    case '\r':
    case '.':
      break;
    default:
      bare_ = true;
      break;
    }
    take();
  }

  // At the quote opening a string: one quote or three (the caller consumes
  // the last one).
  void open_string(char quote, state single, state multi) {
    if (starts_with(std::string(3, quote))) {
      take(), take();
      state_ = multi;
    } else {
      state_ = single;
    }
  }

  // Does `c` end a bare key or value?
  bool ends_bare(char c) const {
    switch (c) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
    case ']':
    case '}':
    case ',':
    case '#':
      return true;
    case '=':
    case '.':
      return key_ || in_header_;
    default:
      return false;
    }
  }

  // At a digit: is this a date followed by 'T' and no digit, or by a space
  // and a digit but not `D:DD`? Anything but a time there is invalid TOML.
  // * toml++ parses `YYYY-MM-DDT` on as a time and asserts that a digit
  //   follows (`1979-05-27T@07:32:00Z`).
  // * It scans a value ahead to a value terminator (or 127 characters),
  //   leaving '_' out; ten characters with '-' fifth and eighth followed by
  //   a space and a digit make it read on for a time, and it asserts when a
  //   terminator follows that digit (`1979-05-27 0`, also `197y-05-27 0`
  //   and `1_979-05-27 0`).
  bool date_then_bad_time() const {
    if (pos_ > 0) {
      char prev = s_[pos_ - 1];
      if (is_bare_key_char(prev) || prev == '.' || prev == ':' || prev == '+')
        return false;
    }
    auto here = [&](std::size_t i) {
      return pos_ + i < s_.size() ? s_[pos_ + i] : '\0';
    };
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    bool date = here(4) == '-' && here(7) == '-';
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
      date = date && is_digit(here(i));
    if (date && (here(10) == 'T' || here(10) == 't') && !is_digit(here(11)))
      return true;
    auto terminator = [](char c) {
      return c == ' ' || c == '\t' || (c >= '\n' && c <= '\r') || c == ']' ||
             c == '}' || c == ',' || c == '#';
    };
    std::size_t chars = 0; // without '_'
    bool dashes = true;    // the fifth and the eighth are '-'
    auto end = pos_;
    for (; end < s_.size() && end - pos_ < 127 && !terminator(s_[end]); ++end) {
      if (s_[end] == '_')
        continue;
      if (chars == 4 || chars == 7)
        dashes = dashes && s_[end] == '-';
      ++chars;
    }
    if (chars != 10 || !dashes)
      return false;
    auto at = [&](std::size_t i) {
      return end + i < s_.size() ? s_[end + i] : '\0';
    };
    if (at(0) != ' ' || !is_digit(at(1)))
      return false;
    return !(is_digit(at(2)) && at(3) == ':' && is_digit(at(4)) &&
             is_digit(at(5)));
  }

  // At the '[' that opens a table header.
  void header() {
    auto line = line_, column = column_;
    take();
    if (pos_ < s_.size() && s_[pos_] == '[')
      take();
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t'))
      take();
    char next = pos_ < s_.size() ? s_[pos_] : '\n';
    if (!is_bare_key_char(next) && next != '"' && next != '\'' && next != ']') {
      // (A ']' is "blank key", which toml++ reports itself.)
      problem_ = toml_input_problem{
          line, column,
          "a table header needs a name after '[': write [name] or "
          "[[name]] (letters, digits, '_' and '-', or a quoted name)"};
      return;
    }
    in_header_ = true;
    key_ = true;
  }

  // Fails at the non-ASCII character here (taking it) with the message
  // `text` makes of its code point ("U+...").
  template <class Text>
  void fail_non_ascii(Text text) {
    auto line = line_, column = column_;
    auto cp = take();
    fail_at(line, column, text(code_point(cp)));
  }

  void basic_string(bool multi_line) {
    char c = s_[pos_];
    if (c == '\\') {
      take();
      if (pos_ >= s_.size())
        return;
      if (multi_line && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                         s_[pos_] == '\r' || s_[pos_] == '\n')) {
        // toml++ skips white space looking for the line end (and, after
        // one, the rest of it): each character is classified.
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                    s_[pos_] == '\n' || s_[pos_] == '\r'))
          take();
        if (pos_ < s_.size() && static_cast<unsigned char>(s_[pos_]) >= 0x80)
          fail_non_ascii([](const std::string& cp) {
            return "non-ASCII character " + cp +
                   " after a backslash and white space: the TOML parser "
                   "cannot read it there; write it as \\u" +
                   cp.substr(2) + " or put an ASCII character before it";
          });
        return;
      }
      if (static_cast<unsigned char>(s_[pos_]) >= 0x80) {
        // toml++ asks whether it is white space before a line end.
        fail_non_ascii([](const std::string& cp) {
          return "'\\' followed by " + cp +
                 " is not an escape sequence; write \\\\ for a backslash "
                 "or \\u" +
                 cp.substr(2) + " for the character";
        });
        return;
      }
      take(); // the escaped character
      return;
    }
    if (!string_end('"', multi_line))
      take();
  }

  void literal_string(bool multi_line) {
    if (!string_end('\'', multi_line))
      take();
  }

  // At a character of a string opened by `quote`: a line end ends a
  // single-line string (unterminated: toml++ reports it), the closing
  // quote(s) end any. @returns true if the string ended here.
  bool string_end(char quote, bool multi_line) {
    char c = s_[pos_];
    if (!multi_line && c == '\n') {
      state_ = state::normal;
      return true;
    }
    if (c != quote)
      return false;
    if (!multi_line) {
      take();
      state_ = state::normal;
      return true;
    }
    if (!starts_with(std::string(3, quote)))
      return false;
    close_multi_line(quote);
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t column_ = 1;
  bool line_start_ = true;
  bool in_header_ = false;
  // The brackets of the values open at this point ('[' or '{').
  std::string open_;
  // After '[' or ',' in an array, until the element starts.
  bool expect_value_ = false;
  // Where a key is expected (else a value).
  bool key_ = true;
  // Inside a bare key or value (not quoted).
  bool bare_ = false;
  state state_ = state::normal;
  std::optional<toml_input_problem> problem_;
};

} // namespace

std::optional<toml_input_problem> check_toml_input(std::string_view text) {
  return scanner{text}.run();
}

} // namespace ee::util
