// [federation] and [federation.tls] of the TOML file (docs/federation.md).
// Only what belongs to TOML is checked here; names, addresses and files are
// checked by validate_app (src/app_validation.cpp), as for `run`.

#include "config/loader.hpp"

namespace ee::config {

namespace {

const std::vector<std::string> federation_keys{"name", "listen", "peers",
                                               "buffer_bytes", "tls"};

const std::vector<std::string> federation_tls_keys{"certificate", "key", "ca"};

} // namespace

void loader::federation(const toml::table& t) {
  const std::string s = "[federation]";
  unknown_keys(t, federation_keys, s);
  for (auto& [k, v] : t)
    remember("federation." + std::string{k.str()}, v);
  auto& f = report_.description.config.federation;
  string(t, "name", f.name, s); // required: validate_app says so
  string(t, "listen", f.listen, s);
  integer(t, "buffer_bytes", f.buffer_bytes, 1, max_size, s);
  if (auto n = t.get("peers")) {
    auto arr = n->as_array();
    if (!arr) {
      fail(*n, s + " peers must be an array of HOST:PORT strings, e.g. "
                   "peers = [\"10.0.0.2:7100\"]");
    } else {
      for (auto& x : *arr) {
        if (!x.is_string()) {
          fail(x, s + " peers: each entry is a HOST:PORT string, not " +
                      type_name(x));
          continue;
        }
        report_.description
            .positions["federation.peers." + std::to_string(f.peers.size())] =
            position(x.source());
        f.peers.push_back(*x.value<std::string>());
      }
    }
  }
  if (auto node = t.get("tls")) {
    if (auto st = node->as_table())
      federation_tls(*st);
    else
      fail(*node, s + " tls must be a table: write [federation.tls] above "
                      "its settings");
  }
}

void loader::federation_tls(const toml::table& t) {
  const std::string s = "[federation.tls]";
  unknown_keys(t, federation_tls_keys, s);
  for (auto& [k, v] : t)
    remember("federation.tls." + std::string{k.str()}, v);
  auto& tls = report_.description.config.federation.tls;
  path(t, "certificate", tls.certificate, s,
       "this engine's certificate (PEM), e.g. \"keys/site-a.crt\"");
  path(t, "key", tls.key, s,
       "this engine's private key (PEM), e.g. \"keys/site-a.key\"");
  path(t, "ca", tls.ca, s,
       "the CA certificate (PEM) peers must be signed by, e.g. "
       "\"keys/ca.crt\"");
}

} // namespace ee::config
