#include "h2_raw_client.h"

#include <nghttp2/nghttp2.h>

#include "support/hpack_oracle.h"

namespace kgate::test::h2 {
namespace {

uint32_t be32(std::string_view p, size_t at) {
  if (p.size() < at + 4) return 0xffffffff;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

uint32_t Frame::errorCode() const {
  if (type == kGoaway) return be32(payload, 4);
  if (type == kRstStream) return be32(payload, 0);
  return 0xffffffff;
}

uint32_t Frame::lastStreamId() const {
  return type == kGoaway ? be32(payload, 0) & 0x7fffffff : 0;
}

std::string Frame::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return "";
}

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  auto n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  put32(out, stream & 0x7fffffff);
  out.append(payload);
  return out;
}

std::string settingsFrame(const std::vector<std::pair<uint16_t, uint32_t>>& settings) {
  std::string payload;
  for (auto [id, value] : settings) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id & 0xff));
    put32(payload, value);
  }
  return frame(kSettings, 0, 0, payload);
}

std::string rstStreamFrame(uint32_t stream, uint32_t code) {
  std::string payload;
  put32(payload, code);
  return frame(kRstStream, 0, stream, payload);
}

std::string windowUpdateFrame(uint32_t stream, uint32_t increment) {
  std::string payload;
  put32(payload, increment);
  return frame(kWindowUpdate, 0, stream, payload);
}

std::string hpackInteger(uint32_t value, int prefixBits, uint8_t firstByteBits) {
  std::string out;
  uint32_t max = (1u << prefixBits) - 1;
  if (value < max) {
    out.push_back(static_cast<char>(firstByteBits | value));
    return out;
  }
  out.push_back(static_cast<char>(firstByteBits | max));
  value -= max;
  while (value >= 128) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

namespace {
std::string literal(uint8_t firstByte, std::string_view name, std::string_view value) {
  std::string out(1, static_cast<char>(firstByte));
  out += hpackInteger(static_cast<uint32_t>(name.size()), 7, 0);
  out.append(name);
  out += hpackInteger(static_cast<uint32_t>(value.size()), 7, 0);
  out.append(value);
  return out;
}
}  // namespace

std::string hpackLiteral(std::string_view name, std::string_view value) {
  return literal(0x00, name, value);
}

std::string hpackIndexedLiteral(std::string_view name, std::string_view value) {
  return literal(0x40, name, value);
}

std::string hpackIndexed(uint32_t index) { return hpackInteger(index, 7, 0x80); }

std::string requestBlock(const std::string& method, const std::string& authority,
                         const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string out = hpackLiteral(":method", method) + hpackLiteral(":scheme", "https") +
                    hpackLiteral(":authority", authority) + hpackLiteral(":path", path);
  for (const auto& [n, v] : extra) out += hpackLiteral(n, v);
  return out;
}

namespace {
RawOptions withH2(RawOptions o) {
  o.alpn = {"h2"};
  return o;
}
}  // namespace

Client::Client(const std::string& ip, uint16_t port, RawOptions options)
    : conn_(ip, port, withH2(std::move(options))) {
  nghttp2_hd_inflate_new(&inflater_);
}

Client::~Client() { nghttp2_hd_inflate_del(inflater_); }

void Client::decode(Frame& f) {
  std::string_view p = f.payload;
  if (f.type == kHeaders) {
    size_t pad = 0;
    if (f.flags & 0x8) {  // PADDED
      if (p.empty()) return;
      pad = static_cast<unsigned char>(p[0]);
      p.remove_prefix(1);
    }
    if (f.flags & 0x20) p.remove_prefix(std::min<size_t>(5, p.size()));  // PRIORITY
    p.remove_suffix(std::min(pad, p.size()));
    pending_.assign(p);
  } else {
    pending_.append(p);
  }
  if (!(f.flags & kEndHeaders)) return;
  HeaderFields fields;
  nghttp2Inflate(inflater_, pending_, fields);  // a refused block keeps the fields before it
  for (auto& h : fields) f.headers.emplace_back(std::move(h.name), std::move(h.value));
  pending_.clear();
}

std::optional<Frame> Client::take() {
  const std::string& in = conn_.received();
  if (in.size() < 9) return std::nullopt;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  uint32_t len = byte(0) << 16 | byte(1) << 8 | byte(2);
  if (in.size() < 9 + len) return std::nullopt;
  Frame f;
  f.type = static_cast<uint8_t>(byte(3));
  f.flags = static_cast<uint8_t>(byte(4));
  f.stream = be32(in, 5) & 0x7fffffff;
  f.payload = in.substr(9, len);
  conn_.consume(9 + len);
  if (f.type == kHeaders || f.type == kContinuation) decode(f);
  return f;
}

bool Client::waitForClose(std::chrono::milliseconds timeout) {
  conn_.readUntil(
      [&](const std::string&) {
        while (take()) {
        }
        return false;
      },
      timeout);
  return conn_.closed();
}

const Frame* findFrame(const std::vector<Frame>& frames, uint8_t type) {
  for (const auto& f : frames)
    if (f.type == type) return &f;
  return nullptr;
}

}  // namespace kgate::test::h2

namespace kgate::test::h2 {

std::string describe(const std::vector<Frame>& frames) {
  static const char* names[] = {"DATA",  "HEADERS", "PRIORITY", "RST_STREAM",    "SETTINGS",
                                "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"};
  std::string out;
  for (const auto& f : frames) {
    if (!out.empty()) out += ' ';
    out += f.type < 10 ? names[f.type] : "TYPE" + std::to_string(f.type);
    out += "/" + std::to_string(f.stream);
    if (f.type == kSettings && (f.flags & kAck)) out += " ack";
    if (f.type == kHeaders && !f.header(":status").empty()) out += " :status=" + f.header(":status");
    if (f.type == kGoaway || f.type == kRstStream) out += " code=" + std::to_string(f.errorCode());
  }
  return out.empty() ? "(no frames)" : out;
}

}  // namespace kgate::test::h2
