// event-engine: runs an app of external plugins described by a TOML file, so
// that an all-Python application needs no C++.
//
//   event-engine CONFIG.toml [--publish-port N] [--subscribe-port N]
//                [--bind ADDR] [--log-level L] [--check]

#include <ee/host.hpp>

int main(int argc, char** argv) {
  return ee::run_host(argc, argv, {});
}
