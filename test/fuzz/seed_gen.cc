// Writes the seeds that need the project's own code to make: HTTP/2 frames (from an nghttp2
// client session), handshake requests and replies with tokens encrypted to the fixed keys, and
// registration requests with a real CSR and JWT. The committed seeds came from it; run it again
// after a wire format changes:
//   cmake --build build --target fuzz_seed_gen && build/test/fuzz/fuzz_seed_gen test/fuzz/corpus
// The HTTP/1.1, admin and config seeds are written by hand.
#include <nghttp2/nghttp2.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "auth/handshake.h"
#include "auth/register_wire.h"
#include "certs/ca.h"
#include "test/fuzz/fuzz_keys.h"

using namespace kgate;
namespace fs = std::filesystem;

namespace {

fs::path outDir;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(outDir / target);
  std::ofstream(outDir / target / name, std::ios::binary) << bytes;
}

template <class T>
T must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "seed_gen: %s\n", r.error().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// --- HTTP/2: a client session whose output, minus the preface, is a seed.
struct H2Client {
  nghttp2_session* s = nullptr;
  std::string body;  // what the data provider sends
  size_t sent = 0;

  H2Client() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_client_new(&s, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() { nghttp2_session_del(s); }

  int32_t request(const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> extra, std::string data = {},
                  bool trailers = false) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", method}, {":scheme", "http"}, {":authority", "echo.bob.svc"}, {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : h)
      nva.push_back({(uint8_t*)n.data(), (uint8_t*)v.data(), n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    body = std::move(data);
    sent = 0;
    nghttp2_data_provider p{};
    p.source.ptr = this;
    p.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                         nghttp2_data_source* src, void*) -> ssize_t {
      auto* c = static_cast<H2Client*>(src->ptr);
      size_t n = std::min(len, c->body.size() - c->sent);
      std::memcpy(buf, c->body.data() + c->sent, n);
      c->sent += n;
      if (c->sent == c->body.size()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (c->withTrailers) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    };
    withTrailers = trailers;
    bool hasBody = !body.empty();
    int32_t id = nghttp2_submit_request(s, nullptr, nva.data(), nva.size(), hasBody ? &p : nullptr, nullptr);
    if (hasBody && trailers) {
      nghttp2_nv t = {(uint8_t*)"x-checksum", (uint8_t*)"abc", 10, 3, NGHTTP2_NV_FLAG_NONE};
      nghttp2_submit_trailer(s, id, &t, 1);
    }
    flush();  // the provider points at this->body: send it before the next request
    return id;
  }

  std::string out;
  bool withTrailers = false;
  void flush() {
    const uint8_t* d;
    for (ssize_t n; (n = nghttp2_session_mem_send(s, &d)) > 0;) out.append((const char*)d, n);
  }
  std::string frames() {
    flush();
    return out.substr(24);  // after "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
  }
};

void h2Seeds() {
  {  // a GET answered at once ("/" -> the handler's early answer)
    H2Client c;
    c.request("GET", "/", {{"kuscia-source", "alice"}, {"cookie", "a=1"}, {"cookie", "b=2"}});
    write("h2_session", "get", c.frames());
  }
  {  // a POST whose body the handler reads whole ("/upload/", 8 characters)
    H2Client c;
    c.request("POST", "/upload/", {{"content-type", "application/json"}, {"content-length", "300"}},
              std::string(300, 'x'));
    write("h2_session", "post", c.frames());
  }
  {  // a gRPC-style call with request trailers, answered with trailers (14 characters)
    H2Client c;
    c.request("POST", "/grpc.Echo/Say", {{"te", "trailers"}, {"content-type", "application/grpc"}},
              std::string(40, 'g'), true);
    write("h2_session", "trailers", c.frames());
  }
  {  // more body than the session's 4 KiB window: a flow-control error
    H2Client c;
    c.request("PUT", "/upload/", {}, std::string(6000, 'w'));
    write("h2_session", "window", c.frames());
  }
  {  // several streams, a PING, a reset stream, a window update and a GOAWAY
    H2Client c;
    c.request("GET", "/ab", {});  // aborted by the handler
    int32_t two = c.request("POST", "/upload/", {}, std::string(100, 'p'));
    c.request("GET", "/x", {{"x-many", std::string(200, 'h')}});
    nghttp2_submit_ping(c.s, NGHTTP2_FLAG_NONE, nullptr);
    nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, 0, 1000);
    nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, two, NGHTTP2_CANCEL);
    nghttp2_submit_goaway(c.s, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
    write("h2_session", "mixed", c.frames());
  }
  {  // a header block over the 2 KiB limit: 431
    H2Client c;
    std::vector<std::pair<std::string, std::string>> many;
    for (int i = 0; i < 20; ++i) many.push_back({"x-h" + std::to_string(i), std::string(150, 'v')});
    c.request("GET", "/", many);
    write("h2_session", "big_headers", c.frames());
  }
}

// --- The handshake: alice (source) and bob (destination).
void handshakeSeeds() {
  const int64_t now = fuzz::kSeedTime * 1'000'000'000;
  auto bobPublic = must(certs::publicKeyFromPem(certs::publicKeyToPem(fuzz::bobKey(), true)));
  auto started = must(auth::startHandshake("alice", fuzz::alicePublicPem(), *bobPublic, 3, now));
  write("handshake_json", "request", auth::encodeHandshakeRequest(started.request));
  auth::HandshakeRequest next = started.request;
  next.revision = 9;
  write("handshake_json", "request_newer", auth::encodeHandshakeRequest(next));
  auth::HandshakeRequest uid = started.request;
  uid.type = "UID";
  uid.pubhash = "bm90IHRoZSBoYXNo";
  write("handshake_json", "request_uid", auth::encodeHandshakeRequest(uid));
  write("handshake_json", "request_no_config",
        R"({"domain_id":"alice","type":"RSA","request_time":1750000000000000000})");

  // The reply to a source whose secret is 16 x 'S' (the target's assumption).
  auto alicePublic = must(certs::publicKeyFromPem(fuzz::alicePublicPem()));
  auth::HandshakeReply reply{0, "", must(auth::kusciaEncrypt(*alicePublic, std::string(16, 'D'))),
                             now + 172800LL * 1'000'000'000, 4};
  write("handshake_json", "reply", auth::encodeHandshakeReply(reply));
  write("handshake_json", "reply_error",
        auth::encodeHandshakeReply({500, "source domain [alice] publickey hash mismatch", "", 0, 0}));
}

// --- Registration: alice's request with a real CSR and JWT, and a master's reply.
void registerSeeds() {
  auto req = must(auth::buildRegisterRequest(fuzz::aliceKey(), "alice",
                                             "k7Qz2mYp4RbV9sXc3nWd8fGh5jLt6uEa",
                                             fuzz::kSeedTime * 1'000'000'000, fuzz::kSeedTime));
  write("register_request", "request", req.body + "\n" + req.jwt);
  // Kuscia omits a zero request_time (omitempty); the hash then covers 0.
  auto zero = must(auth::buildRegisterRequest(fuzz::aliceKey(), "alice",
                                              "k7Qz2mYp4RbV9sXc3nWd8fGh5jLt6uEa", 0, fuzz::kSeedTime));
  std::string body = zero.body;
  if (auto at = body.find(",\"request_time\":0"); at != std::string::npos)
    body.erase(at, std::string(",\"request_time\":0").size());
  write("register_request", "request_no_time", body + "\n" + zero.jwt);
  // bob's CSR with alice's JWT: the signature must not verify with the CSR's key.
  auto bob = must(auth::buildRegisterRequest(fuzz::bobKey(), "bob", "m3Nb8vCx2zLk5jHg9fDs4aQw7eRt6yUi",
                                             fuzz::kSeedTime * 1'000'000'000, fuzz::kSeedTime));
  write("register_request", "request_wrong_signer", bob.body + "\n" + req.jwt);
  auto ca = must(certs::createCaCert(fuzz::bobKey(), "Kuscia"));
  certs::CertSpec spec;
  spec.commonName = "alice";
  spec.clientAuth = true;
  auto cert = must(certs::issueCert(*ca, fuzz::bobKey(), fuzz::aliceKey(), spec));
  std::string reply = std::string("{\"cert\":\"") + certs::base64Encode(certs::certToPem(*cert)) +
                      "\",\"master_pubkey\":\"" +
                      certs::base64Encode(certs::publicKeyToPem(fuzz::bobKey(), true)) +
                      "\",\"ca\":\"" + certs::base64Encode(certs::certToPem(*ca)) + "\"}";
  write("register_request", "reply", reply);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seed_gen <corpus directory>\n");
    return 2;
  }
  outDir = argv[1];
  h2Seeds();
  handshakeSeeds();
  registerSeeds();
  return 0;
}
