// kgate_test_upstream: the "local service" that integration tests put behind a gateway.
// One io_context on a few threads, one coroutine per connection on its own strand. Bodies are
// streamed in fixed-size pieces (buffer_body) so memory stays flat for GiB transfers.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sha256.h"

using kgate::test::Sha256;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kPiece = 64 * 1024;
constexpr size_t kPatternPeriod = 251;
constexpr size_t kPatternSpan = kPatternPeriod * 261;  // largest multiple of 251 below 64 KiB

// byte i of every pattern body is i % 251; any window of kPatternSpan bytes starting at
// offset % 251 is a contiguous slice of this table, so no per-piece copying is needed.
const std::vector<char>& patternTable() {
  static const std::vector<char> table = [] {
    std::vector<char> t(kPatternSpan + kPatternPeriod);
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<char>(i % kPatternPeriod);
    return t;
  }();
  return table;
}

struct Config {
  std::string name = "upstream";
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> unaskedSent{0};  // /unasked: responses sent to nothing
};


std::string jsonEscape(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc() && r.ptr == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percentDecode(part), "");
    } else {
      out.emplace_back(percentDecode(part.substr(0, eq)), percentDecode(part.substr(eq + 1)));
    }
  }
  return out;
}

template <typename T>
std::optional<T> parseNumber(std::string_view s) {
  T v{};
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// One accepted connection; lives in the session coroutine's frame.
struct Conn {
  tcp::socket sock;
  beast::flat_buffer buf;
  std::optional<http::request_parser<http::buffer_body>> parser;
  Config& cfg;

  http::request<http::buffer_body>& req() { return parser->get(); }
  bool http10() { return req().version() < 11; }
};

struct BodyDigest {
  uint64_t bytes = 0;
  std::string sha256;
};

// curl (and proxies) send "Expect: 100-continue" for uploads; answer it before reading.
awaitable<bool> maybeContinue(Conn& c) {
  if (c.parser->is_done()) co_return true;
  auto expect = c.req()[http::field::expect];
  if (!beast::iequals(expect, "100-continue")) co_return true;
  static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  auto [ec, n] = co_await asio::async_write(c.sock, asio::buffer(kContinue), kTuple);
  co_return !ec;
}

// Reads the rest of the request body through SHA-256; nullopt if the connection failed.
awaitable<std::optional<BodyDigest>> readBody(Conn& c) {
  if (!co_await maybeContinue(c)) co_return std::nullopt;
  Sha256 sha;
  BodyDigest d;
  std::vector<char> piece(kPiece);
  while (!c.parser->is_done()) {
    c.req().body().data = piece.data();
    c.req().body().size = piece.size();
    auto [ec, n] = co_await http::async_read_some(c.sock, c.buf, *c.parser, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return std::nullopt;
    size_t got = piece.size() - c.req().body().size;
    sha.update(piece.data(), got);
    d.bytes += got;
  }
  d.sha256 = sha.hex();
  co_return d;
}

// Sends a small, fully buffered answer. Returns whether the connection may be reused.
awaitable<bool> sendSimple(Conn& c, unsigned status, std::string contentType, std::string body,
                           const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  http::response<http::string_body> res;
  res.version(c.req().version());
  res.result(status);
  res.set(http::field::server, "kgate-test-upstream");
  if (!contentType.empty()) res.set(http::field::content_type, contentType);
  for (auto& [k, v] : extra) res.insert(k, v);
  res.keep_alive(c.req().keep_alive());
  bool noBody = status == 204 || status == 304;
  if (!noBody) res.body() = std::move(body);
  res.prepare_payload();
  if (c.req().method() == http::verb::head) {  // same headers, no body
    http::response_serializer<http::string_body> sr(res);
    auto [ec, n] = co_await http::async_write_header(c.sock, sr, kTuple);
    co_return !ec && res.keep_alive();
  }
  auto [ec, n] = co_await http::async_write(c.sock, res, kTuple);
  co_return !ec && res.keep_alive();
}

// Writes a response whose body is produced piece by piece.
class StreamWriter {
 public:
  StreamWriter(Conn& c, std::optional<uint64_t> contentLength, std::string contentType)
      : c_(c), headOnly_(c.req().method() == http::verb::head) {
    res_.version(c.req().version());
    res_.result(http::status::ok);
    res_.set(http::field::server, "kgate-test-upstream");
    res_.set(http::field::content_type, contentType);
    if (contentLength) {
      res_.content_length(*contentLength);
      res_.keep_alive(c.req().keep_alive());
    } else if (!c.http10()) {
      res_.chunked(true);
      res_.keep_alive(c.req().keep_alive());
    } else {
      res_.keep_alive(false);  // HTTP/1.0 has no chunking: the body ends at close
    }
    sr_.emplace(res_);
  }
  bool keepAlive() const { return res_.keep_alive(); }
  bool headOnly() const { return headOnly_; }

  awaitable<bool> header() {
    auto [ec, n] = co_await http::async_write_header(c_.sock, *sr_, kTuple);
    co_return !ec;
  }
  awaitable<bool> piece(const void* data, size_t size) {
    if (size == 0 || headOnly_) co_return true;  // an empty chunk would end a chunked body
    res_.body().data = const_cast<void*>(data);
    res_.body().size = size;
    res_.body().more = true;
    auto [ec, n] = co_await http::async_write(c_.sock, *sr_, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    co_return !ec;
  }
  awaitable<bool> finish() {
    if (headOnly_) co_return true;
    res_.body().data = nullptr;
    res_.body().size = 0;
    res_.body().more = false;
    auto [ec, n] = co_await http::async_write(c_.sock, *sr_, kTuple);
    co_return !ec;
  }

 private:
  Conn& c_;
  bool headOnly_;
  http::response<http::buffer_body> res_;
  std::optional<http::response_serializer<http::buffer_body>> sr_;
};

// Writes `n` pattern bytes starting at pattern offset 0, in pieces of at most `chunk`.
awaitable<bool> writePattern(Conn& c, StreamWriter& w, uint64_t n, size_t chunk, int delayMs) {
  const auto& table = patternTable();
  asio::steady_timer timer(c.sock.get_executor());
  chunk = std::clamp<size_t>(chunk, 1, kPatternSpan);
  for (uint64_t off = 0; off < n && !w.headOnly();) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(chunk, n - off));
    if (!co_await w.piece(table.data() + off % kPatternPeriod, len)) co_return false;
    off += len;
    if (delayMs > 0 && off < n) {
      timer.expires_after(std::chrono::milliseconds(delayMs));
      co_await timer.async_wait(kTuple);
    }
  }
  co_return true;
}

void resetConnection(Conn& c) {
  beast::error_code ec;
  c.sock.set_option(asio::socket_base::linger(true, 0), ec);
  c.sock.close(ec);
}

awaitable<bool> handleEcho(Conn& c) {
  auto body = co_await readBody(c);
  if (!body) co_return false;
  auto& req = c.req();
  std::vector<std::pair<std::string, std::string>> headers;  // first-appearance order
  for (auto& f : req) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto it = std::find_if(headers.begin(), headers.end(),
                           [&](auto& h) { return h.first == name; });
    if (it == headers.end()) {
      headers.emplace_back(name, std::string(f.value()));
    } else {
      it->second += ", ";
      it->second += f.value();
    }
  }
  std::string json = "{\"name\":" + jsonEscape(c.cfg.name);
  json += ",\"method\":" + jsonEscape(req.method_string());
  json += ",\"target\":" + jsonEscape(req.target());
  json += ",\"version\":\"" + std::to_string(req.version() / 10) + "." +
          std::to_string(req.version() % 10) + "\"";
  json += ",\"headers\":{";
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i) json += ",";
    json += jsonEscape(headers[i].first) + ":" + jsonEscape(headers[i].second);
  }
  json += "},\"body_bytes\":" + std::to_string(body->bytes);
  json += ",\"body_sha256\":\"" + body->sha256 + "\"}\n";
  co_return co_await sendSimple(c, 200, "application/json", std::move(json));
}

