// How the request parser delimits bodies when Transfer-Encoding and Content-Length are involved
// (RFC 9112 section 6). A proxy that gets this wrong lets a client smuggle a second request
// past whatever sits in front of it or behind it.
#include <gtest/gtest.h>

#include "gateway/h1/parser.h"

namespace kgate::h1 {
namespace {

struct Outcome {
  size_t used = 0;
  error_code ec;
};

Outcome parseHead(RequestParser& p, std::string_view text) {
  Outcome o;
  o.used = p.put(text, o.ec);
  return o;
}

bool isHardError(const error_code& ec) { return ec && ec != ParseError::need_more; }

TEST(RequestFraming, ChunkedIsTheBody) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_TRUE(p.chunked());
  EXPECT_FALSE(p.done());
}

TEST(RequestFraming, ChunkedIsCaseInsensitive) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_TRUE(p.chunked());
}

TEST(RequestFraming, ContentLengthIsTheBody) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_FALSE(p.done());
  ASSERT_TRUE(p.contentLength().has_value());
  EXPECT_EQ(*p.contentLength(), 3u);
}

TEST(RequestFraming, NoFramingHeadersMeansNoBody) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_TRUE(p.done());
}

TEST(RequestFraming, DuplicateChunkedIsAnError) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(isHardError(o.ec));
}

TEST(RequestFraming, BadContentLengthIsAnError) {
  for (const char* cl : {"abc", "-1", "1 2", "0x10", ""}) {
    RequestParser p(8192, 100);
    auto o = parseHead(p, std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + cl +
                              "\r\n\r\n");
    EXPECT_TRUE(isHardError(o.ec)) << '"' << cl << '"';
  }
}

// A Transfer-Encoding that does not end in "chunked" leaves the length of a request unknown:
// RFC 9112 6.3 (4) says 400 and close. Read as "no body", the body bytes would be parsed as the
// next request on the connection while a front proxy reading until close sees one request:
// request smuggling.
TEST(RequestFraming, TransferEncodingNotEndingInChunkedIsRejected) {
  for (const char* te : {"gzip", "chunked, gzip", "identity"}) {
    RequestParser p(8192, 100);
    std::string text = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te +
                       "\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
    auto o = parseHead(p, text);
    EXPECT_TRUE(isHardError(o.ec)) << te << ": accepted, done=" << p.done();
  }
}

// Transfer-Encoding with Content-Length is refused (RFC 9112 6.3 (3) allows refusing), not read
// by its Content-Length.
TEST(RequestFraming, NonChunkedTransferEncodingWithContentLengthIsRejected) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n"
                        "Content-Length: 3\r\n\r\nabc");
  EXPECT_TRUE(isHardError(o.ec)) << "accepted, body by content-length";
}

// "gzip, chunked" de-chunked and forwarded without its gzip coding (the model has no place for
// it) would hand the upstream compressed bytes as the plain body: a proxy must not drop a coding
// it did not decode (RFC 9112 6.1).
TEST(RequestFraming, UnsupportedTransferCodingBeforeChunkedIsRejected) {
  RequestParser p(8192, 100);
  auto o = parseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_TRUE(isHardError(o.ec)) << "accepted; chunked=" << p.chunked();
}

}  // namespace
}  // namespace kgate::h1
