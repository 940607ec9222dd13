#pragma once

#include <string>
#include <utility>

namespace ee {

/// Error codes of the engine. Each code comes with a message that names the
/// thing at fault and, where there is one, the fix.
enum class ec {
  /// No error.
  none = 0,
  /// A configuration value is invalid (port out of range, empty name, ...).
  invalid_config,
  /// Two plugins were registered under the same name.
  duplicate_name,
  /// Two endpoints were configured with the same TCP port.
  duplicate_port,
  /// `app::run()` was called more than once.
  already_running,
  /// A TCP port could not be bound (in use, no permission, bad address).
  bind_failed,
  /// A plugin threw an exception or otherwise failed.
  plugin_failed,
  /// An external plugin process could not be launched.
  launch_failed,
  /// A plugin kept failing faster than its restart intensity allows.
  restart_limit,
  /// The application was stopped before every plugin finished.
  stopped,
  /// A configuration file could not be read or parsed.
  config_file,
  /// Shutdown took longer than `app_config::shutdown_grace`: the plugins
  /// named in the message were abandoned (still running in their own code).
  shutdown_timeout,
  /// An unexpected internal error.
  internal,
};

/// @returns the name of `code`, e.g. `"bind_failed"`.
const char* to_string(ec code) noexcept;

/// An error value: a code plus a human-readable message. A default-constructed
/// error means success; `if (err)` tests for failure.
class error {
public:
  /// Constructs a success value.
  error() = default;

  /// Constructs a failure with `code` and `message`.
  error(ec code, std::string message)
      : code_(code), message_(std::move(message)) {
    // nop
  }

  /// @returns the error code (`ec::none` on success).
  ec code() const noexcept { return code_; }

  /// @returns the message (empty on success).
  const std::string& message() const noexcept { return message_; }

  /// @returns true if this value is a failure.
  explicit operator bool() const noexcept { return code_ != ec::none; }

  /// @returns `"ok"` on success, else `"<code>: <message>"`.
  std::string to_string() const;

private:
  ec code_ = ec::none;
  std::string message_;
};

} // namespace ee
