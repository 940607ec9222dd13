// Fuzz target: the TOML app loader (include/ee/config_file.hpp) with its
// guard in front of toml++ (src/util/toml_guard.*), on any bytes.
//
// toml++ is compiled into this target from its headers, without NDEBUG:
// its assertions are live, and UndefinedBehaviorSanitizer reports a
// TOML_UNREACHABLE that is reached. Whatever the bytes, the loader must
// answer with diagnostics: no crash, no hang, no sanitizer report.
//
// Input: the file's text. It is read three ways that must agree: from a
// file (read_config_file), as text (read_config) and by the guard alone
// (check_toml_input: what it rejects, the loader rejects with that one
// error).

#include "ee/config_file.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_input.hpp"
#include "util/toml_guard.hpp"

namespace {

// An in-memory file the input is written to, for read_config_file.
int file_fd = -1;
std::string file_path;

std::size_t count_lines(const std::string& text) {
  if (text.empty())
    return 0;
  std::size_t n = 1;
  for (char c : text)
    n += c == '\n';
  return n;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  file_fd = ::memfd_create("app.toml", 0);
  if (file_fd < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  file_path = "/proc/self/fd/" + std::to_string(file_fd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};

  auto problem = ee::util::check_toml_input(text);
  if (problem)
    EE_FUZZ_CHECK(problem->line >= 1 && problem->column >= 1 &&
                      !problem->message.empty(),
                  "a guard problem has a position and a message");

  if (::ftruncate(file_fd, 0) != 0 ||
      ::pwrite(file_fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::perror("writing the memfd");
    std::abort();
  }
  auto report = ee::read_config_file(file_path);
  auto& desc = report.description;
  for (auto& d : report.diagnostics) {
    EE_FUZZ_CHECK(!d.message.empty(), "every diagnostic says something");
    EE_FUZZ_CHECK(d.where.file == file_path, "every diagnostic names the file");
    EE_FUZZ_CHECK(d.to_string().compare(0, file_path.size(), file_path) == 0,
                  "FILE:LINE:COLUMN: first");
  }
  if (problem) {
    EE_FUZZ_CHECK(report.diagnostics.size() == 1 && !report.ok() &&
                      report.diagnostics[0].message == problem->message &&
                      report.diagnostics[0].where.line == problem->line &&
                      report.diagnostics[0].where.column == problem->column,
                  "what the guard rejects is the one error");
  }
  auto errors = report.errors();
  EE_FUZZ_CHECK(report.ok() == errors.empty(), "ok() means no errors");

  auto parsed = ee::read_config(text, "/base").result();
  EE_FUZZ_CHECK(parsed.has_value() == report.ok(),
                "the text parses as the file does");
  if (!parsed) {
    EE_FUZZ_CHECK(parsed.error().code() == ee::ec::config_file,
                  "a config error");
    EE_FUZZ_CHECK(count_lines(parsed.error().message()) == count_lines(errors),
                  "the same errors, one per line:\n" +
                      parsed.error().message() + "\n--- vs ---\n" + errors);
    return 0;
  }

  // A usable app: consistent, and the machine-dependent checks run.
  EE_FUZZ_CHECK(desc.plugin_order.size() ==
                    desc.plugins.size() + desc.library_plugins.size(),
                "every plugin in the registration order once");
  for (auto& p : desc.plugins)
    EE_FUZZ_CHECK(!p.name.empty(), "a plugin has a name");
  for (auto& p : desc.library_plugins)
    EE_FUZZ_CHECK(!p.name.empty() && !p.library.empty(),
                  "a library plugin has a name and a library");
  for (auto& t : desc.types)
    EE_FUZZ_CHECK(!t.filter().empty(), "a type has a prefix");
  for (auto& d : ee::check_environment(*parsed))
    EE_FUZZ_CHECK(!d.message.empty(), "every diagnostic says something");
  return 0;
}
