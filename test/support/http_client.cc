// HTTP-side helpers: curl runner and reply parsing, body hashing, a minimal JSON lookup, and the
// Upstream wrapper around kgate_test_upstream.
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "harness.h"
#include "sha256.h"

#ifndef KGATE_TEST_UPSTREAM_BINARY
#error "KGATE_TEST_UPSTREAM_BINARY must be defined by the build (path of kgate_test_upstream)"
#endif

namespace kgate::test {
namespace {


constexpr size_t kPeriod = 251;
constexpr size_t kSpan = kPeriod * 261;

// Same layout as the upstream's: a window starting at offset % 251 is the pattern at offset.
const std::string& patternTable() {
  static const std::string table = [] {
    std::string t(kSpan + kPeriod, '\0');
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<char>(i % kPeriod);
    return t;
  }();
  return table;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Fills status/version/headers from curl's -D dump: the last non-1xx block wins (1xx blocks,
// CONNECT answers before it and trailers after it are skipped).
void parseHeaderDump(HttpReply& reply) {
  struct Block {
    int status = 0;
    std::string version;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  std::vector<Block> blocks;
  bool inHeaders = false;
  size_t pos = 0;
  const std::string& raw = reply.raw;
  while (pos < raw.size()) {
    auto eol = raw.find('\n', pos);
    std::string line = raw.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? raw.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      Block b;
      auto sp = line.find(' ');
      b.version = line.substr(5, sp == std::string::npos ? std::string::npos : sp - 5);
      if (sp != std::string::npos) b.status = std::atoi(line.c_str() + sp + 1);
      blocks.push_back(std::move(b));
      inHeaders = true;
    } else if (line.empty()) {
      inHeaders = false;
    } else if (inHeaders) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      blocks.back().headers.emplace_back(lower(trim(line.substr(0, colon))),
                                         trim(line.substr(colon + 1)));
    }
  }
  const Block* chosen = nullptr;
  for (auto& b : blocks) {
    if (b.status >= 200 || !chosen || chosen->status < 200) chosen = &b;
  }
  if (!chosen) return;
  reply.status = chosen->status;
  reply.httpVersion = chosen->version;
  reply.headerList = chosen->headers;
  for (auto& [k, v] : chosen->headers) reply.headers[k] = v;
}

std::string tmpPath(const std::string& stem) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + stem + "-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw std::runtime_error("mkstemp " + tmpl + " failed");
  ::close(fd);
  return tmpl;
}

// --- minimal JSON navigation --------------------------------------------------------------

class JsonCursor {
 public:
  explicit JsonCursor(const std::string& s) : s_(s) {}

