#pragma once

#include <string>

namespace ee::federation {

/// Which TLS file is wrong.
enum class tls_file { none, certificate, key, ca };

/// A problem with the federation's TLS files, as OpenSSL (and so CAF's
/// openssl manager, which would abort the engine on it at the first
/// connection) sees them.
struct tls_files_problem {
  tls_file which = tls_file::none;
  std::string text;
};

/// Loads `certificate` (PEM chain), `key` (an unencrypted PEM private key
/// that matches it) and `ca` (PEM) as the engine will. @returns the first
/// problem, or `which == none`.
tls_files_problem check_tls_files(const std::string& certificate,
                                  const std::string& key,
                                  const std::string& ca);

} // namespace ee::federation
