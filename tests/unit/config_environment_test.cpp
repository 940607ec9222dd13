// check_environment: port clashes, missing files, [engine.security] and the
// plugins' key files.

#include "ee/config_file.hpp"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/unit/config_test_util.hpp"

using namespace ee::test;

TEST(ConfigFile, CheckEnvironmentFindsPortClashesAndMissingThings) {
  auto d = ee::read_config(R"([engine]
publish_port = 7000
subscribe_port = 7001

[[plugin]]
name = "a"
port = 7000
command = ["no-such-program-ee-test"]

[[plugin]]
name = "b"
port = 7100
working_dir = "/nonexistent-ee-dir"

[[plugin]]
name = "c"
port = 7100
)",
                           "/")
               .result();
  ASSERT_TRUE(d) << d.error().to_string();
  auto diags = ee::check_environment(*d);
  auto texts = to_strings(diags);
  ASSERT_EQ(texts.size(), 4u) << ::testing::PrintToString(texts);
  EXPECT_TRUE(has(texts[0], "7:8: error: port 7000 of plugin 'a' is already "
                            "used by the engine's publish_port (line 2)"))
      << texts[0];
  EXPECT_TRUE(has(texts[1], "8:11:")) << texts[1];
  EXPECT_TRUE(has(texts[1], "no-such-program-ee-test' not found")) << texts[1];
  EXPECT_TRUE(has(texts[2], "working directory '/nonexistent-ee-dir'"))
      << texts[2];
  EXPECT_TRUE(has(texts[3], "port 7100 of plugin 'c' is already used by "
                            "plugin 'b'"))
      << texts[3];
  d->config.publish_port = 7001; // e.g. from --publish-port
  diags = ee::check_environment(*d);
  EXPECT_TRUE(has(diags.at(0).message, "7001 of the engine's subscribe_port"))
      << diags.at(0).message;
}

// -- [engine.security] and the plugins' keys --------------------------------

namespace {

// A folder with key files for the key checks of check_environment, removed at
// the end.
struct key_folder {
  std::string path;
  key_folder() {
    std::string tmpl = ::testing::TempDir() + "/ee-keys-XXXXXX";
    path = ::mkdtemp(tmpl.data());
  }
  ~key_folder() { std::system(("rm -rf '" + path + "'").c_str()); }
  void write(const std::string& name, const std::string& text) {
    std::system(
        ("mkdir -p \"$(dirname '" + path + "/" + name + "')\"").c_str());
    std::ofstream{path + "/" + name} << text;
  }
};

std::string public_cert(const std::string& z85) {
  return "metadata\ncurve\n    public-key = \"" + z85 + "\"\n";
}

// A valid pair (from pyzmq's own test vectors).
const std::string pub_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const std::string sec_key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

std::string secret_cert() {
  return "curve\n    public-key = \"" + pub_key + "\"\n    secret-key = \"" +
         sec_key + "\"\n";
}

} // namespace

TEST(ConfigFile, ReadsSecurityKeysRelativeToTheFile) {
  auto d = parse(R"([engine]
bind_address = "0.0.0.0"
[engine.security]
curve = true
secret_key_file = "server.key_secret"
allowed_clients_dir = "clients/"
allowed_keys = ["ops/tap.key", "/etc/ee/admin.key"]

[[plugin]]
name = "py1"
port = 0
allowed_keys = ["clients/py1.key"]
client_key_file = "clients/py1.key_secret"
)");
  ASSERT_TRUE(d) << d.error().to_string();
  auto& sec = d->config.security;
  EXPECT_TRUE(sec.curve);
  EXPECT_EQ(sec.secret_key_file, "/base/server.key_secret");
  EXPECT_EQ(sec.allowed_clients_dir, "/base/clients/");
  EXPECT_EQ(
      sec.allowed_key_files,
      (std::vector<std::string>{"/base/ops/tap.key", "/etc/ee/admin.key"}));
  auto& p = d->plugins.at(0);
  EXPECT_EQ(p.allowed_key_files,
            std::vector<std::string>{"/base/clients/py1.key"});
  EXPECT_EQ(p.client_key_file, "/base/clients/py1.key_secret");
  EXPECT_EQ(d->position("engine.security.allowed_keys.1").line, 7u);
  EXPECT_EQ(d->position("plugin.py1.allowed_keys.0").line, 12u);
}

