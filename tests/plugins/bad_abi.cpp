// A library whose entry point reports plugin ABI version 999: the host must
// refuse it without reading anything else.
#include <cstdint>

extern "C" __attribute__((visibility("default"))) const void*
ee_plugin_library() {
  static const std::uint32_t info[8] = {999};
  return info;
}
