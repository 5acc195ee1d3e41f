// Errors on the data path are values. Every stream operation returns an Error; the proxy turns
// the first one it meets into a response status and a cause (causes.h) once, in one place.
#pragma once

#include <cstdint>
#include <string_view>

namespace kgate {

enum class Error : uint8_t {
  Ok = 0,
  PeerClosed,      // the other side closed or reset the connection or stream
  Timeout,         // a deadline fired; the stream's context says which one
  Protocol,        // the peer broke HTTP framing rules (bad chunk, bad frame, bad header)
  HeadersTooLarge, // header block over limits.maxHeaderBytes / maxHeaderCount
  VersionNotSupported,  // an HTTP/1 request line naming another major version (505)
  BodyTooLarge,    // request body over limits.maxBodyBytes
  Aborted,         // we abandoned the stream (the other leg failed, drain deadline)
  ConnectFailed,   // upstream refused or unreachable
  ConnectTimeout,  // upstream connect (TCP + TLS) took longer than limits.connectTimeout
  TlsFailed,       // TLS handshake with the upstream failed (certificate, protocol)
  Resolve,         // upstream host name did not resolve
};

std::string_view toString(Error e);

}  // namespace kgate
