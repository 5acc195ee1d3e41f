// kgate's own HTTP/2 server connection (gateway/h2/server_connection.h) against nghttp2's
// client, in memory: many concurrent requests with bodies and trailers, both sides' windows
// small enough to be used up and reopened many times. nghttp2 checks every frame kgate sends.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <string>
#include <vector>

#include "gateway/h2/server_connection.h"
#include "server_connection_recorder.h"

namespace kgate::h2 {
namespace {

using testing::Recorder;

struct Response {
  std::string status;
  std::map<std::string, std::string> fields;
  std::string body;
  bool closed = false;
  uint32_t code = 0;
};

struct Upload {
  std::string body;
  size_t sent = 0;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// nghttp2's client session, fed and drained in memory.
class Nghttp2Client {
 public:
  explicit Nghttp2Client(uint32_t initialWindow) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &onData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &onClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &onFrame);
    nghttp2_session_client_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, initialWindow},
                                   {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 20000}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 2);
  }
  ~Nghttp2Client() { nghttp2_session_del(session_); }

  int32_t request(const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> extra, Upload* upload) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {":method", method}, {":scheme", "https"}, {":authority", "a.test"}, {":path", path}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields)
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    provider.source.ptr = upload;
    provider.read_callback = &readUpload;
    return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                  upload ? &provider : nullptr, nullptr);
  }
  std::string send() {
    std::string out;
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0)
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    EXPECT_GE(n, 0);
    return out;
  }
  void receive(const std::string& bytes) {
    ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size());
    ASSERT_EQ(n, static_cast<ssize_t>(bytes.size())) << nghttp2_strerror(static_cast<int>(n));
  }

  std::map<int32_t, Response> responses;
  bool goaway = false;

 private:
  static ssize_t readUpload(nghttp2_session* s, int32_t id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* u = static_cast<Upload*>(source->ptr);
    size_t n = std::min(length, u->body.size() - u->sent);
    std::copy_n(u->body.data() + u->sent, n, buf);
    u->sent += n;
    if (u->sent == u->body.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!u->trailers.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (auto& [n, v] : u->trailers)
          nva.push_back({reinterpret_cast<uint8_t*>(n.data()),
                         reinterpret_cast<uint8_t*>(v.data()), n.size(), v.size(),
                         NGHTTP2_NV_FLAG_NONE});
        nghttp2_submit_trailer(s, id, nva.data(), nva.size());
      }
    }
    return static_cast<ssize_t>(n);
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t nlen,
                      const uint8_t* value, size_t vlen, uint8_t, void* user) {
    auto& r = static_cast<Nghttp2Client*>(user)->responses[f->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), nlen);
    std::string v(reinterpret_cast<const char*>(value), vlen);
    if (n == ":status") r.status = v;
    else r.fields[n] = v;
    return 0;
  }
  static int onData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* user) {
    static_cast<Nghttp2Client*>(user)->responses[id].body.append(
        reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int onClose(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    auto& r = static_cast<Nghttp2Client*>(user)->responses[id];
    r.closed = true;
    r.code = code;
    return 0;
  }
  static int onFrame(nghttp2_session*, const nghttp2_frame* f, void* user) {
    if (f->hd.type == NGHTTP2_GOAWAY) static_cast<Nghttp2Client*>(user)->goaway = true;
    return 0;
  }
  nghttp2_session* session_ = nullptr;
};

// The owner's part, as a session would play it: read every body as it comes (consume), answer
// each whole request with its own body echoed plus `extra` bytes, sent as the windows allow.
class EchoOwner {
 public:
  EchoOwner(ServerConnection& conn, Recorder& rec, size_t extra)
      : conn_(conn), rec_(rec), extra_(extra) {}

  void step() {
    for (auto& [id, r] : rec_.streams) {
      Reply& reply = replies_[id];
      if (r.body.size() > reply.consumed) {
        conn_.consume(id, r.body.size() - reply.consumed);
        reply.consumed = r.body.size();
      }
      if (r.closed || !r.ended) continue;
      if (!reply.started) {
        reply.body = r.body + std::string(extra_, 'r');
        http::Headers fields;
        fields.add("x-trailer-seen", r.trailers.get("x-check"));
        fields.add("x-cookie", r.head.headers.get("cookie"));
        std::string length = std::to_string(reply.body.size());
        ASSERT_TRUE(conn_.sendResponse(id, 200, fields, length, reply.body.empty()));
        reply.started = true;
      }
      while (reply.sent < reply.body.size()) {
        size_t n = std::min(conn_.sendable(id), reply.body.size() - reply.sent);
        if (n == 0) break;
        bool end = reply.sent + n == reply.body.size();
        ASSERT_TRUE(conn_.sendData(id, std::string_view(reply.body).substr(reply.sent, n), end));
        reply.sent += n;
      }
    }
  }

 private:
  struct Reply {
    size_t consumed = 0;
    bool started = false;
    std::string body;
    size_t sent = 0;
  };
  ServerConnection& conn_;
  Recorder& rec_;
  size_t extra_;
  std::map<uint32_t, Reply> replies_;
};

TEST(H2ServerConnectionInterop, ManyStreamsThroughSmallWindowsBothWays) {
  ServerSettings settings;
  settings.streamWindow = 65535;
  settings.connectionWindow = 100000;
  settings.maxConcurrentStreams = 100;
  Recorder rec;
  ServerConnection conn(rec, settings);
  Nghttp2Client client(/*initialWindow=*/20000);
  EchoOwner owner(conn, rec, /*extra=*/70000);

  std::vector<Upload> uploads(30);
  std::map<int32_t, size_t> uploadOf;
  for (size_t i = 0; i < uploads.size(); ++i) {
    Upload& u = uploads[i];
    bool get = i % 5 == 4;
    if (!get) u.body.assign(i * 9973 % 250000, static_cast<char>('a' + i % 26));
    if (i % 3 == 0 && !get) u.trailers = {{"x-check", "t" + std::to_string(i)}};
    std::vector<std::pair<std::string, std::string>> extra = {
        {"cookie", "a=1"}, {"cookie", "b=" + std::to_string(i)}, {"te", "trailers"}};
    if (i % 3 != 0 && !get) extra.push_back({"content-length", std::to_string(u.body.size())});
    int32_t id = get ? client.request("GET", "/g" + std::to_string(i), extra, nullptr)
                            : client.request("POST", "/p" + std::to_string(i), extra, &u);
    ASSERT_GT(id, 0);
    uploadOf[id] = i;
  }

  std::string pending;
  int quiet = 0;
  for (int round = 0; round < 100000 && quiet < 2; ++round) {
    std::string c2s = client.send();
    pending += c2s;
    pending.erase(0, conn.receive(pending));
    ASSERT_FALSE(conn.failure()) << conn.failure().why;
    owner.step();
    std::string s2c;
    conn.take(s2c);
    client.receive(s2c);
    quiet = c2s.empty() && s2c.empty() ? quiet + 1 : 0;
  }
  EXPECT_FALSE(client.goaway);
  EXPECT_EQ(conn.openStreams(), 0u);
  ASSERT_EQ(rec.streams.size(), uploads.size());
  for (auto& [id, i] : uploadOf) {
    SCOPED_TRACE("stream " + std::to_string(id));
    const Upload& u = uploads[i];
    const auto& r = rec.streams[static_cast<uint32_t>(id)];
    EXPECT_EQ(r.head.path, (i % 5 == 4 ? "/g" : "/p") + std::to_string(i));
    EXPECT_EQ(r.head.headers.get("cookie"), "a=1; b=" + std::to_string(i));
    EXPECT_TRUE(r.head.trailersAllowed);
    EXPECT_EQ(r.body.size(), u.body.size());
    EXPECT_TRUE(r.body == u.body);
    EXPECT_EQ(r.closed, frames::ErrorCode::NoError);
    Response& resp = client.responses[id];
    EXPECT_TRUE(resp.closed);
    EXPECT_EQ(resp.code, 0u);
    EXPECT_EQ(resp.status, "200");
    EXPECT_EQ(resp.body.size(), u.body.size() + 70000);
    EXPECT_TRUE(resp.body.starts_with(u.body));
    EXPECT_EQ(resp.fields["content-length"], std::to_string(u.body.size() + 70000));
    EXPECT_EQ(resp.fields["x-trailer-seen"], u.trailers.empty() ? "" : u.trailers[0].second);
  }
}

}  // namespace
}  // namespace kgate::h2
