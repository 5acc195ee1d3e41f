// TLS 1.3 records as an authenticated client sends them after the handshake, into the records
// kgate protects itself (gateway/transport_records.cc, certs/tls13_records.cc): after a real
// handshake with an OpenSSL client over an AF_UNIX socketpair, each input record is sealed with
// the client's own traffic key, so the fuzzer reaches what follows authentication: content
// types, empty and padded records, KeyUpdates (split or not), alerts, and the limits on them.
// Input: one flags byte (bit 0: the server writes while it reads), then records of
// [type:1][length:2 big-endian][content]; type 0xff sends its content as raw bytes, unsealed
// (headers that lie, records cut short). The client's FIN ends every input.
#include <fcntl.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "certs/ca.h"
#include "certs/keys.h"
#include "certs/tls13_records.h"
#include "certs/tls_context.h"
#include "gateway/log.h"
#include "gateway/transport.h"
#include "test/fuzz/connection_driver.h"
#include "test/fuzz/fuzz_keys.h"

using namespace kgate;

namespace {

std::string clientSecretHex;  // CLIENT_TRAFFIC_SECRET_0 of the connection being made

SSL_CTX* serverContext() {
  static certs::SslContextPtr ctx = [] {
    auto cert = certs::createCaCert(fuzz::aliceKey(), "fuzz");
    if (!cert) std::abort();
    auto c = certs::makeServerContext({.certChainPem = certs::certToPem(**cert),
                                       .keyPem = certs::privateKeyToPem(fuzz::aliceKey())});
    if (!c) std::abort();
    return *c;
  }();
  return ctx->native_handle();
}

SSL_CTX* clientContext() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_keylog_callback(c, [](const SSL*, const char* line) {
      std::string_view text(line), label = "CLIENT_TRAFFIC_SECRET_0 ";
      if (text.substr(0, label.size()) == label) clientSecretHex = text.substr(text.rfind(' ') + 1);
    });
    return c;
  }();
  return ctx;
}

std::unique_ptr<certs::TrafficKey> clientKey(SSL* client) {
  std::array<uint8_t, 48> secret{};
  size_t size = 0;
  if (OPENSSL_hexstr2buf_ex(secret.data(), secret.size(), &size, clientSecretHex.c_str(), '\0') != 1)
    return nullptr;
  return certs::TrafficKey::make(SSL_CIPHER_get_id(SSL_get_current_cipher(client)),
                                 std::span(secret.data(), size), 0);
}

// The input as bytes on the wire: records sealed with the client's key, or raw.
std::string wireBytes(const uint8_t* data, size_t size, certs::TrafficKey& key) {
  std::string wire;
  for (size_t at = 1; at + 3 <= size;) {
    uint8_t type = data[at];
    size_t len = std::min<size_t>((size_t{data[at + 1]} << 8) | data[at + 2], size - at - 3);
    std::string_view content(reinterpret_cast<const char*>(data + at + 3), len);
    at += 3 + len;
    if (type == 0xff) {
      wire.append(content);
      continue;
    }
    content = content.substr(0, certs::kMaxRecordPlaintext);
    size_t start = wire.size();
    wire.resize(start + content.size() + certs::kRecordOverhead);
    if (!key.seal(static_cast<certs::RecordType>(type), std::span(&content, 1),
                  reinterpret_cast<uint8_t*>(wire.data() + start)))
      std::abort();
  }
  return wire;
}

// A named function, not a lambda: see h1_request.cc.
awaitable<void> serve(Transport& t, bool writeWhileReading, bool& done) {
  std::string buf(300, '\0');
  size_t got = 0;
  for (;;) {
    auto [ec, n] = co_await t.readSome(buf.data(), buf.size());
    if (ec) break;
    got += n;
    std::string answer(got % 40000, 'a');  // sometimes more than the socket takes at once
    if (writeWhileReading && co_await t.writeAll("answer ", answer)) break;
  }
  t.close(true);
  done = true;
}

awaitable<void> handshake(Transport& t, bool& ok) { ok = !co_await t.handshake(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  log::setLevel(log::Level::Error);
  ::signal(SIGPIPE, SIG_IGN);
  if (size < 1) return 0;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  net::io_context io;
  tcp::socket socket(io);
  socket.assign(tcp::v4(), fds[0]);
  Transport server(std::move(socket), serverContext(), Transport::Role::Server);
  server.ownRecordsAfterHandshake();
  SSL* client = SSL_new(clientContext());
  SSL_set_fd(client, fds[1]);
  SSL_set_connect_state(client);
  clientSecretHex.clear();

  bool serverDone = false, serverOk = false;
  net::co_spawn(io, handshake(server, serverOk), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    serverDone = true;
  });
  bool clientOk = false;
  for (int i = 0; i < 1000 && !(serverDone && clientOk); ++i) {
    if (!clientOk) clientOk = SSL_do_handshake(client) == 1;
    io.poll();
  }
  if (!serverOk || !clientOk || !server.ownsRecords()) std::abort();

  io.restart();  // it ran out of work when the handshake ended
  auto key = clientKey(client);
  if (!key) std::abort();
  std::string wire = wireBytes(data, size, *key);
  bool done = false;
  net::co_spawn(io, serve(server, data[0] & 1, done), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  for (size_t off = 0; off < wire.size() && !done;) {
    ssize_t n = ::send(fds[1], wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) break;  // the server closed: it refused what came
    if (n > 0) off += static_cast<size_t>(n);
    size_t ran = io.poll();
    if (fuzz::drainPeer(fds[1]) == 0 && ran == 0 && n <= 0) break;  // the EOF below decides
  }
  fuzz::finishAfterEof(io, fds[1], done);
  SSL_free(client);
  ::close(fds[1]);
  return 0;
}
