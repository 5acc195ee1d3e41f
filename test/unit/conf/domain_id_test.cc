#include "conf/domain_id.h"

#include <gtest/gtest.h>

#include <vector>

namespace kgate::conf {
namespace {

TEST(DomainId, AcceptsRfc1123Labels) {
  const std::vector<std::string> ids = {"alice", "a",    "0", "a-b", "bob2", "9lives",
                                        "x--y",  "a1b2", std::string(63, 'a')};
  for (const std::string& id : ids) {
    auto r = validateDomainId(id);
    EXPECT_TRUE(r.ok()) << id << ": " << r.error();
  }
}

TEST(DomainId, RejectsInvalidLabels) {
  const std::vector<std::string> ids = {"Alice", "-a",  "a-", "a.b", "a_b", "al ice", "caf\xc3\xa9",
                                        "a\nb",  "a/b", std::string(64, 'a')};
  for (const std::string& id : ids) {
    auto r = validateDomainId(id);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_NE(r.error().find("is invalid: use lower-case letters"), std::string::npos)
        << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << "one line: " << r.error();
  }
}

TEST(DomainId, MessagesAreExact) {
  EXPECT_EQ(validateDomainId("Alice").error(),
            "domain ID \"Alice\" is invalid: use lower-case letters, digits and '-', start and "
            "end with a letter or digit, at most 63 characters (RFC 1123 label)");
  EXPECT_EQ(validateDomainId("master").error(), "domain ID \"master\" is reserved");
  EXPECT_EQ(validateDomainId("").error(), "domain ID is empty");
}

TEST(DomainId, RefusesReservedIds) {
  for (const char* id :
       {"master", "default", "kube-system", "kube-public", "kube-node-lease", "cross-domain"}) {
    auto r = validateDomainId(id);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.error(), "domain ID \"" + std::string(id) + "\" is reserved");
  }
  EXPECT_TRUE(validateDomainId("masters").ok());
  EXPECT_TRUE(validateDomainId("kube").ok());
}

TEST(DnsLabel, IsTheSyntaxWithoutReservations) {
  EXPECT_TRUE(isDnsLabel("master"));
  EXPECT_TRUE(isDnsLabel("echo"));
  EXPECT_FALSE(isDnsLabel("Echo"));
  EXPECT_FALSE(isDnsLabel(""));
}

}  // namespace
}  // namespace kgate::conf
