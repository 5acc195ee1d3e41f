// A request's HTTP/2 field section into http::RequestHead (gateway/h2/request_fields.h): what
// is kept, and what RFC 9113 sections 8.2-8.3 make a malformed request.
#include "gateway/h2/request_fields.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>
#include <utility>
#include <vector>

#include "support/h2_raw_client.h"
#include "support/hpack_oracle.h"

namespace kgate::h2 {
namespace {

using FieldList = std::vector<std::pair<std::string, std::string>>;

const FieldList kGet = {{":method", "GET"}, {":scheme", "https"}, {":authority", "bob:8080"},
                        {":path", "/x?y=1"}};

FieldList with(FieldList fields, const FieldList& more) {
  fields.insert(fields.end(), more.begin(), more.end());
  return fields;
}

// kGet with one field's value changed, or without it: each malformed case differs from a
// sound request in one thing only, so that nghttp2's verdict is about that thing.
FieldList replaced(const std::string& name, const std::string& value) {
  FieldList f = kGet;
  for (auto& [n, v] : f)
    if (n == name) v = value;
  return f;
}
FieldList without(const std::string& name) {
  FieldList f;
  for (const auto& field : kGet)
    if (field.first != name) f.push_back(field);
  return f;
}

struct Outcome {
  RequestFields::Verdict verdict;
  std::string problem;
  http::RequestHead head;
};

Outcome request(const FieldList& fields, uint32_t maxBytes = 64 * 1024, uint32_t maxCount = 100) {
  Outcome o;
  RequestFields sink(o.head, maxBytes, maxCount);
  for (const auto& [n, v] : fields) sink.onField(n, v, false);
  o.verdict = sink.finish();
  o.problem = std::string(sink.problem());
  return o;
}

// Whether nghttp2's server, as kgate configures none of its HTTP checks away, takes the
// request (rather than resetting its stream or the connection): the verdicts kgate's own
// checks must match, since they replace those.
bool nghttp2Takes(const FieldList& fields) {
  namespace raw = kgate::test::h2;
  std::string block;
  for (const auto& [n, v] : fields) block += raw::hpackLiteral(n, v);
  std::string in = std::string(raw::kPreface) + raw::settingsFrame() +
                   raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream, 1, block);
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      cbs, [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
        if (frame->hd.type == NGHTTP2_HEADERS) *static_cast<bool*>(user) = true;
        return 0;
      });
  bool took = false;
  nghttp2_session* session = nullptr;
  nghttp2_session_server_new(&session, cbs, &took);
  ssize_t rv = nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(in.data()),
                                        in.size());
  nghttp2_session_del(session);
  nghttp2_session_callbacks_del(cbs);
  return rv == static_cast<ssize_t>(in.size()) && took;
}

TEST(RequestFields, ARequestIsKeptAsTheProxyExpectsIt) {
  Outcome o = request(with(kGet, {{"user-agent", "curl"},
                                  {"cookie", "a=1"},
                                  {"accept", "*/*"},
                                  {"cookie", "b=2"},
                                  {"te", "trailers"},
                                  {"content-length", "5"},
                                  {"host", "ignored:1"},
                                  {"trailer", "x-checksum"}}));
  ASSERT_EQ(o.verdict, RequestFields::Verdict::Ok) << o.problem;
  EXPECT_EQ(o.head.method, "GET");
  EXPECT_EQ(o.head.scheme, "https");
  EXPECT_EQ(o.head.authority, "bob:8080");
  EXPECT_EQ(o.head.path, "/x?y=1");
  EXPECT_EQ(o.head.contentLength, 5u);
  EXPECT_TRUE(o.head.trailersAllowed);
  ASSERT_EQ(o.head.headers.size(), 3u);  // host, te, content-length, trailer: not fields
  EXPECT_EQ(o.head.headers.get("user-agent"), "curl");
  EXPECT_EQ(o.head.headers.get("cookie"), "a=1; b=2");  // RFC 9113 8.2.3, for HTTP/1.1
  EXPECT_EQ(o.head.headers.get("accept"), "*/*");
}

TEST(RequestFields, HostNamesTheAuthorityOnlyWhenItIsMissing) {
  Outcome o = request({{":method", "GET"}, {":scheme", "http"}, {":path", "/"},
                       {"host", "alice.svc"}});
  ASSERT_EQ(o.verdict, RequestFields::Verdict::Ok) << o.problem;
  EXPECT_EQ(o.head.authority, "alice.svc");
  EXPECT_FALSE(o.head.headers.has("host"));
}

