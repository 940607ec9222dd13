// CurveZMQ keys and certificate files: the formats pyzmq and CZMQ write,
// and a clear error for every way a key file can be wrong.

#include "bridge/curve_keys.hpp"

#include <gtest/gtest.h>

#include "curve_util.hpp"

using namespace ee;
using namespace ee::test;

namespace {

// What pyzmq's zmq.auth.create_certificates writes (with metadata).
std::string pyzmq_secret(const curve::certificate& c) {
  return "#   ****  Generated on 2026-12-01 10:00:00 by pyzmq  ****\n"
         "#   ZeroMQ CURVE **Secret** Certificate\n"
         "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
         "permissions.\n\n"
         "metadata\n    name = py1\ncurve\n"
         "    public-key = \"" +
         c.public_key + "\"\n    secret-key = \"" + c.secret_key + "\"\n";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(CurveKeys, GeneratedPairsRoundTripThroughTheirFiles) {
  ASSERT_TRUE(curve::available());
  temp_dir dir;
  auto pair = curve::generate();
  ASSERT_TRUE(pair) << pair.error().to_string();
  EXPECT_EQ(pair->public_key.size(), curve::z85_chars);
  EXPECT_EQ(*curve::public_of(pair->secret_key), pair->public_key);
  auto pub = dir.write("a.key", curve::format(*pair, false, "today"));
  auto sec = dir.write("a.key_secret", curve::format(*pair, true, "today"));
  auto p = curve::load(pub, false);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->public_key, pair->public_key);
  EXPECT_TRUE(p->secret_key.empty());
  auto s = curve::load(sec, true);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->public_key, pair->public_key);
  EXPECT_EQ(s->secret_key, pair->secret_key);
  auto bytes = curve::decode(pair->public_key, "k");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), curve::key_bytes);
  EXPECT_EQ(curve::encode(*bytes), pair->public_key);
}

TEST(CurveKeys, ReadsThePyzmqAndCzmqFormats) {
  temp_dir dir;
  auto pair = *curve::generate();
  auto py = curve::load(dir.write("py.key_secret", pyzmq_secret(pair)), true);
  ASSERT_TRUE(py) << py.error().to_string();
  EXPECT_EQ(py->secret_key, pair.secret_key);
  // CZMQ's zcert: the same layout; single quotes and tabs are tolerated as
  // pyzmq's reader tolerates them.
  auto cz =
      curve::load(dir.write("cz.key", "metadata\ncurve\n\tpublic-key = '" +
                                          pair.public_key + "'\n"),
                  false);
  ASSERT_TRUE(cz) << cz.error().to_string();
  EXPECT_EQ(cz->public_key, pair.public_key);
}

TEST(CurveKeys, EveryBadFileIsAClearError) {
  temp_dir dir;
  auto pair = *curve::generate();
  auto other = *curve::generate();
  auto error_of = [](const expected<curve::certificate>& r) {
    return r ? std::string{"<loaded>"} : r.error().message();
  };
  auto missing = error_of(curve::load((dir.path / "nope.key").string(), false));
  EXPECT_TRUE(contains(missing, "does not exist")) << missing;
  EXPECT_TRUE(contains(missing, "event-engine keygen")) << missing;
  auto folder = error_of(curve::load(dir.path.string(), false));
  EXPECT_TRUE(contains(folder, "is a folder")) << folder;
  auto empty =
      error_of(curve::load(dir.write("empty.key", "# nothing\n"), false));
  EXPECT_TRUE(contains(empty, "no public-key line")) << empty;
  auto short_key = error_of(curve::load(
      dir.write("short.key", "curve\n    public-key = \"abc\"\n"), false));
  EXPECT_TRUE(contains(short_key, "line 2")) << short_key;
  EXPECT_TRUE(contains(short_key, "has 3 characters")) << short_key;
  auto bad_char = pair.public_key;
  bad_char[5] = '~';
  auto not_z85 = error_of(curve::load(
      dir.write("bad.key", "curve\n    public-key = \"" + bad_char + "\"\n"),
      false));
  EXPECT_TRUE(contains(not_z85, "not Z85 at position 6")) << not_z85;
  auto public_only = error_of(
      curve::load(dir.write("pub.key", curve::format(pair, false, "x")), true));
  EXPECT_TRUE(contains(public_only, "no secret-key")) << public_only;
  EXPECT_TRUE(contains(public_only, "NAME.key_secret")) << public_only;
  auto mixed = error_of(curve::load(
      dir.write("mixed.key_secret",
                "curve\n    public-key = \"" + other.public_key +
                    "\"\n    secret-key = \"" + pair.secret_key + "\"\n"),
      true));
  EXPECT_TRUE(contains(mixed, "does not belong to the secret-key")) << mixed;
  auto huge = error_of(
      curve::load(dir.write("huge.key", std::string(100000, '#')), false));
  EXPECT_TRUE(contains(huge, "larger than")) << huge;
}

TEST(CurveKeys, AFolderYieldsEveryPublicKeyOrTheFirstProblem) {
  temp_dir dir;
  auto none = curve::load_dir((dir.path / "nope").string());
  ASSERT_FALSE(none);
  EXPECT_TRUE(contains(none.error().message(), "does not exist"));
  auto empty = curve::load_dir(dir.path.string());
  ASSERT_FALSE(empty);
  EXPECT_TRUE(contains(empty.error().message(), "has no *.key file"))
      << empty.error().message();
  auto a = *curve::generate();
  auto b = *curve::generate();
  dir.write("b.key", curve::format(b, false, "x"));
  dir.write("a.key", curve::format(a, false, "x"));
  // Secrets are not public certificates: ignored in the folder.
  dir.write("a.key_secret", curve::format(a, true, "x"));
  auto both = curve::load_dir(dir.path.string());
  ASSERT_TRUE(both) << both.error().to_string();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].public_key, a.public_key);
  EXPECT_EQ((*both)[1].public_key, b.public_key);
  dir.write("c.key", "curve\n    public-key = \"short\"\n");
  auto bad = curve::load_dir(dir.path.string());
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().message(), "c.key"))
      << bad.error().message();
}
