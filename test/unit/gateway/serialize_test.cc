#include "gateway/h1/serialize.h"

#include <gtest/gtest.h>

namespace kgate::h1 {
namespace {

http::ResponseHead response(int status, std::optional<uint64_t> length = std::nullopt) {
  http::ResponseHead h;
  h.status = status;
  h.headers.add("content-type", "text/plain");
  h.contentLength = length;
  return h;
}

std::string head(const http::ResponseHead& h, Framing f, bool keepAlive, bool http10) {
  std::string out;
  appendResponseHead(out, h, f, keepAlive, http10);
  return out;
}

TEST(AppendResponseHead, LengthKeepAlive) {
  EXPECT_EQ(head(response(200, 5), Framing::Length, true, false),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n");
}

TEST(AppendResponseHead, LengthClose) {
  EXPECT_EQ(head(response(401, 82), Framing::Length, false, false),
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\ncontent-length: 82\r\n"
            "connection: close\r\n\r\n");
}

TEST(AppendResponseHead, LengthWithoutAValueWritesZero) {
  EXPECT_EQ(head(response(404), Framing::Length, true, false),
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n");
}

TEST(AppendResponseHead, LengthHttp10KeepAlive) {
  EXPECT_EQ(head(response(200, 0), Framing::Length, true, true),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n"
            "connection: keep-alive\r\n\r\n");
}

TEST(AppendResponseHead, CloseWinsOverHttp10KeepAlive) {
  EXPECT_EQ(head(response(200, 0), Framing::Length, false, true),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n"
            "connection: close\r\n\r\n");
}

TEST(AppendResponseHead, Chunked) {
  EXPECT_EQ(head(response(200), Framing::Chunked, true, false),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(head(response(200), Framing::Chunked, false, false),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n"
            "connection: close\r\n\r\n");
}

TEST(AppendResponseHead, ChunkedIgnoresAContentLength) {
  EXPECT_EQ(head(response(200, 10), Framing::Chunked, true, false),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n");
}

TEST(AppendResponseHead, None) {
  EXPECT_EQ(head(response(204), Framing::None, true, false),
            "HTTP/1.1 204 No Content\r\ncontent-type: text/plain\r\n\r\n");
  EXPECT_EQ(head(response(304, 7), Framing::None, false, false),
            "HTTP/1.1 304 Not Modified\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n");
}

TEST(AppendResponseHead, UntilClose) {
  EXPECT_EQ(head(response(200), Framing::UntilClose, false, false),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n");
}

TEST(AppendResponseHead, HeadersInOrderWithDuplicatesAndUnknownStatus) {
  http::ResponseHead h;
  h.status = 299;
  h.headers.add("x-a", "1");
  h.headers.add("set-cookie", "a=1");
  h.headers.add("set-cookie", "b=2");
  h.contentLength = 3;
  EXPECT_EQ(head(h, Framing::Length, true, false),
            "HTTP/1.1 299 Unknown\r\nx-a: 1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n"
            "content-length: 3\r\n\r\n");
}

TEST(AppendResponseHead, AppendsToExistingBytes) {
  std::string out = "previous";
  http::ResponseHead h;
  h.status = 200;
  appendResponseHead(out, h, Framing::None, true, false);
  EXPECT_EQ(out, "previousHTTP/1.1 200 OK\r\n\r\n");
}

http::RequestHead request(std::string method, std::string path) {
  http::RequestHead r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(AppendRequestHead, HostLineFirstThenFields) {
  http::RequestHead r = request("GET", "/api?x=1");
  r.headers.add("kuscia-source", "alice");
  r.headers.add("kuscia-host", "svc.bob.svc");
  std::string out;
  appendRequestHead(out, r, "bob.example.com", Framing::None);
  EXPECT_EQ(out,
            "GET /api?x=1 HTTP/1.1\r\nhost: bob.example.com\r\nkuscia-source: alice\r\n"
            "kuscia-host: svc.bob.svc\r\n\r\n");
}

TEST(AppendRequestHead, EmptyPathBecomesSlash) {
  std::string out;
  appendRequestHead(out, request("GET", ""), "h", Framing::None);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
}

TEST(AppendRequestHead, LengthAndChunked) {
  http::RequestHead r = request("POST", "/p");
  r.contentLength = 12;
  std::string len;
  appendRequestHead(len, r, "10.0.0.5", Framing::Length);
  EXPECT_EQ(len, "POST /p HTTP/1.1\r\nhost: 10.0.0.5\r\ncontent-length: 12\r\n\r\n");
  std::string chunked;
  appendRequestHead(chunked, request("POST", "/p"), "[::1]", Framing::Chunked);
  EXPECT_EQ(chunked, "POST /p HTTP/1.1\r\nhost: [::1]\r\ntransfer-encoding: chunked\r\n\r\n");
}

TEST(AppendRequestHead, TeTrailersWhenTheClientAllowedThem) {
  http::RequestHead r = request("POST", "/grpc.Svc/Call");
  r.headers.add("content-type", "application/grpc");
  r.trailersAllowed = true;
  std::string out;
  appendRequestHead(out, r, "h", Framing::Chunked);
  EXPECT_EQ(out,
            "POST /grpc.Svc/Call HTTP/1.1\r\nhost: h\r\ncontent-type: application/grpc\r\n"
            "te: trailers\r\ntransfer-encoding: chunked\r\n\r\n");
}

TEST(ChunkFraming, HeaderIsLowerCaseHex) {
  const std::pair<size_t, const char*> cases[] = {
      {0, "0\r\n"}, {1, "1\r\n"}, {10, "a\r\n"}, {15, "f\r\n"}, {16, "10\r\n"},
      {255, "ff\r\n"}, {4096, "1000\r\n"}, {32768, "8000\r\n"}, {0xABCDEF, "abcdef\r\n"}};
  for (const auto& [n, text] : cases) {
    std::string out;
    appendChunkHeader(out, n);
    EXPECT_EQ(out, text) << n;
  }
}

TEST(ChunkFraming, ChunkEnd) {
  std::string out = "abc";
  appendChunkEnd(out);
  EXPECT_EQ(out, "abc\r\n");
}

TEST(ChunkFraming, LastChunkWithoutTrailers) {
  std::string out;
  appendLastChunk(out, nullptr);
  EXPECT_EQ(out, "0\r\n\r\n");
  http::Headers none;
  std::string empty;
  appendLastChunk(empty, &none);
  EXPECT_EQ(empty, "0\r\n\r\n");
}

TEST(ChunkFraming, LastChunkWithTrailers) {
  http::Headers t;
  t.add("grpc-status", "0");
  t.add("grpc-message", "ok");
  std::string out;
  appendLastChunk(out, &t);
  EXPECT_EQ(out, "0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n");
}

TEST(ChunkFraming, AWholeChunkedBody) {
  std::string out;
  appendChunkHeader(out, 5);
  out.append("hello");
  appendChunkEnd(out);
  appendLastChunk(out, nullptr);
  EXPECT_EQ(out, "5\r\nhello\r\n0\r\n\r\n");
}

}  // namespace
}  // namespace kgate::h1
