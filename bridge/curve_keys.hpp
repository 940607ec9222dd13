#pragma once

// CurveZMQ keys and the certificate files that hold them: the Z85 text
// format that CZMQ's zcert and pyzmq's `zmq.auth.create_certificates`
// write (`NAME.key` public, `NAME.key_secret` public and secret):
//
//   #   ZeroMQ CURVE **Secret** Certificate
//   metadata
//   curve
//       public-key = "<40 Z85 characters>"
//       secret-key = "<40 Z85 characters>"

#include <string>
#include <string_view>
#include <vector>

#include "ee/expected.hpp"

namespace ee::curve {

/// Length of a key in bytes and in Z85 characters.
inline constexpr std::size_t key_bytes = 32;
inline constexpr std::size_t z85_chars = 40;

/// A key pair (or a public key alone), as Z85 text.
struct certificate {
  /// The public key (40 Z85 characters).
  std::string public_key;
  /// The secret key (40 Z85 characters), empty in a public certificate.
  std::string secret_key;
};

/// @returns the 32 bytes of a Z85 key, or an error that says what is wrong
/// with `z85` (`what` names it in the message).
expected<std::string> decode(std::string_view z85, const std::string& what);

/// @returns the 40 Z85 characters of a 32-byte key.
std::string encode(std::string_view bytes);

/// @returns the public key (Z85) that belongs to the secret key `secret`
/// (Z85), or an error.
expected<std::string> public_of(const std::string& secret);

/// @returns a new key pair (libsodium through `zmq_curve_keypair`), or an
/// error if libzmq was built without CURVE.
expected<certificate> generate();

/// Reads the certificate file at `path`. With `need_secret` the file must
/// hold a secret key whose public key is the file's `public-key`. @returns
/// the keys, or an error that names the file (and the line) and the fix.
expected<certificate> load(const std::string& path, bool need_secret);

/// @returns the public keys (Z85) of every `*.key` file in `dir`, in file
/// name order, or an error naming the folder (missing, unreadable, no key
/// file) or the first bad file.
expected<std::vector<certificate>> load_dir(const std::string& dir);

/// @returns the text of a certificate file for `cert` (with its secret key
/// if `secret`), in the format pyzmq writes; `generated` goes into the
/// banner (e.g. the date).
std::string format(const certificate& cert, bool secret,
                   const std::string& generated);

/// @returns true if libzmq supports CURVE (built with libsodium).
bool available() noexcept;

} // namespace ee::curve