TEST(ConfigFile, SecurityMistakesAreErrorsAndWarnings) {
  // Found by the one validation (check_environment), as app::run finds it.
  auto no_pair = report("[engine.security]\ncurve = true\n"
                        "[[plugin]]\nname = \"p\"\nport = 0\n");
  ASSERT_TRUE(no_pair.ok());
  auto env = to_strings(ee::check_environment(no_pair.description));
  std::string no_secret;
  for (auto& x : env)
    if (has(x, "key pair"))
      no_secret = x;
  EXPECT_TRUE(has(no_secret, "app.toml:2:9: error: [engine.security] curve = "
                             "true: the engine has no key pair: set "
                             "secret_key_file"))
      << no_secret;
  EXPECT_TRUE(has(no_secret, "event-engine keygen server")) << no_secret;
  auto typo =
      only_error("[engine.security]\ncurve = true\n"
                 "secret_key_file = \"s\"\nallowed_client_dir = \"c\"\n");
  EXPECT_TRUE(has(typo, "4:1: error: unknown key 'allowed_client_dir' in "
                        "[engine.security]; did you mean "
                        "'allowed_clients_dir'?"))
      << typo;
  auto shape =
      only_error("[engine.security]\ncurve = true\n"
                 "secret_key_file = \"s\"\nallowed_keys = \"a.key\"\n");
  EXPECT_TRUE(has(shape, "allowed_keys must be an array of public "
                         "certificate files"))
      << shape;
  auto entry = only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                          "allowed_keys = [\"a.key\", 3]\n");
  EXPECT_TRUE(has(entry, "4:26: error: plugin 'p' allowed_keys: each entry is "
                         "the path of a public certificate file (NAME.key), "
                         "not an integer"))
      << entry;
  auto r = report("[engine.security]\nsecret_key_file = \"s\"\n"
                  "[[plugin]]\nname = \"p\"\nport = 0\n"
                  "client_key_file = \"p.key_secret\"\n");
  auto w = warnings(r);
  ASSERT_EQ(w.size(), 2u) << ::testing::PrintToString(w);
  EXPECT_TRUE(has(w[0], "2:19: warning: [engine.security] secret_key_file has "
                        "no effect while curve is not true"))
      << w[0];
  EXPECT_TRUE(has(w[1], "6:19: warning: plugin 'p' client_key_file has no "
                        "effect"))
      << w[1];
  auto launched = report("[engine.security]\ncurve = true\n"
                         "secret_key_file = \"s\"\n"
                         "[[plugin]]\nname = \"py\"\nport = 0\n"
                         "command = [\"/usr/bin/python3\", \"p.py\"]\n");
  w = warnings(launched);
  ASSERT_EQ(w.size(), 2u) << ::testing::PrintToString(w);
  EXPECT_TRUE(has(w[0], "allows no client on the publish and subscribe ports"))
      << w[0];
  EXPECT_TRUE(has(w[1], "plugin 'py' is launched under CURVE without "
                        "client_key_file"))
      << w[1];
}

TEST(ConfigFile, CheckKeysReportsEveryBadKeyFileAtItsLine) {
  key_folder k;
  k.write("server.key_secret", secret_cert());
  k.write("clients/readme.txt", "no keys");
  k.write("ops/short.key", "curve\n    public-key = \"abc\"\n");
  k.write("p.key", public_cert(pub_key));
  auto text = R"([engine.security]
curve = true
secret_key_file = "p.key"
allowed_clients_dir = "clients"
allowed_keys = ["ops/short.key", "ops/missing.key"]

[[plugin]]
name = "p"
port = 0
allowed_keys = ["p.key"]
client_key_file = "server.key_secret"
)";
  auto d = ee::read_config(text, k.path).result();
  ASSERT_TRUE(d) << d.error().to_string();
  auto texts = to_strings(ee::check_environment(*d));
  ASSERT_EQ(texts.size(), 5u) << ::testing::PrintToString(texts);
  EXPECT_TRUE(has(texts[0], "3:19: error: [engine.security] secret_key_file: "
                            "key file '" +
                                k.path + "/p.key' has no secret-key"))
      << texts[0];
  EXPECT_TRUE(has(texts[1], "4:23: error: [engine.security] "
                            "allowed_clients_dir: allowed clients folder '" +
                                k.path + "/clients' has no *.key file"))
      << texts[1];
  EXPECT_TRUE(has(texts[2], "5:17: error: [engine.security] allowed_keys: key "
                            "file '" +
                                k.path +
                                "/ops/short.key' line 2: its "
                                "public-key has 3 characters"))
      << texts[2];
  EXPECT_TRUE(has(texts[3], "5:34: error:")) << texts[3];
  EXPECT_TRUE(has(texts[3], "ops/missing.key' does not exist")) << texts[3];
  // The secret file was written with the default umask (0644): readable.
  EXPECT_TRUE(has(texts[4], "11:19: warning: secret key file")) << texts[4];
  EXPECT_TRUE(has(texts[4], "chmod 600")) << texts[4];
  // Without CURVE the files are not looked at.
  d->config.security.curve = false;
  EXPECT_TRUE(ee::check_environment(*d).empty());
}

TEST(ConfigFile, WithoutTcpTheEnginePortsAreNotClaimed) {
  // enable_tcp = false opens no raw port, so a plugin may use 5559 (as
  // app::run agrees: the one validation decides both).
  auto r = report("[engine]\nenable_tcp = false\n"
                  "[[plugin]]\nname = \"p\"\nport = 5559\n");
  ASSERT_TRUE(r.ok()) << r.errors();
  auto env = to_strings(ee::check_environment(r.description));
  for (auto& x : env)
    EXPECT_FALSE(has(x, "already used")) << x;
}
