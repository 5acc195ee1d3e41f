// HTTP/1.1 wire text for heads and chunked framing. Appends to a caller's buffer so a head and
// a small body leave in one write (one TLS record, one syscall).
#pragma once

#include <string>
#include <string_view>

#include "gateway/http/message.h"

namespace kgate::h1 {

enum class Framing {
  None,           // no body (content-length: 0 where one is required)
  Length,         // content-length: N
  Chunked,        // transfer-encoding: chunked
  UntilClose,     // HTTP/1.0 style: the body ends when the connection closes
};

// Response head. framing says how the body is delimited; keepAlive=false adds "connection: close";
// http10KeepAlive adds "connection: keep-alive" for an HTTP/1.0 client that asked for it.
void appendResponseHead(std::string& out, const http::ResponseHead& head, Framing framing,
                        bool keepAlive, bool http10KeepAlive);

// Request head to an upstream: the path as given, Host as given.
void appendRequestHead(std::string& out, const http::RequestHead& head, std::string_view host,
                       Framing framing);

void appendChunkHeader(std::string& out, size_t size);  // "<hex>\r\n"
inline void appendChunkEnd(std::string& out) { out.append("\r\n"); }
void appendLastChunk(std::string& out, const http::Headers* trailers);  // "0\r\n[trailers]\r\n"

}  // namespace kgate::h1
