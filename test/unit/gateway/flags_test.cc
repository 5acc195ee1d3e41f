#include "gateway/cli/flags.h"

#include <gtest/gtest.h>

namespace kgate::cli {
namespace {

const std::vector<FlagSpec> kSpecs = {
    {"config", "c", true, ""},
    {"port", "p", true, ""},
    {"verbose", "v", false, ""},
    {"mode", "", true, ""},
    {"domain", "d", true, ""},
    {"kubeconfig", "", true, "kgate does not use Kubernetes; remove the flag"},
};

Result<Flags> parse(std::vector<std::string> args) { return Flags::parse(args, kSpecs); }

TEST(FlagsParse, LongShortAndEqualsForms) {
  auto f = parse({"--config", "a.yaml", "--port=18080", "-d", "alice", "--mode=lite"});
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->get("config"), "a.yaml");
  EXPECT_EQ(f->get("port"), "18080");
  EXPECT_EQ(f->get("domain"), "alice");
  EXPECT_EQ(f->get("mode"), "lite");
  EXPECT_TRUE(f->has("config"));
  EXPECT_FALSE(f->has("verbose"));
  EXPECT_EQ(f->get("verbose"), std::nullopt);
}

TEST(FlagsParse, ShortAliasIsStoredUnderTheLongName) {
  auto f = parse({"-c", "x.yaml", "-p=1080"});
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->get("config"), "x.yaml");
  EXPECT_EQ(f->get("port"), "1080");
  EXPECT_FALSE(f->has("c"));
}

TEST(FlagsParse, ValuesMayContainEqualsOrBeEmpty) {
  auto f = parse({"--config=a=b", "--domain="});
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->get("config"), "a=b");
  EXPECT_EQ(f->get("domain"), "");
  EXPECT_TRUE(f->has("domain"));
}

TEST(FlagsParse, ValueMayStartWithADash) {
  auto f = parse({"--domain", "-x"});
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->get("domain"), "-x");
}

TEST(FlagsParse, BooleanFlag) {
  auto f = parse({"-v", "--config", "c"});
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(f->has("verbose"));
  EXPECT_EQ(f->get("verbose"), "");
  auto bad = parse({"--verbose=yes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "flag --verbose takes no value");
}

TEST(FlagsParse, NoArguments) {
  auto f = parse({});
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->has("config"));
}

TEST(FlagsParse, UnknownFlag) {
  auto f = parse({"--nope", "1"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "unknown flag --nope");
  auto g = parse({"--nope=secret-value"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error(), "unknown flag --nope");  // the value is not echoed
  auto h = parse({"-x"});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error(), "unknown flag -x");
}

TEST(FlagsParse, RepeatedFlag) {
  auto f = parse({"--config", "a", "-c", "b"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "flag --config given twice");
  auto g = parse({"-v", "--verbose"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error(), "flag --verbose given twice");
}

TEST(FlagsParse, MissingValue) {
  auto f = parse({"--config"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "flag --config needs a value");
  auto g = parse({"-v", "-p"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error(), "flag --port needs a value");
}

TEST(FlagsParse, RefusedFlag) {
  auto f = parse({"--kubeconfig", "/root/.kube/config"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "--kubeconfig: kgate does not use Kubernetes; remove the flag");
  auto g = parse({"--kubeconfig=/root/.kube/config"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error(), "--kubeconfig: kgate does not use Kubernetes; remove the flag");
}

TEST(FlagsParse, PositionalArgumentsAreRefused) {
  auto f = parse({"start"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "unexpected argument \"start\"");
  auto g = parse({"--config", "a", "extra"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error(), "unexpected argument \"extra\"");
  auto h = parse({"-"});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error(), "unexpected argument \"-\"");
}

TEST(ParsePort, Bounds) {
  auto one = parsePort("-p", "1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  auto max = parsePort("-p", "65535");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 65535);
  auto seed = parsePort("-p", "18080");
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(*seed, 18080);
}

TEST(ParsePort, Refusals) {
  for (const char* v : {"0", "65536", "99999999999", "", "-1", "+80", "80x", " 80", "80 ", "0x50", "8.0"}) {
    auto r = parsePort("-p", v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.error(), std::string("-p: \"") + v + "\" is not a port number (1-65535)");
  }
}

}  // namespace
}  // namespace kgate::cli