  std::optional<std::string> find(const std::vector<std::string>& path, size_t depth) {
    ws();
    if (i_ >= s_.size()) return std::nullopt;
    char c = s_[i_];
    if (depth == path.size()) {
      if (c == '{' || c == '[') return std::nullopt;
      std::string out;
      if (c == '"') return string(&out) ? std::optional(out) : std::nullopt;
      size_t start = i_;
      while (i_ < s_.size() && std::string_view(",}] \t\r\n").find(s_[i_]) == std::string::npos)
        ++i_;
      if (i_ == start) return std::nullopt;
      return s_.substr(start, i_ - start);
    }
    if (c == '{') {
      ++i_;
      for (;;) {
        ws();
        std::string key;
        if (!string(&key) || !expect(':')) return std::nullopt;
        if (key == path[depth]) return find(path, depth + 1);
        if (!skip()) return std::nullopt;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ',') return std::nullopt;
      }
    }
    if (c == '[') {
      ++i_;
      size_t want = 0;
      try {
        want = std::stoul(path[depth]);
      } catch (const std::exception&) {
        return std::nullopt;
      }
      for (size_t idx = 0;; ++idx) {
        if (idx == want) return find(path, depth + 1);
        if (!skip()) return std::nullopt;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ',') return std::nullopt;
      }
    }
    return std::nullopt;
  }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool expect(char c) {
    ws();
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(unsigned& v) {
    if (i_ + 4 > s_.size()) return false;
    v = static_cast<unsigned>(std::stoul(s_.substr(i_, 4), nullptr, 16));
    i_ += 4;
    return true;
  }
  // Parses a string at the cursor into *out (or skips it if out is null).
  bool string(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    std::string tmp;
    for (++i_; i_ < s_.size(); ++i_) {
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        if (out) *out = std::move(tmp);
        return true;
      }
      if (c != '\\') {
        tmp += c;
        continue;
      }
      if (++i_ >= s_.size()) return false;
      switch (s_[i_]) {
        case 'n': tmp += '\n'; break;
        case 't': tmp += '\t'; break;
        case 'r': tmp += '\r'; break;
        case 'b': tmp += '\b'; break;
        case 'f': tmp += '\f'; break;
        case 'u': {
          unsigned cp = 0;
          ++i_;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
            unsigned lo = 0;
            i_ += 2;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(tmp, cp);
          --i_;
          break;
        }
        default: tmp += s_[i_];
      }
    }
    return false;
  }
  bool skip() {
    ws();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') return string(nullptr);
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == close) {
        ++i_;
        return true;
      }
      for (;;) {
        if (c == '{' && (!(ws(), string(nullptr)) || !expect(':'))) return false;
        if (!skip()) return false;
        ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == close) {
          ++i_;
          return true;
        }
        if (s_[i_++] != ',') return false;
        ws();
      }
    }
    size_t start = i_;
    while (i_ < s_.size() && std::string_view(",}] \t\r\n").find(s_[i_]) == std::string::npos)
      ++i_;
    return i_ > start;
  }

  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string HttpReply::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

bool HttpReply::hasHeader(const std::string& name) const { return headers.count(lower(name)); }

HttpReply curl(const std::vector<std::string>& args, const CurlOptions& options) {
  std::string headerFile = tmpPath("kgate-curl-headers");
  std::vector<std::string> argv = {"curl", "-sS", "-D", headerFile, "-o", "-"};
  argv.insert(argv.end(), args.begin(), args.end());
  HttpReply reply;
  Sha256 sha;
  bool textGiven = false;
  uint64_t patternOffset = 0;
  auto input = [&]() -> std::string_view {
    if (options.stdinPatternBytes == 0) {
      return std::exchange(textGiven, true) ? std::string_view() : options.stdinText;
    }
    uint64_t left = options.stdinPatternBytes - patternOffset;
    size_t len = static_cast<size_t>(std::min<uint64_t>(kSpan, left));
    std::string_view piece(patternTable().data() + patternOffset % kPeriod, len);
    patternOffset += len;
    return piece;
  };
  try {
    reply.curlExit = runWithInput(
        argv, options.timeout, input,
        [&](const char* p, size_t n) {
          sha.update(p, n);
          reply.bodyBytes += n;
          if (options.keepBody) reply.body.append(p, n);
        },
        [&](const char* p, size_t n) { reply.curlStderr.append(p, n); });
  } catch (...) {
    ::unlink(headerFile.c_str());
    throw;
  }
  reply.bodySha256 = sha.hex();
  reply.raw = readFile(headerFile);
  ::unlink(headerFile.c_str());
  parseHeaderDump(reply);
  return reply;
}

std::string sha256Hex(const std::string& data) {
  Sha256 sha;
  sha.update(data.data(), data.size());
  return sha.hex();
}

std::string fileSha256(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  Sha256 sha;
  std::vector<char> buf(1 << 16);
  while (f.read(buf.data(), static_cast<std::streamsize>(buf.size())) || f.gcount() > 0)
    sha.update(buf.data(), static_cast<size_t>(f.gcount()));
  return sha.hex();
}

