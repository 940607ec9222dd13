#include "util/text.hpp"

#include <algorithm>

namespace ee::util {

namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

} // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

expected<std::string> from_hex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    if (high < 0 && (c == ' ' || c == '_' || c == ':'))
      continue;
    int d = hex_digit(c);
    if (d < 0) {
      std::string shown = static_cast<unsigned char>(c) >= 0x20 &&
                                  static_cast<unsigned char>(c) < 0x7f
                              ? std::string{'\'', c, '\''}
                              : "byte 0x" + to_hex(std::string_view{&c, 1});
      return error{ec::invalid_config,
                   "'" + std::string{hex} + "' is not hexadecimal: " + shown +
                       " at position " + std::to_string(i + 1) +
                       "; write two digits 0-9/a-f per byte, e.g. \"01a0\""};
    }
    if (high < 0) {
      high = d;
    } else {
      out += static_cast<char>(high * 16 + d);
      high = -1;
    }
  }
  if (high >= 0)
    return error{ec::invalid_config,
                 "'" + std::string{hex} +
                     "' has an odd number of hex digits; write two digits "
                     "per byte, e.g. \"0100\" for the bytes 01 00"};
  return out;
}

std::size_t decode_utf8(std::string_view s, std::size_t pos,
                        std::uint32_t& cp) noexcept {
  auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(s[pos + i]);
  };
  auto left = s.size() - pos;
  unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  std::uint32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, min = 0x80, cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, min = 0x800, cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (left < len)
    return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((byte(i) & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

bool is_printable(std::string_view bytes) noexcept {
  for (std::size_t i = 0; i < bytes.size();) {
    std::uint32_t cp = 0;
    auto n = decode_utf8(bytes, i, cp);
    if (n == 0 || (cp < 0x20 && cp != '\t') || cp == 0x7f ||
        (cp >= 0x80 && cp < 0xa0))
      return false;
    i += n;
  }
  return true;
}

std::string to_json_text(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string closest(std::string_view word,
                    const std::vector<std::string>& candidates) {
  std::string best;
  auto best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (auto& c : candidates) {
    auto d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string count_of(std::size_t n, std::string_view word) {
  auto out = std::to_string(n) + " " + std::string{word};
  return n == 1 ? out : out + "s";
}

std::string show_range(long long lo, long long hi) {
  auto show = [](long long x) {
    for (int bit = 20; bit < 63; ++bit)
      if (x == 1LL << bit)
        return "2^" + std::to_string(bit);
    return std::to_string(x);
  };
  return show(lo) + ".." + show(hi);
}

std::string join(const std::vector<std::string>& items,
                 std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += separator;
    out += items[i];
  }
  return out;
}

} // namespace ee::util
