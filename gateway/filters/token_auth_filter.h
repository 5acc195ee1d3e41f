// Inbound authentication on the external listener: Kuscia-Source must name a source this node
// has tokens for, and Kuscia-Token must be one of them (auth::TokenSet, constant time).
// Failures are 401 with a cause; the token itself is never logged.
#pragma once

#include "gateway/filter.h"

namespace kgate::filters {

class TokenAuthFilter final : public Filter {
 public:
  FilterStatus onRequest(StreamContext& ctx) override;
};

}  // namespace kgate::filters
