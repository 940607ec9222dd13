#include "src/federation/tls_files.hpp"

#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ee::federation {

namespace {

std::string openssl_reason() {
  auto code = ERR_peek_last_error();
  std::string text = code != 0 ? ERR_reason_error_string(code) : "";
  ERR_clear_error();
  return text.empty() ? std::string{"unreadable"} : text;
}

// An encrypted key would make OpenSSL ask on the terminal: refuse instead.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

} // namespace

tls_files_problem check_tls_files(const std::string& certificate,
                                  const std::string& key,
                                  const std::string& ca) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
      SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return {tls_file::certificate, "OpenSSL cannot make a context"};
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate.c_str()) != 1)
    return {tls_file::certificate,
            "is not a PEM certificate (" + openssl_reason() + ")"};
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) !=
      1) {
    auto why = openssl_reason();
    if (why.find("mismatch") != std::string::npos)
      return {tls_file::key, "does not match the certificate (" + why + ")"};
    return {tls_file::key,
            "is not an unencrypted PEM private key (" + why + ")"};
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return {tls_file::key,
            "does not match the certificate (" + openssl_reason() + ")"};
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    return {tls_file::ca,
            "is not a PEM CA certificate (" + openssl_reason() + ")"};
  return {};
}

} // namespace ee::federation
