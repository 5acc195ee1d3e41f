// Response decoration, on every response of the external and internal listeners:
//  - kuscia-error-message on 400-599, in the configured format (seed: the tutorial's
//    "Domain <d>.<i><--<host> return http code N."; chained: "<d/i/listener $cause$ text>",
//    prefixed with "<d/i/listener> => " when the error came from further away);
//  - kuscia-error-message-internal from an upstream is folded in, never passed on;
//  - server: kuscia-gateway (external) and x-accel-buffering: no (both), as Kuscia's routes do.
#pragma once

#include "gateway/filter.h"

namespace kgate::filters {

class ErrorMessageFilter final : public Filter {
 public:
  void onResponse(StreamContext& ctx, http::ResponseHead& head) override;
};

// The header value for a response; exposed for unit tests.
std::string errorMessage(const conf::Config& config, ListenerKind listener, bool local,
                         int status, std::string_view cause, std::string_view message,
                         std::string_view originalHost, std::string_view upstreamMessage,
                         std::string_view upstreamInternal);

}  // namespace kgate::filters
