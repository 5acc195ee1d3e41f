// Kuscia's "gress" behaviour: which host a request is for, and the headers the gateway adds on
// the way in. External listener: Kuscia-Host (when present) overrides Host, and the handshake
// host bypasses token auth. Internal listener: Host (port stripped) routes, Kuscia-Origin-Source
// is added when absent, and a b3 trace id is started so both gateways log the same id.
#pragma once

#include "gateway/filter.h"

namespace kgate::filters {

class GressFilter final : public Filter {
 public:
  explicit GressFilter(ListenerKind kind) : kind_(kind) {}
  FilterStatus onRequest(StreamContext& ctx) override;

 private:
  ListenerKind kind_;
};

// True when host names this node's handshake service (a master also answers
// kuscia-handshake.master.svc: a new lite does not know the master's domain yet).
bool isHandshakeHost(const Snapshot& snap, std::string_view host);

}  // namespace kgate::filters