awaitable<bool> handleEchoBody(Conn& c) {
  if (!co_await maybeContinue(c)) co_return false;
  StreamWriter w(c, std::nullopt, "application/octet-stream");
  if (!co_await w.header()) co_return false;
  std::vector<char> piece(kPiece);
  while (!c.parser->is_done()) {
    c.req().body().data = piece.data();
    c.req().body().size = piece.size();
    // read_some returns as soon as some bytes arrive, so interactive clients see their echo
    auto [ec, n] = co_await http::async_read_some(c.sock, c.buf, *c.parser, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
    if (!co_await w.piece(piece.data(), piece.size() - c.req().body().size)) co_return false;
  }
  co_return co_await w.finish() && w.keepAlive();
}

awaitable<bool> handleHang(Conn& c) {
  // Never answer; wait for the peer to go away so the connection stays observable.
  char sink[4096];
  for (;;) {
    auto [ec, n] = co_await c.sock.async_read_some(asio::buffer(sink), kTuple);
    if (ec) co_return false;
  }
}

awaitable<bool> handle(Conn& c) {
  std::string_view target = c.req().target();
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  auto query = parseQuery(q == std::string_view::npos ? "" : target.substr(q + 1));
  auto rest = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
    return path.substr(prefix.size());
  };
  auto param = [&](std::string_view key, uint64_t dflt) {
    for (auto& [k, v] : query)
      if (k == key) return parseNumber<uint64_t>(v).value_or(dflt);
    return dflt;
  };
  auto bad = [&](std::string why) -> awaitable<bool> {
    if (!co_await readBody(c)) co_return false;
    co_return co_await sendSimple(c, 400, "text/plain", why + "\n");
  };

  if (path == "/hang") co_return co_await handleHang(c);
  if (path == "/reset") {
    resetConnection(c);
    co_return false;
  }
  if (path == "/echo-body") co_return co_await handleEchoBody(c);
  if (auto r = rest("/status/")) {
    auto code = parseNumber<unsigned>(*r);
    if (!code || *code < 200 || *code > 999) co_return co_await bad("bad status code");
    std::vector<std::pair<std::string, std::string>> extra;
    for (auto& [k, v] : query) {
      auto colon = v.find(':');
      if (k != "header" || colon == std::string::npos) continue;
      std::string value = v.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      extra.emplace_back(v.substr(0, colon), value);
    }
    if (!co_await readBody(c)) co_return false;
    co_return co_await sendSimple(c, *code, "text/plain",
                                  "status " + std::to_string(*code) + "\n", extra);
  }
  if (auto r = rest("/delay/")) {
    auto ms = parseNumber<uint64_t>(*r);
    if (!ms) co_return co_await bad("bad delay");
    if (!co_await readBody(c)) co_return false;
    asio::steady_timer timer(c.sock.get_executor(), std::chrono::milliseconds(*ms));
    co_await timer.async_wait(kTuple);
    co_return co_await sendSimple(c, 200, "text/plain", "delayed\n");
  }
  if (path == "/unasked") {
    // A broken upstream: after its answer it sends a second response nobody asked for, as one
    // that writes a HEAD response's body anyway does. The connection stays open.
    if (!co_await readBody(c)) co_return false;
    if (!co_await sendSimple(c, 200, "text/plain", "asked\n")) co_return false;
    static constexpr std::string_view kUnasked =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nunasked\n";
    auto [ec, n] = co_await asio::async_write(c.sock, asio::buffer(kUnasked), kTuple);
    if (ec) co_return false;
    c.cfg.unaskedSent++;
    co_return true;
  }
  if (path == "/stats") {
    if (!co_await readBody(c)) co_return false;
    std::string json = "{\"connections_accepted\":" + std::to_string(c.cfg.connections.load()) +
                       ",\"requests\":" + std::to_string(c.cfg.requests.load()) +
                       ",\"unasked_sent\":" + std::to_string(c.cfg.unaskedSent.load()) + "}\n";
    co_return co_await sendSimple(c, 200, "application/json", std::move(json));
  }
  if (path == "/sink") {
    auto body = co_await readBody(c);
    if (!body) co_return false;
    std::string json = "{\"body_bytes\":" + std::to_string(body->bytes) +
                       ",\"body_sha256\":\"" + body->sha256 + "\"}\n";
    co_return co_await sendSimple(c, 200, "application/json", std::move(json));
  }
  auto bytesRoute = rest("/bytes/");
  auto chunkedRoute = rest("/chunked/");
  auto resetMidRoute = rest("/reset-mid/");
  if (bytesRoute || chunkedRoute || resetMidRoute) {
    auto n = parseNumber<uint64_t>(bytesRoute ? *bytesRoute
                                              : chunkedRoute ? *chunkedRoute : *resetMidRoute);
    if (!n) co_return co_await bad("bad byte count");
    if (!co_await readBody(c)) co_return false;
    std::optional<uint64_t> length;
    if (bytesRoute) length = *n;
    if (resetMidRoute) length = *n * 2;
    StreamWriter w(c, length, "application/octet-stream");
    if (!co_await w.header()) co_return false;
    size_t chunk = chunkedRoute ? param("chunk", 16384) : kPatternSpan;
    int delayMs = chunkedRoute ? static_cast<int>(param("delay_ms", 0)) : 0;
    if (!co_await writePattern(c, w, *n, chunk, delayMs)) co_return false;
    if (resetMidRoute) {
      resetConnection(c);
      co_return false;
    }
    co_return co_await w.finish() && w.keepAlive();
  }
  co_return co_await handleEcho(c);
}

