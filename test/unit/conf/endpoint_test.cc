#include "conf/endpoint.h"

#include <gtest/gtest.h>

namespace kgate::conf {
namespace {

struct Good {
  const char* url;
  const char* scheme;
  const char* host;
  uint16_t port;
  const char* path;
};

TEST(ParseEndpoint, AcceptsValidUrls) {
  const Good cases[] = {
      {"http://1.2.3.4", "http", "1.2.3.4", 80, ""},
      {"https://example.com", "https", "example.com", 443, ""},
      {"http://3.3.3.3:38080", "http", "3.3.3.3", 38080, ""},
      {"http://3.3.3.3:38080/", "http", "3.3.3.3", 38080, ""},
      {"HTTPS://Host.Example:8443/a/b/", "https", "host.example", 8443, "/a/b"},
      {"http://[::1]:8080/", "http", "::1", 8080, ""},
      {"https://[2001:DB8::1]", "https", "2001:db8::1", 443, ""},
      {"http://h:1/p//", "http", "h", 1, "/p"},
      {"http://h:65535/prefix", "http", "h", 65535, "/prefix"},
      {"http://my_host.svc:80", "http", "my_host.svc", 80, ""},
      {"http://localhost.:80", "http", "localhost.", 80, ""},
  };
  for (const auto& c : cases) {
    auto ep = parseEndpoint(c.url);
    ASSERT_TRUE(ep.ok()) << c.url << ": " << ep.error();
    EXPECT_EQ(ep->scheme, c.scheme) << c.url;
    EXPECT_EQ(ep->host, c.host) << c.url;
    EXPECT_EQ(ep->port, c.port) << c.url;
    EXPECT_EQ(ep->pathPrefix, c.path) << c.url;
  }
}

TEST(ParseEndpoint, RejectsBadUrlsWithASpecificMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"ftp://x", "\"ftp://x\": scheme must be http or https"},
      {"", "URL is empty"},
      {"example.com:80", "\"example.com:80\": not a URL"},
      {"http://", "host is missing"},
      {"http://:80", "host is missing"},
      {"http:///path", "host is missing"},
      {"http://h:0", "port must be between 1 and 65535"},
      {"http://h:65536", "port must be between 1 and 65535"},
      {"http://h:123456", "port must be between 1 and 65535"},
      {"http://h:8o", "port must be a number"},
      {"http://h:+80", "port must be a number"},
      {"http://h:", "port is empty"},
      {"http://h/p?x=1", "a query string (?...) is not allowed"},
      {"http://h/#frag", "a fragment (#...) is not allowed"},
      {"http://[::1", "missing its ']'"},
      {"http://[zz]:80", "invalid IPv6 address"},
      {"http://[1.2.3.4]:80", "invalid IPv6 address"},
      {"http://[::1]x", "unexpected text after the IPv6 address"},
      {"http://::1:80", "IPv6 addresses must be written in brackets"},
      {"http://h h", "contains a space or control character"},
      {"http://a..b", "host \"a..b\" is not a valid host name or IP address"},
      {"http://1.2.3.400", "is not a valid host name or IP address"},
      {"http://-a.com", "is not a valid host name"},
      {"http://a$b", "is not a valid host name"},
  };
  for (const auto& [url, want] : cases) {
    auto ep = parseEndpoint(url);
    ASSERT_FALSE(ep.ok()) << url;
    EXPECT_NE(ep.error().find(want), std::string::npos) << url << " -> " << ep.error();
  }
}

TEST(ParseEndpoint, UserInfoIsRefusedWithoutEchoingThePassword) {
  auto ep = parseEndpoint("https://admin:s3cret@host:443/x");
  ASSERT_FALSE(ep.ok());
  EXPECT_NE(ep.error().find("user info (user:password@) is not allowed"), std::string::npos);
  EXPECT_EQ(ep.error().find("s3cret"), std::string::npos) << ep.error();
  EXPECT_NE(ep.error().find("\"https://***@host:443/x\""), std::string::npos) << ep.error();
}

TEST(ParseEndpoint, UrlIsCanonicalAndRoundTrips) {
  for (const char* in : {"http://3.3.3.3:38080", "https://example.com/a/", "http://[::1]:8080/p"}) {
    auto ep = parseEndpoint(in);
    ASSERT_TRUE(ep.ok()) << in;
    auto again = parseEndpoint(ep->url());
    ASSERT_TRUE(again.ok()) << ep->url();
    EXPECT_EQ(again->url(), ep->url());
    EXPECT_EQ(again->host, ep->host);
    EXPECT_EQ(again->port, ep->port);
    EXPECT_EQ(again->pathPrefix, ep->pathPrefix);
  }
  EXPECT_EQ(parseEndpoint("https://example.com/a/")->url(), "https://example.com:443/a");
  EXPECT_EQ(parseEndpoint("http://[::1]:8080/p")->url(), "http://[::1]:8080/p");
  EXPECT_TRUE(parseEndpoint("https://x")->tls());
  EXPECT_FALSE(parseEndpoint("http://x")->tls());
}

TEST(HostChecks, IpLiteralsAndDnsNames) {
  EXPECT_TRUE(isIpLiteral("0.0.0.0"));
  EXPECT_TRUE(isIpLiteral("::"));
  EXPECT_TRUE(isIpLiteral("fe80::1"));
  EXPECT_FALSE(isIpLiteral("[::1]"));
  EXPECT_FALSE(isIpLiteral("localhost"));
  EXPECT_FALSE(isIpLiteral(""));
  EXPECT_TRUE(isDnsName("bob.example.com"));
  EXPECT_TRUE(isDnsName("a"));
  EXPECT_FALSE(isDnsName(""));
  EXPECT_FALSE(isDnsName("a..b"));
  EXPECT_FALSE(isDnsName("a-.b"));
  EXPECT_FALSE(isDnsName(std::string(64, 'a')));
  EXPECT_FALSE(isDnsName("1.2.3.4"));  // looks like an address, is not a name
}

}  // namespace
}  // namespace kgate::conf
