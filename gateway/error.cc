#include "gateway/error.h"

#include "gateway/causes.h"

namespace kgate {

std::string_view toString(Error e) {
  switch (e) {
    case Error::Ok: return "ok";
    case Error::PeerClosed: return "peer_closed";
    case Error::Timeout: return "timeout";
    case Error::Protocol: return "protocol_error";
    case Error::HeadersTooLarge: return "headers_too_large";
    case Error::VersionNotSupported: return "version_not_supported";
    case Error::BodyTooLarge: return "body_too_large";
    case Error::Aborted: return "aborted";
    case Error::ConnectFailed: return "connect_failed";
    case Error::ConnectTimeout: return "connect_timeout";
    case Error::TlsFailed: return "tls_failed";
    case Error::Resolve: return "resolve_failed";
  }
  return "unknown";
}

}  // namespace kgate

namespace kgate::cause {

std::string_view intern(std::string_view text, std::string_view fallback) {
  for (std::string_view c :
       {kNoSource, kUnknownSource, kNoToken, kTokenMismatch, kCertificateMismatch,
        kServiceNotFound, kRouteNotFound,
        kRouteNotReady,
        kBadRequest, kHeaderTimeout, kHeadersTooLarge, kRequestTooLarge, kVersionNotSupported,
        kConnectFailure,
        kConnectTimeout, kTlsFailure, kResolveFailure, kUpstreamReset, kUpstreamProtocol,
        kStreamIdleTimeout, kDraining, kRegisterRateLimited, kRegisterBadRequest,
        kRegisterBadJwt, kRegisterUnknownDomain, kRegisterUnknownToken, kRegisterTokenUsed,
        kRegisterTokenExpired, kRegisterNoToken, kRegisterNotLite, kStoreUnavailable,
        kStoreError})
    if (c == text) return c;
  return fallback;
}

}  // namespace kgate::cause
