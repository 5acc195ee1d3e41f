// The HTTP/1.1 grammar the parser accepts and refuses (RFC 9112), head by head: what a lenient
// parser would let through differently from the next hop, and what real peers send that must
// still pass.
#include <gtest/gtest.h>

#include "gateway/h1/chars.h"
#include "gateway/h1/parser.h"

namespace kgate::h1 {
namespace {

template <bool R>
error_code putAll(Parser<R>& p, std::string_view text) {
  error_code ec;
  p.put(text, ec);
  return ec;
}

bool hardError(const error_code& ec) { return ec && ec != ParseError::need_more; }

error_code requestHead(std::string_view head) {
  RequestParser p(8192, 100);
  return putAll(p, head);
}

// The eight-bytes-at-a-time check against the definition, for every byte value at every place
// of strings of every length to 24 (short ones, whole words, overlapping last words), between
// bytes from both ends of the range.
TEST(HeadChars, WordCheckAgreesWithByteCheck) {
  for (unsigned char min : {0x20, 0x21}) {
    for (char fill : {'a', '\x80', '\xff', '~'}) {
      for (size_t size = 1; size <= 24; ++size) {
        ASSERT_TRUE(chars::noneBelowOrDel(std::string(size, fill), min)) << size;
        for (int b = 0; b < 256; ++b) {
          for (size_t at = 0; at < size; ++at) {
            std::string s(size, fill);
            s[at] = static_cast<char>(b);
            bool expected = b >= min && b != 0x7f;
            ASSERT_EQ(chars::noneBelowOrDel(s, min), expected)
                << b << " at " << at << " of " << size;
          }
        }
      }
    }
  }
  EXPECT_TRUE(chars::isText("a\tb c"));
  EXPECT_FALSE(chars::isText("abcdefgh\x1f"));
}

// Field names are lowered a word at a time when they are letters, digits and '-': every byte
// value at every place of names of every length up to 19 must come out as the table says.
TEST(HeadChars, WordLoweringAgreesWithTheTable) {
  for (std::string_view fill : {"Content-Type-X9z", "aaaaaaaaaaaaaaaaaaa", "ZZZZZZZZZZZZZZZZZZZ"}) {
    for (size_t size = 1; size < 20; ++size) {
      for (int b = 0; b < 256; ++b) {
        for (size_t at = 0; at < size; ++at) {
          std::string s;
          for (size_t i = 0; i < size; ++i) s += fill[i % fill.size()];
          s[at] = static_cast<char>(b);
          std::string expected(size, '\0');
          bool token = true;
          for (size_t i = 0; i < size; ++i) {
            expected[i] = chars::kTokenLower[static_cast<unsigned char>(s[i])];
            token = token && expected[i] != 0;
          }
          std::string out(size, '?');
          ASSERT_EQ(chars::lowerToken(s, out.data()), token) << b << " at " << at << " of " << size;
          if (token) {
            ASSERT_EQ(out, expected) << b << " at " << at << " of " << size;
          }
        }
      }
    }
  }
  char none[1];
  EXPECT_FALSE(chars::lowerToken("", none));
}

TEST(RequestGrammar, RefusedHeads) {
  for (std::string_view head : {
           "GET / HTTP/1.1\nHost: a\n\n",                   // bare LF
           "GET / HTTP/1.1\r\nHost: a\n\r\n",               // one bare LF
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",            // space before the colon
           "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",           // tab before the colon
           "GET / HTTP/1.1\r\n Host: a\r\n\r\n",            // fold with no field before it
           "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",  // no name
           "GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f"
           "b\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",  // lone CR
           "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",             // not a token
           "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",            // two spaces
           "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",        // control character in the target
           "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "GET / http/1.1\r\nHost: a\r\n\r\n",
           "GET /\r\nHost: a\r\n\r\n",  // HTTP/0.9
       }) {
    EXPECT_TRUE(hardError(requestHead(head))) << head;
  }
  // A NUL in a value (a literal would end at it).
  std::string nul = "GET / HTTP/1.1\r\nHost: a\r\nX: a";
  nul += '\0';
  nul += "b\r\n\r\n";
  EXPECT_EQ(requestHead(nul), ParseError::bad_value);
}

TEST(RequestGrammar, AcceptedHeads) {
  RequestParser p(8192, 100);
  std::string head =
      "DELETE /p%20q?x=\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Text: caf\xc3\xa9\r\n"
      "X-Pad: \t v \t\r\nX-Tab:\tin\tside\r\n\r\n";
  ASSERT_FALSE(putAll(p, head));
  ASSERT_TRUE(p.headerDone());
  EXPECT_EQ(p.method, "DELETE");
  EXPECT_EQ(p.target, "/p%20q?x=\xc3\xa9");  // obs-text passes, as in nginx
  EXPECT_EQ(p.headers.get("x-empty"), "");
  EXPECT_TRUE(p.headers.has("x-empty"));
  EXPECT_EQ(p.headers.get("x-text"), "caf\xc3\xa9");
  EXPECT_EQ(p.headers.get("x-pad"), "v");
  EXPECT_EQ(p.headers.get("x-tab"), "in\tside");
}

TEST(RequestGrammar, FoldsBecomeSpaces) {
  RequestParser p(8192, 100);
  ASSERT_FALSE(putAll(p,
                      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two \r\n\tthree\r\n"
                      "X-Next: n\r\n\r\n"));
  EXPECT_EQ(p.headers.get("x-folded"), "one two three");
  EXPECT_EQ(p.headers.get("x-next"), "n");
}

TEST(RequestGrammar, RepeatedContentLengthOfOneValueIsThatValue) {
  for (std::string_view fields :
       {"Content-Length: 5, 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n"}) {
    RequestParser p(8192, 100);
    ASSERT_FALSE(putAll(p, "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n"))
        << fields;
    ASSERT_TRUE(p.contentLength().has_value());
    EXPECT_EQ(*p.contentLength(), 5u);
  }
  for (std::string_view fields :
       {"Content-Length: 5, 6\r\n", "Content-Length: 5,\r\n",
        "Content-Length: 99999999999999999999\r\n", "Content-Length: +5\r\n"}) {
    RequestParser p(8192, 100);
    EXPECT_TRUE(
        hardError(putAll(p, "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n")))
        << fields;
  }
}

// RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing.
TEST(RequestGrammar, ChunkedInHttp10IsRefused) {
  EXPECT_TRUE(hardError(requestHead("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n")));
}

TEST(RequestGrammar, VersionsAndKeepAlive) {
  struct Case {
    std::string_view head;
    int version;
    bool keepAlive;
  };
  for (const Case& c : {Case{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 11, true},
                        Case{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n", 11, false},
                        Case{"GET / HTTP/1.0\r\n\r\n", 10, false},
                        Case{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 10, true},
                        Case{"GET / HTTP/1.9\r\nHost: a\r\n\r\n", 11, true}}) {
    RequestParser p(8192, 100);
    ASSERT_FALSE(putAll(p, c.head)) << c.head;
    EXPECT_EQ(p.version, c.version) << c.head;
    EXPECT_EQ(p.keepAlive(), c.keepAlive) << c.head;
  }
  RequestParser other(8192, 100);
  EXPECT_EQ(putAll(other, "GET / HTTP/3.0\r\nHost: a\r\n\r\n"), ParseError::bad_version);
  EXPECT_TRUE(other.versionUnsupported);
  RequestParser garbage(8192, 100);
  EXPECT_EQ(putAll(garbage, "GET / HTTP/1.x\r\nHost: a\r\n\r\n"), ParseError::bad_version);
  EXPECT_FALSE(garbage.versionUnsupported);
}

// What a head has said so far is known before it is whole: a 408 for a head that stalls names
// its Host.
TEST(RequestGrammar, PartialHeadKnowsItsHost) {
  RequestParser p(8192, 100);
  EXPECT_EQ(putAll(p, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n"), ParseError::need_more);
  EXPECT_FALSE(p.headerDone());
  EXPECT_EQ(p.host, "x");
}

// A head fed one byte at a time (each put() seeing the bytes so far) ends as the whole does.
TEST(RequestGrammar, HeadByteByByteEqualsWholeHead) {
  std::string head =
      "POST /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-F: a\r\n b\r\nConnection: x-a\r\n"
      "Transfer-Encoding: chunked\r\nTE: trailers\r\n\r\n";
  RequestParser whole(8192, 100);
  ASSERT_FALSE(putAll(whole, head));
  RequestParser bytes(8192, 100);
  error_code ec;
  size_t used = 0;
  for (size_t n = 1; n <= head.size() && used == 0; ++n) {
    used = bytes.put(std::string_view(head).substr(0, n), ec);
    if (n < head.size()) {
      EXPECT_EQ(ec, ParseError::need_more) << n;
    }
  }
  EXPECT_EQ(used, head.size());
  ASSERT_TRUE(bytes.headerDone());
  EXPECT_EQ(bytes.host, whole.host);
  EXPECT_EQ(bytes.chunked(), whole.chunked());
  EXPECT_EQ(bytes.trailersAllowed, whole.trailersAllowed);
  ASSERT_EQ(bytes.headers.size(), whole.headers.size());
  EXPECT_EQ(bytes.headers.get("x-f"), "a b");
  EXPECT_FALSE(bytes.headers.has("x-a"));
}

// Reads a whole chunked body from text; returns the first hard error.
error_code chunkedBody(std::string_view body, std::string& out, http::Headers* trailers = nullptr,
                       uint32_t maxHeaderBytes = 8192) {
  RequestParser p(maxHeaderBytes, 100);
  error_code ec;
  std::string_view head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  p.put(head, ec);
  if (ec) return ec;
  std::string pending(body);
  for (int guard = 0; guard < 100 && !p.done(); ++guard) {
    size_t used = p.put(pending, ec);
    if (p.hasPiece) out.append(p.piece);
    pending.erase(0, used);
    if (hardError(ec)) return ec;
    if (ec == ParseError::need_more && used == 0) return ec;
  }
  if (trailers) *trailers = p.trailers;
  return p.done() ? error_code{} : ParseError::need_more;
}

TEST(ChunkedGrammar, ExtensionsArePassedOver) {
  std::string out;
  EXPECT_FALSE(
      chunkedBody("5;name=value\r\nhello\r\n6 ; a=\"q s\"\r\n world\r\n0;last\r\n\r\n", out));
  EXPECT_EQ(out, "hello world");
}

TEST(ChunkedGrammar, RefusedChunks) {
  for (std::string_view body : {
           "5\nhello\r\n0\r\n\r\n",  // bare LF
           "5\r\nhelloXX0\r\n\r\n",  // data not followed by CRLF
           "10000000000000000\r\n",  // 17 hex digits: more than 64 bits
           "-5\r\nhello\r\n0\r\n\r\n",
           "5 x\r\nhello\r\n0\r\n\r\n",      // junk where an extension would be
           "5;a\x01\r\nhello\r\n0\r\n\r\n",  // control character in an extension
       }) {
    std::string out;
    EXPECT_TRUE(hardError(chunkedBody(body, out))) << body;
  }
  std::string longLine = "5;" + std::string(5000, 'x') + "\r\nhello\r\n0\r\n\r\n";
  std::string out;
  EXPECT_EQ(chunkedBody(longLine, out), ParseError::bad_chunk);
}

TEST(ChunkedGrammar, TrailersAreFieldsUnderTheSameLimits) {
  std::string out;
  http::Headers trailers;
  ASSERT_FALSE(
      chunkedBody("1\r\na\r\n0\r\nX-T: one\r\n two\r\nContent-Length: 1\r\n\r\n", out, &trailers));
  EXPECT_EQ(trailers.get("x-t"), "one two");
  EXPECT_FALSE(trailers.has("content-length"));
  // The head took 56 bytes of a 100-byte budget; 60 bytes of trailers exceed what is left.
  EXPECT_EQ(
      chunkedBody("1\r\na\r\n0\r\nX-T: " + std::string(50, 'v') + "\r\n\r\n", out, nullptr, 100),
      ParseError::header_limit);
}

TEST(ResponseGrammar, StatusLines) {
  for (std::string_view head : {"HTTP/1.1 200\r\n\r\n", "HTTP/1.1 200 \r\n\r\n",
                                "HTTP/1.1 404 Not \t Found\r\n\r\n", "HTTP/1.0 599 x\r\n\r\n"}) {
    ResponseParser p(8192, 100);
    EXPECT_FALSE(putAll(p, head)) << head;
    EXPECT_TRUE(p.headerDone()) << head;
  }
  for (std::string_view head :
       {"HTTP/1.1 20\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n"}) {
    ResponseParser p(8192, 100);
    EXPECT_TRUE(hardError(putAll(p, head))) << head;
  }
}

TEST(ResponseGrammar, WhichResponsesHaveABody) {
  struct Case {
    std::string_view head;
    bool skip;
    bool done;
    bool keepAlive;
  };
  for (const Case& c : {
           Case{"HTTP/1.1 100 Continue\r\n\r\n", false, true, true},
           Case{"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, true, true},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, true, true},  // HEAD
           Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, false, true},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, true, true},
           Case{"HTTP/1.1 200 OK\r\n\r\n", false, false, false},  // until the close
       }) {
    ResponseParser p(8192, 100);
    if (c.skip) p.skipBody();
    ASSERT_FALSE(putAll(p, c.head)) << c.head;
    EXPECT_EQ(p.done(), c.done) << c.head;
    EXPECT_EQ(p.keepAlive(), c.keepAlive) << c.head;
  }
  ResponseParser head(8192, 100);
  head.skipBody();
  ASSERT_FALSE(putAll(head, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"));
  ASSERT_TRUE(head.contentLength().has_value());
  EXPECT_EQ(*head.contentLength(), 10u);  // passed on: it says what a GET would carry
}

}  // namespace
}  // namespace kgate::h1