TEST(RequestFields, ConnectNeedsOnlyAnAuthority) {
  // kgate answers it 405 (no tunnels), as with nghttp2: it is well formed.
  EXPECT_EQ(request({{":method", "CONNECT"}, {":authority", "bob:443"}}).verdict,
            RequestFields::Verdict::Ok);
}

TEST(RequestFields, MalformedRequestsAreRefused) {
  struct Case {
    const char* what;
    FieldList fields;
    bool nghttp2Refuses = true;  // false where kgate is the stricter, on purpose
  };
  const Case cases[] = {
      {"upper case name", with(kGet, {{"User-Agent", "x"}})},
      {"space in a name", with(kGet, {{"user agent", "x"}})},
      {"colon in a name", with(kGet, {{"x:y", "x"}})},
      {"NUL in a name", with(kGet, {{std::string("x\0y", 3), "x"}})},
      {"empty name", with(kGet, {{"", "x"}})},
      {"CR in a value", with(kGet, {{"x-a", "1\r\nx-b: 2"}})},
      {"LF in a value", with(kGet, {{"x-a", "1\n2"}})},
      {"NUL in a value", with(kGet, {{"x-a", std::string("1\0" "2", 3)}})},
      {"DEL in a value", with(kGet, {{"x-a", "1\x7f"}})},
      {"value starting with a space", with(kGet, {{"x-a", " 1"}})},
      {"value ending with a tab", with(kGet, {{"x-a", "1\t"}})},
      {"connection", with(kGet, {{"connection", "close"}})},
      {"keep-alive", with(kGet, {{"keep-alive", "timeout=5"}})},
      {"proxy-connection", with(kGet, {{"proxy-connection", "close"}})},
      {"transfer-encoding", with(kGet, {{"transfer-encoding", "chunked"}})},
      {"upgrade", with(kGet, {{"upgrade", "h2c"}})},
      {"te other than trailers", with(kGet, {{"te", "gzip"}})},
      {"content-length not a number", with(kGet, {{"content-length", "5x"}})},
      {"content-length negative", with(kGet, {{"content-length", "-1"}})},
      {"content-length twice", with(kGet, {{"content-length", "5"}, {"content-length", "5"}})},
      {"an unknown pseudo-header", with(kGet, {{":foo", "x"}})},
      {":protocol (no extended CONNECT)", with(kGet, {{":protocol", "websocket"}})},
      {":method twice", with(kGet, {{":method", "POST"}})},
      {"pseudo-header after a field", with({{"x-a", "1"}}, kGet)},
      {"empty :path", replaced(":path", "")},
      {"space in :path", replaced(":path", "/a b")},
      {"invalid :method", replaced(":method", "GE T")},
      {"empty :authority", replaced(":authority", "")},
      {"space in :authority", replaced(":authority", "a b")},
      // RFC 9113 section 8.3.1 forbids it; nghttp2 1.52 lets it through, kgate's HTTP/1.1
      // side refuses it in an absolute-form target too.
      {"userinfo in :authority", replaced(":authority", "user@bob:8080"), false},
      {"a path in :authority", replaced(":authority", "bob/x")},
      {"no :method", without(":method")},
      {"no :path", without(":path")},
      {"no :scheme", without(":scheme")},
      {"no :authority or host", without(":authority")},
      {"space in host", with(without(":authority"), {{"host", "a b"}})},
      {"empty host", with(without(":authority"), {{"host", ""}})},
      {"host twice", with(without(":authority"), {{"host", "a"}, {"host", "a"}})},
      {"CONNECT with a :path", {{":method", "CONNECT"}, {":authority", "b:1"}, {":path", "/"}}},
      {"CONNECT without :authority", {{":method", "CONNECT"}}},
  };
  for (const auto& c : cases) {
    Outcome o = request(c.fields);
    EXPECT_EQ(o.verdict, RequestFields::Verdict::Malformed) << c.what;
    EXPECT_FALSE(o.problem.empty()) << c.what;
    EXPECT_EQ(nghttp2Takes(c.fields), !c.nghttp2Refuses) << c.what << ": nghttp2's verdict";
  }
}

TEST(RequestFields, Nghttp2TakesWhatIsKept) {
  const FieldList sound[] = {
      kGet,
      with(kGet, {{"cookie", "a=1"}, {"cookie", "b=2"}, {"te", "trailers"}}),
      with(kGet, {{"content-length", "0"}, {"x-empty", ""}, {"x-inner", "a \t b"}}),
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "alice.svc"}},
      {{":method", "CONNECT"}, {":authority", "bob:443"}},
      with(kGet, {{"x-obs-text", "caf\xc3\xa9"}}),
      with(kGet, {{"te", "Trailers"}}),         // a case-insensitive token (RFC 9110)
      with(kGet, {{"host", "other.example"}}),  // :authority wins, as with nghttp2
  };
  for (const auto& fields : sound) {
    EXPECT_EQ(request(fields).verdict, RequestFields::Verdict::Ok) << fields.back().first;
    EXPECT_TRUE(nghttp2Takes(fields)) << fields.back().first;
  }
}

