#include "gateway/h2/frames.h"

#include <algorithm>
#include <cassert>

namespace kgate::h2::frames {
namespace {

uint32_t read32(std::string_view p, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

Violation connectionError(ErrorCode code) { return Violation{code, false}; }

// DATA and HEADERS: the Pad Length byte (PADDED), then `fixed` bytes of fields, then the
// content, then the padding. Too short for the fields it announces is a frame size error
// (section 4.2), padding that leaves no room for them a protocol error (6.1, 6.2).
Violation checkPadding(const Header& h, std::string_view payload, size_t fixed) {
  size_t need = fixed, pad = 0;
  if (h.flags & kPadded) {
    if (payload.empty()) return connectionError(ErrorCode::FrameSize);
    pad = static_cast<unsigned char>(payload[0]);
    need += 1;
  }
  if (payload.size() < need) return connectionError(ErrorCode::FrameSize);
  if (pad > payload.size() - need) return connectionError(ErrorCode::Protocol);
  return {};
}

size_t priorityOffset(const Header& h) { return (h.flags & kPadded) ? 1 : 0; }

}  // namespace

Header parseHeader(const char* p) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return Header{b(0) << 16 | b(1) << 8 | b(2), static_cast<uint8_t>(b(3)),
                static_cast<uint8_t>(b(4)),
                (b(5) << 24 | b(6) << 16 | b(7) << 8 | b(8)) & 0x7fffffff};
}

void appendHeader(std::string& out, uint32_t length, Type type, uint8_t flags, uint32_t stream) {
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  put32(out, stream & 0x7fffffff);
}

Violation checkClientFrame(const Header& h, std::string_view payload, uint32_t maxFrameSize) {
  if (h.length > maxFrameSize || payload.size() != h.length)
    return connectionError(ErrorCode::FrameSize);
  const bool onConnection = h.stream == 0;
  switch (static_cast<Type>(h.type)) {
    case Type::Data:
      if (onConnection) return connectionError(ErrorCode::Protocol);
      return checkPadding(h, payload, 0);
    case Type::Headers:
      if (onConnection) return connectionError(ErrorCode::Protocol);
      return checkPadding(h, payload, (h.flags & kPriority) ? 5 : 0);
    case Type::Priority:
      if (onConnection) return connectionError(ErrorCode::Protocol);
      if (h.length != 5) return connectionError(ErrorCode::FrameSize);
      return {};
    case Type::RstStream:
      if (onConnection) return connectionError(ErrorCode::Protocol);
      if (h.length != 4) return connectionError(ErrorCode::FrameSize);
      return {};
    case Type::Settings:
      if (!onConnection) return connectionError(ErrorCode::Protocol);
      if ((h.flags & kAck) ? h.length != 0 : h.length % 6 != 0)
        return connectionError(ErrorCode::FrameSize);
      return {};
    case Type::PushPromise:  // only servers push (section 8.4)
      return connectionError(ErrorCode::Protocol);
    case Type::Ping:
      if (!onConnection) return connectionError(ErrorCode::Protocol);
      if (h.length != 8) return connectionError(ErrorCode::FrameSize);
      return {};
    case Type::GoAway:
      if (!onConnection) return connectionError(ErrorCode::Protocol);
      if (h.length < 8) return connectionError(ErrorCode::FrameSize);
      return {};
    case Type::WindowUpdate:
      if (h.length != 4) return connectionError(ErrorCode::FrameSize);
      if (windowIncrement(payload) == 0) return Violation{ErrorCode::Protocol, !onConnection};
      return {};
    case Type::Continuation:
      if (onConnection) return connectionError(ErrorCode::Protocol);
      return {};
  }
  return {};  // an extension's frame: ignored (section 5.5)
}

std::string_view content(const Header& h, std::string_view payload) {
  size_t begin = 0, pad = 0;
  if (h.flags & kPadded) {
    pad = static_cast<unsigned char>(payload[0]);
    begin = 1;
  }
  if (static_cast<Type>(h.type) == Type::Headers && (h.flags & kPriority)) begin += 5;
  return payload.substr(begin, payload.size() - begin - pad);
}

uint32_t priorityDependency(const Header& h, std::string_view payload) {
  bool headers = static_cast<Type>(h.type) == Type::Headers;
  assert(headers ? (h.flags & kPriority) != 0 : static_cast<Type>(h.type) == Type::Priority);
  size_t at = headers ? priorityOffset(h) : 0;
  return read32(payload, at) & 0x7fffffff;
}

uint32_t rstStreamCode(std::string_view payload) { return read32(payload, 0); }
uint32_t windowIncrement(std::string_view payload) { return read32(payload, 0) & 0x7fffffff; }
uint32_t goAwayLastStream(std::string_view payload) { return read32(payload, 0) & 0x7fffffff; }
uint32_t goAwayCode(std::string_view payload) { return read32(payload, 4); }

Violation parseSettings(std::string_view payload, Settings& out) {
  for (size_t at = 0; at + 6 <= payload.size(); at += 6) {
    uint16_t id = static_cast<uint16_t>(static_cast<unsigned char>(payload[at]) << 8 |
                                        static_cast<unsigned char>(payload[at + 1]));
    uint32_t value = read32(payload, at + 2);
    switch (id) {
      case kHeaderTableSize:
        out.headerTableSize = value;
        out.lowestHeaderTableSize = std::min(out.lowestHeaderTableSize.value_or(value), value);
        break;
      case kEnablePush:
        if (value > 1) return connectionError(ErrorCode::Protocol);
        out.enablePush = value;
        break;
      case kMaxConcurrentStreams: out.maxConcurrentStreams = value; break;
      case kInitialWindowSize:
        if (value > kMaxWindow) return connectionError(ErrorCode::FlowControl);
        out.initialWindowSize = value;
        break;
      case kMaxFrameSize:
        if (value < kDefaultMaxFrameSize || value > kLargestMaxFrameSize)
          return connectionError(ErrorCode::Protocol);
        out.maxFrameSize = value;
        break;
      case kMaxHeaderListSize: out.maxHeaderListSize = value; break;
      case kNoRfc7540Priorities:
        if (value > 1) return connectionError(ErrorCode::Protocol);
        out.noRfc7540Priorities = value;
        break;
      default: break;  // unknown: ignored
    }
  }
  return {};
}

void appendSettings(std::string& out, const std::vector<std::pair<uint16_t, uint32_t>>& entries) {
  appendHeader(out, static_cast<uint32_t>(entries.size() * 6), Type::Settings, 0, 0);
  for (const auto& [id, value] : entries) {
    out.push_back(static_cast<char>(id >> 8));
    out.push_back(static_cast<char>(id));
    put32(out, value);
  }
}

void appendSettingsAck(std::string& out) { appendHeader(out, 0, Type::Settings, kAck, 0); }

void appendPingAck(std::string& out, std::string_view opaque) {
  appendHeader(out, 8, Type::Ping, kAck, 0);
  out.append(opaque.substr(0, 8));
  out.append(8 - std::min<size_t>(8, opaque.size()), '\0');
}

void appendWindowUpdate(std::string& out, uint32_t stream, uint32_t increment) {
  assert(increment > 0 && increment <= kMaxWindow);  // 0 is the peer's PROTOCOL_ERROR
  appendHeader(out, 4, Type::WindowUpdate, 0, stream);
  put32(out, increment & 0x7fffffff);
}

void appendRstStream(std::string& out, uint32_t stream, ErrorCode code) {
  appendHeader(out, 4, Type::RstStream, 0, stream);
  put32(out, static_cast<uint32_t>(code));
}

void appendGoAway(std::string& out, uint32_t lastStream, ErrorCode code, std::string_view debug) {
  appendHeader(out, static_cast<uint32_t>(8 + debug.size()), Type::GoAway, 0, 0);
  put32(out, lastStream & 0x7fffffff);
  put32(out, static_cast<uint32_t>(code));
  out.append(debug);
}

void appendHeaders(std::string& out, uint32_t stream, std::string_view block, bool endStream,
                   uint32_t maxFrameSize) {
  assert(maxFrameSize >= kDefaultMaxFrameSize);  // the least a peer may set; 0 would not end
  Type type = Type::Headers;
  uint8_t flags = endStream ? kEndStream : 0;  // END_STREAM rides on HEADERS only (6.10)
  do {
    std::string_view piece = block.substr(0, maxFrameSize);
    block.remove_prefix(piece.size());
    appendHeader(out, static_cast<uint32_t>(piece.size()), type,
                 block.empty() ? flags | kEndHeaders : flags, stream);
    out.append(piece);
    type = Type::Continuation;
    flags = 0;
  } while (!block.empty());
}

void appendDataHeader(std::string& out, uint32_t stream, uint32_t length, bool endStream) {
  appendHeader(out, length, Type::Data, endStream ? kEndStream : 0, stream);
}

}  // namespace kgate::h2::frames