awaitable<void> session(tcp::socket sock, Config& cfg) {
  Conn c{std::move(sock), {}, {}, cfg};
  beast::error_code ignored;
  c.sock.set_option(tcp::no_delay(true), ignored);  // small chunks must not wait for ACKs
  c.buf.reserve(kPiece);  // Beast reads at most the buffer's free capacity per syscall
  for (;;) {
    c.parser.emplace();
    c.parser->header_limit(1 << 20);  // let the gateway, not the upstream, enforce header limits
    c.parser->body_limit(boost::none);
    auto [ec, n] = co_await http::async_read_header(c.sock, c.buf, *c.parser, kTuple);
    if (ec) break;
    cfg.requests++;
    if (!co_await handle(c)) break;
  }
  if (c.sock.is_open()) {
    c.sock.shutdown(tcp::socket::shutdown_send, ignored);
    c.sock.close(ignored);
  }
}

awaitable<void> acceptLoop(tcp::acceptor& acceptor, Config& cfg) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                                                     kTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. EMFILE: back off briefly instead of spinning
      asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(20));
      co_await t.async_wait(kTuple);
      continue;
    }
    cfg.connections++;
    auto ex = sock.get_executor();
    asio::co_spawn(ex, session(std::move(sock), cfg), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "session error: " << ex.what() << std::endl;
      }
    });
  }
}

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " --listen <ip>:<port> [--port-file <path>] [--name <text>] [--threads <n>]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", portFile;
  unsigned threads = 4;
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    std::string v = argv[++i];
    if (a == "--listen") listen = v;
    else if (a == "--port-file") portFile = v;
    else if (a == "--name") cfg.name = v;
    else if (a == "--threads") threads = std::max(1u, parseNumber<unsigned>(v).value_or(4));
    else return usage(argv[0]);
  }
  auto colon = listen.rfind(':');
  auto port = colon == std::string::npos ? std::nullopt
                                         : parseNumber<uint16_t>(listen.substr(colon + 1));
  if (!port) return usage(argv[0]);
  std::string ip = listen.substr(0, colon);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);

  try {
    asio::io_context ioc;
    tcp::endpoint ep(asio::ip::make_address(ip), *port);
    tcp::acceptor acceptor(ioc);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    uint16_t bound = acceptor.local_endpoint().port();

    if (!portFile.empty()) {  // write then rename, so readers never see a partial file
      std::string tmp = portFile + ".tmp";
      {
        std::ofstream f(tmp, std::ios::trunc);
        f << bound << "\n";
        if (!f.flush()) throw std::runtime_error("cannot write " + tmp);
      }
      if (std::rename(tmp.c_str(), portFile.c_str()) != 0)
        throw std::runtime_error("cannot rename " + tmp + " to " + portFile);
    }
    std::cout << "listening on " << ip << ":" << bound << std::endl;

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { ioc.stop(); });
    asio::co_spawn(ioc, acceptLoop(acceptor, cfg), asio::detached);

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::cerr << "kgate_test_upstream: " << listen << ": " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
