// Every cause kgate reports, in one list. A cause is a stable snake_case string: it appears in
// the $cause$ slot of kuscia-error-message (chained format), in the access log, and as the
// `cause` label of kgate_requests_total. Changing a spelling breaks users' alerts: add, never
// rename. Envoy's spellings are kept where Kuscia users already know them.
#pragma once

#include <string_view>

namespace kgate::cause {

// Success and pass-through.
inline constexpr std::string_view kViaUpstream = "via_upstream";   // response came from upstream
inline constexpr std::string_view kLocal = "local_response";       // served by kgate itself (probe, health)

// Inbound authentication (external listener), all 401.
inline constexpr std::string_view kNoSource = "no_source";            // no Kuscia-Source header
inline constexpr std::string_view kUnknownSource = "unknown_source";  // no route from that source
inline constexpr std::string_view kNoToken = "no_token";              // source known, no token
inline constexpr std::string_view kTokenMismatch = "token_mismatch";  // token not one we accept
inline constexpr std::string_view kCertificateMismatch = "client_certificate_mismatch";  // MTLS route: no verified certificate naming the source

// Routing, 404.
inline constexpr std::string_view kServiceNotFound = "service_not_found";  // no such local service
inline constexpr std::string_view kRouteNotFound = "route_not_found";      // no route to that domain
inline constexpr std::string_view kRouteNotReady = "route_not_ready";      // 503: no token negotiated yet
// 403: a peer's request for another gateway's own service, for a relay of more than one hop, or
// for a relay no transit route allows.
inline constexpr std::string_view kRelayRefused = "relay_refused";
// 403: a peer's Kuscia-Origin-Source names a domain it is not the transit of.
inline constexpr std::string_view kOriginRefused = "origin_refused";

// Request problems, 4xx.
inline constexpr std::string_view kBadRequest = "bad_request";                      // 400
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";         // 405: CONNECT
inline constexpr std::string_view kHeaderTimeout = "request_header_timeout";        // 408
inline constexpr std::string_view kHeadersTooLarge = "request_header_too_large";    // 431
inline constexpr std::string_view kRequestTooLarge = "request_too_large";           // 413
inline constexpr std::string_view kVersionNotSupported = "http_version_not_supported";  // 505

// Upstream problems, 5xx (before response headers; afterwards the stream is reset).
inline constexpr std::string_view kConnectFailure = "upstream_connect_failure";  // 503
inline constexpr std::string_view kConnectTimeout = "upstream_connect_timeout";  // 503
inline constexpr std::string_view kTlsFailure = "upstream_tls_failure";          // 503
inline constexpr std::string_view kResolveFailure = "upstream_resolve_failure";  // 503
inline constexpr std::string_view kUpstreamReset = "upstream_reset";             // 502/503
inline constexpr std::string_view kUpstreamProtocol = "upstream_protocol_error"; // 502
inline constexpr std::string_view kStreamIdleTimeout = "stream_idle_timeout";    // 504 (408)
inline constexpr std::string_view kDraining = "draining";                        // 503

// Token handshakes (POST /handshake) from one address past the rate limit.
inline constexpr std::string_view kHandshakeRateLimited = "handshake_rate_limited";  // 429

// Lite registration on a master (POST /register).
inline constexpr std::string_view kRegisterRateLimited = "register_rate_limited";      // 429
inline constexpr std::string_view kRegisterBadRequest = "register_bad_request";        // 400
inline constexpr std::string_view kRegisterBadJwt = "register_bad_jwt";                // 400
inline constexpr std::string_view kRegisterUnknownDomain = "register_unknown_domain";  // 404
inline constexpr std::string_view kRegisterUnknownToken = "register_unknown_token";    // 401
inline constexpr std::string_view kRegisterTokenUsed = "register_token_used";          // 409
inline constexpr std::string_view kRegisterTokenExpired = "register_token_expired";    // 401
inline constexpr std::string_view kRegisterNoToken = "register_no_token";              // 400
inline constexpr std::string_view kRegisterNotLite = "register_not_lite";              // 403
inline constexpr std::string_view kStoreUnavailable = "store_unavailable";             // 503
inline constexpr std::string_view kStoreError = "store_error";                         // 500

// Logged only: the response had started, so no status could carry them.
inline constexpr std::string_view kUpstreamResetAfterResponse = "upstream_reset_after_response_started";
inline constexpr std::string_view kDownstreamReset = "downstream_reset";  // client went away

// The listed cause equal to text (causes outlive requests, so they are views of these
// constants); `fallback` when text is not one of them.
std::string_view intern(std::string_view text, std::string_view fallback);

// The cause of a request a codec refuses before it is proxied (400 or 405).
constexpr std::string_view ofRefusal(int status) {
  return status == 405 ? kMethodNotAllowed : kBadRequest;
}

}  // namespace kgate::cause