TEST(RequestFields, LimitsMakeItTooLargeAndMalformedBeforeThemComesFirst) {
  // RFC 9113's count: name + value + 32 per field, pseudo-headers included.
  FieldList big = with(kGet, {{"x-big", std::string(200, 'v')}});
  EXPECT_EQ(request(big, 300).verdict, RequestFields::Verdict::TooLarge);
  EXPECT_EQ(request(big, 4096).verdict, RequestFields::Verdict::Ok);
  FieldList many = kGet;
  for (int i = 0; i < 5; ++i) many.push_back({"x-" + std::to_string(i), "v"});
  EXPECT_EQ(request(many, 64 * 1024, 4).verdict, RequestFields::Verdict::TooLarge);
  EXPECT_EQ(request(many, 64 * 1024, 5).verdict, RequestFields::Verdict::Ok);
  // Fields past the size limit are only counted (an HPACK bomb names the same large entry
  // thousands of times): the answer is 431 whatever they hold. Before it they are checked.
  EXPECT_EQ(request(with(big, {{"connection", "close"}}), 300).verdict,
            RequestFields::Verdict::TooLarge);
  EXPECT_EQ(request(with(kGet, {{"connection", "close"}, {"x-big", std::string(200, 'v')}}), 300)
                .verdict,
            RequestFields::Verdict::Malformed);
}

TEST(RequestFields, TrailersHaveNoPseudoHeadersOrLength) {
  http::Headers trailers;
  RequestFields sink(trailers, 64 * 1024, 100, 0);
  sink.onField("grpc-status", "0", false);
  sink.onField("trailer", "x", false);
  sink.onField("cookie", "a=1", false);
  sink.onField("cookie", "b=2", false);
  EXPECT_EQ(sink.finish(), RequestFields::Verdict::Ok);
  ASSERT_EQ(trailers.size(), 3u);  // the hop-by-hop trailer field left out
  EXPECT_EQ(trailers.get("grpc-status"), "0");

  for (auto [name, value] : FieldList{{":path", "/"}, {"connection", "close"},
                                      {"content-length", "5"}}) {
    http::Headers more;
    RequestFields refused(more, 64 * 1024, 100, 0);
    refused.onField(name, value, false);
    EXPECT_EQ(refused.finish(), RequestFields::Verdict::Malformed) << name;
  }
}

TEST(RequestFields, HeadAndTrailersShareTheByteLimit) {
  http::RequestHead head;
  RequestFields first(head, 300, 100);
  for (const auto& [n, v] : kGet) first.onField(n, v, false);  // 179 bytes
  ASSERT_EQ(first.finish(), RequestFields::Verdict::Ok);
  http::Headers trailers;
  RequestFields then(trailers, 300, 100, first.bytes());
  then.onField("x-checksum", std::string(100, 'c'), false);  // 142 more: 321
  EXPECT_EQ(then.finish(), RequestFields::Verdict::TooLarge);
}

TEST(RequestFields, FromABlockThroughTheDecoder) {
  // A block as a client's nghttp2 codes it, through kgate's decoder into the head.
  FieldList fields = with(kGet, {{"kuscia-source", "alice"}, {"cookie", "a=1"},
                                 {"cookie", "b=2"}});
  test::HeaderFields sent;
  for (const auto& [n, v] : fields) sent.push_back({n, v});
  nghttp2_hd_deflater* deflater = nullptr;
  ASSERT_EQ(nghttp2_hd_deflate_new(&deflater, 4096), 0);
  std::string block;
  bool deflated = test::nghttp2Deflate(deflater, sent, block);
  nghttp2_hd_deflate_del(deflater);
  ASSERT_TRUE(deflated);
  ASSERT_FALSE(block.empty());

  hpack::Decoder decoder;
  http::RequestHead head;
  RequestFields sink(head, 64 * 1024, 100);
  ASSERT_EQ(decoder.decode(block, sink), hpack::DecodeError::None);
  ASSERT_EQ(sink.finish(), RequestFields::Verdict::Ok) << sink.problem();
  EXPECT_EQ(head.path, "/x?y=1");
  EXPECT_EQ(head.authority, "bob:8080");
  EXPECT_EQ(head.headers.get("kuscia-source"), "alice");
  EXPECT_EQ(head.headers.get("cookie"), "a=1; b=2");
}

}  // namespace
}  // namespace kgate::h2
