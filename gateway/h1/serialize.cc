#include "gateway/h1/serialize.h"

#include <charconv>
#include <cstring>

namespace kgate::h1 {
namespace {

void appendNumber(std::string& out, uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// Room for a head at once: growing a fresh buffer field by field reallocated it about four
// times per request head.
void reserveHead(std::string& out, const http::Headers& headers, size_t firstLine) {
  size_t n = out.size() + firstLine + 64;  // framing, connection, te and the blank line
  for (const auto& f : headers) n += f.name.size() + f.value.size() + 4;
  out.reserve(n);
}

// Sized once and filled with copies: four appends per field, each checking room and length, cost
// more than the bytes they copy.
void appendFields(std::string& out, const http::Headers& headers) {
  size_t n = 0;
  for (const auto& f : headers) n += f.name.size() + f.value.size() + 4;
  size_t at = out.size();
  out.resize(at + n);
  char* p = out.data() + at;
  for (const auto& f : headers) {
    std::memcpy(p, f.name.data(), f.name.size());
    p += f.name.size();
    std::memcpy(p, ": ", 2);
    p += 2;
    std::memcpy(p, f.value.data(), f.value.size());
    p += f.value.size();
    std::memcpy(p, "\r\n", 2);
    p += 2;
  }
}

void appendFraming(std::string& out, Framing framing, const std::optional<uint64_t>& length) {
  switch (framing) {
    case Framing::None: break;
    case Framing::Length:
      out.append("content-length: ");
      appendNumber(out, length.value_or(0));
      out.append("\r\n");
      break;
    case Framing::Chunked: out.append("transfer-encoding: chunked\r\n"); break;
    case Framing::UntilClose: break;
  }
}

}  // namespace

void appendResponseHead(std::string& out, const http::ResponseHead& head, Framing framing,
                        bool keepAlive, bool http10KeepAlive) {
  reserveHead(out, head.headers, 48);
  out.append("HTTP/1.1 ");
  appendNumber(out, static_cast<uint64_t>(head.status));
  out.push_back(' ');
  out.append(http::reasonPhrase(head.status));
  out.append("\r\n");
  appendFields(out, head.headers);
  appendFraming(out, framing, head.contentLength);
  if (!keepAlive) out.append("connection: close\r\n");
  else if (http10KeepAlive) out.append("connection: keep-alive\r\n");
  out.append("\r\n");
}

void appendRequestHead(std::string& out, const http::RequestHead& head, std::string_view host,
                       Framing framing) {
  reserveHead(out, head.headers, head.method.size() + head.path.size() + host.size() + 24);
  out.append(head.method).push_back(' ');
  out.append(head.path.empty() ? std::string_view("/") : std::string_view(head.path));
  out.append(" HTTP/1.1\r\nhost: ").append(host).append("\r\n");
  appendFields(out, head.headers);
  if (head.trailersAllowed) out.append("te: trailers\r\n");
  appendFraming(out, framing, head.contentLength);
  out.append("\r\n");
}

void appendChunkHeader(std::string& out, size_t size) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, size, 16);
  out.append(buf, end).append("\r\n");
}

void appendLastChunk(std::string& out, const http::Headers* trailers) {
  out.append("0\r\n");
  if (trailers) appendFields(out, *trailers);
  out.append("\r\n");
}

}  // namespace kgate::h1
