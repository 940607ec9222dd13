// Evaluation only (issue 15.5), not a target of ./dev fuzz: does toml11
// 3.7.1 (libtoml11-dev) parse arbitrary input without crashes, assertions
// or undefined behaviour, with no guard in front of it? Build and run:
//   clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -D_GLIBCXX_ASSERTIONS tests/fuzz/eval_toml11.cpp -o eval_toml11
//   ./eval_toml11 -dict=tests/fuzz/config.dict -max_total_time=180 DIR \
//     tests/fuzz/corpus/config
// The answer (docs/design.md): no; it overflows a heap buffer on the 7
// bytes b='\xff' within a minute, so it would need a guard as well.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <toml.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in{text};
  try {
    auto v = toml::parse(in, "fuzz");
    (void)toml::format(v);
  } catch (const std::exception&) {
    // a parse error: fine
  }
  return 0;
}
