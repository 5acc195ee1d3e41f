#include "gateway/http/message.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace kgate::http {
namespace {

std::vector<std::pair<std::string, std::string>> fields(const Headers& h) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : h) out.emplace_back(f.name, f.value);
  return out;
}
using FieldList = std::vector<std::pair<std::string, std::string>>;

TEST(Headers, FindAndGet) {
  Headers h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.find("a"), nullptr);
  EXPECT_EQ(h.get("a"), "");
  EXPECT_FALSE(h.has("a"));
  h.add("a", "1");
  h.add("b", "");
  h.add("a", "2");
  ASSERT_NE(h.find("a"), nullptr);
  EXPECT_EQ(*h.find("a"), "1");  // first value
  EXPECT_EQ(h.get("a"), "1");
  EXPECT_TRUE(h.has("b"));       // present with an empty value
  EXPECT_EQ(h.get("b"), "");
  EXPECT_EQ(h.size(), 3u);
  EXPECT_FALSE(h.has("A"));      // names are stored lower-case; lookups are exact
}

TEST(Headers, AddKeepsDuplicatesInOrder) {
  Headers h;
  h.add("x-tenant", "t0");
  h.add("x-tenant", "t1");
  EXPECT_EQ(fields(h), (FieldList{{"x-tenant", "t0"}, {"x-tenant", "t1"}}));
}

TEST(Headers, SetReplacesEveryDuplicateAndKeepsThePositionOfTheFirst) {
  Headers h;
  h.add("a", "1");
  h.add("k", "old1");
  h.add("b", "2");
  h.add("k", "old2");
  h.add("c", "3");
  h.add("k", "old3");
  h.set("k", "new");
  EXPECT_EQ(fields(h), (FieldList{{"a", "1"}, {"k", "new"}, {"b", "2"}, {"c", "3"}}));
}

TEST(Headers, SetAppendsWhenAbsent) {
  Headers h;
  h.add("a", "1");
  h.set("z", "9");
  EXPECT_EQ(fields(h), (FieldList{{"a", "1"}, {"z", "9"}}));
  h.set("z", "10");
  EXPECT_EQ(fields(h), (FieldList{{"a", "1"}, {"z", "10"}}));
}

TEST(Headers, SetIfAbsent) {
  Headers h;
  h.setIfAbsent("kuscia-origin-source", "alice");
  EXPECT_EQ(h.get("kuscia-origin-source"), "alice");
  h.setIfAbsent("kuscia-origin-source", "carol");
  EXPECT_EQ(h.get("kuscia-origin-source"), "alice");
  EXPECT_EQ(h.size(), 1u);
  Headers e;
  e.add("x", "");
  e.setIfAbsent("x", "v");  // an empty value is still a value
  EXPECT_EQ(fields(e), (FieldList{{"x", ""}}));
}

TEST(Headers, RemoveReturnsHowManyWentAndKeepsOrder) {
  Headers h;
  h.add("a", "1");
  h.add("k", "x");
  h.add("b", "2");
  h.add("k", "y");
  EXPECT_EQ(h.remove("k"), 2u);
  EXPECT_EQ(fields(h), (FieldList{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(h.remove("k"), 0u);
  EXPECT_EQ(h.remove("nope"), 0u);
  h.clear();
  EXPECT_TRUE(h.empty());
}

TEST(StripPort, Table) {
  const std::pair<const char*, const char*> cases[] = {
      {"a:80", "a"},
      {"a", "a"},
      {"127.0.0.1:1080", "127.0.0.1"},
      {"gw.example.com:1080", "gw.example.com"},
      {"svc.bob.svc:8080", "svc.bob.svc"},
      {"[::1]:80", "[::1]"},
      {"[::1]", "[::1]"},
      {"[2001:db8::1]:443", "[2001:db8::1]"},
      {"::1", "::1"},               // bare IPv6: no port to strip
      {"2001:db8::1", "2001:db8::1"},
      {"a:", "a"},
      {"", ""},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(stripPort(in), out) << '"' << in << '"';
}

TEST(IsHopByHop, ConnectionLevelHeaders) {
  for (const char* n : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                        "upgrade", "te", "trailer", "http2-settings"})
    EXPECT_TRUE(isHopByHop(n)) << n;
  for (const char* n : {"content-length", "host", "kuscia-token", "kuscia-source", "trailers",
                        "content-type", "x-accel-buffering", "Connection"})
    EXPECT_FALSE(isHopByHop(n)) << n;  // the argument must already be lower-case
}

TEST(ReasonPhrase, KnownAndUnknown) {
  EXPECT_EQ(reasonPhrase(200), "OK");
  EXPECT_EQ(reasonPhrase(204), "No Content");
  EXPECT_EQ(reasonPhrase(302), "Found");
  EXPECT_EQ(reasonPhrase(400), "Bad Request");
  EXPECT_EQ(reasonPhrase(401), "Unauthorized");
  EXPECT_EQ(reasonPhrase(404), "Not Found");
  EXPECT_EQ(reasonPhrase(408), "Request Timeout");
  EXPECT_EQ(reasonPhrase(413), "Payload Too Large");
  EXPECT_EQ(reasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reasonPhrase(500), "Internal Server Error");
  EXPECT_EQ(reasonPhrase(502), "Bad Gateway");
  EXPECT_EQ(reasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(reasonPhrase(504), "Gateway Timeout");
  EXPECT_EQ(reasonPhrase(299), "Unknown");
  EXPECT_EQ(reasonPhrase(0), "Unknown");
}

TEST(ToLower, AsciiOnly) {
  std::string s = "Kuscia-Host: SVC.Bob.SVC \xC3\x84";
  toLower(s);
  EXPECT_EQ(s, "kuscia-host: svc.bob.svc \xC3\x84");
}

}  // namespace
}  // namespace kgate::http