std::string patternSha256(uint64_t n) {
  static std::mutex mutex;
  static std::map<uint64_t, std::string> cache;
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(n); it != cache.end()) return it->second;
  }
  const auto& table = patternTable();
  Sha256 sha;
  for (uint64_t off = 0; off < n;) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(kSpan, n - off));
    sha.update(table.data() + off % kPeriod, len);
    off += len;
  }
  std::string hex = sha.hex();
  std::lock_guard lock(mutex);
  cache[n] = hex;
  return hex;
}

void writePatternFile(const std::string& path, uint64_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const auto& table = patternTable();
  for (uint64_t off = 0; off < n && f;) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(kSpan, n - off));
    f.write(table.data() + off % kPeriod, static_cast<std::streamsize>(len));
    off += len;
  }
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

std::optional<std::string> jsonGet(const std::string& json, const std::vector<std::string>& path) {
  try {
    return JsonCursor(json).find(path, 0);
  } catch (const std::exception&) {  // e.g. a malformed \u escape
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------

Upstream::Upstream() : Upstream(Options{}) {}

Upstream::Upstream(const std::string& ip, const std::string& name)
    : Upstream([&] {
        Options o;
        o.ip = ip;
        o.name = name;
        return o;
      }()) {}

Upstream::Upstream(Options options) : options_(std::move(options)) {
  using namespace std::chrono;
  auto deadline = steady_clock::now() + options_.startTimeout;
  std::string dir = options_.logDir;
  if (dir.empty()) {
    ownDir_.emplace("kgate-upstream");
    dir = ownDir_->path();
  }
  std::string stem = "upstream-";
  for (char c : options_.name) stem += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  static std::atomic<int> counter{0};
  std::string portFile = dir + "/" + stem + "-" + std::to_string(++counter) + ".port";
  std::string listen = options_.ip.find(':') != std::string::npos
                           ? "[" + options_.ip + "]:" + std::to_string(options_.port)
                           : options_.ip + ":" + std::to_string(options_.port);
  ProcessOptions po;
  po.name = stem;
  process_.emplace(std::vector<std::string>{KGATE_TEST_UPSTREAM_BINARY, "--listen", listen,
                                            "--port-file", portFile, "--name", options_.name,
                                            "--threads", std::to_string(options_.threads)},
                   dir, po);
  auto left = [&] { return duration_cast<milliseconds>(deadline - steady_clock::now()); };
  // The upstream renames the port file into place, so any content seen is complete.
  waitUntil([&] { return !readFile(portFile).empty() || !process_->running(); }, left(),
            milliseconds(10));
  std::string text = readFile(portFile);
  int port = text.empty() ? 0 : std::atoi(text.c_str());
  if (port <= 0 || port > 65535) {
    throw std::runtime_error("kgate_test_upstream did not report its port in " + portFile +
                             "\n" + process_->describe());
  }
  port_ = static_cast<uint16_t>(port);
  if (!process_->waitForPort(options_.ip, port_, left())) {
    throw std::runtime_error("kgate_test_upstream does not accept on " + hostPort() + "\n" +
                             process_->describe());
  }
}

std::string Upstream::hostPort() const {
  return options_.ip.find(':') != std::string::npos
             ? "[" + options_.ip + "]:" + std::to_string(port_)
             : options_.ip + ":" + std::to_string(port_);
}

std::string Upstream::url(const std::string& path) const {
  return "http://" + hostPort() + path;
}

Upstream::Stats Upstream::stats() const {
  HttpReply r = curl({"-m", "10", url("/stats")});
  auto conns = jsonGet(r.body, {"connections_accepted"});
  auto reqs = jsonGet(r.body, {"requests"});
  auto unasked = jsonGet(r.body, {"unasked_sent"});
  if (r.status != 200 || !conns || !reqs || !unasked) {
    throw std::runtime_error("GET " + url("/stats") + " failed: curl exit " +
                             std::to_string(r.curlExit) + " " + r.curlStderr + " status " +
                             std::to_string(r.status) + " body " + r.body);
  }
  return Stats{std::stoull(*conns), std::stoull(*reqs), std::stoull(*unasked)};
}

}  // namespace kgate::test
