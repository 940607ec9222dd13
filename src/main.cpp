// event-engine: runs an app described by a TOML file (external plugins and
// plugins from shared libraries), checks such files, and taps and publishes
// events of a running engine. See ee/host.hpp.

#include <ee/host.hpp>

int main(int argc, char** argv) {
  return ee::run_host(argc, argv, {});
}
