// Domain IDs and other names that become DNS labels (<svc>.<domain>.svc).
#pragma once

#include <string_view>

#include "conf/result.h"

namespace kgate::conf {

// RFC 1123 label: [a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?. Unlike Kuscia, no '.': a domain ID is one
// label of <svc>.<domain>.svc, and a dot would make that host name ambiguous.
bool isDnsLabel(std::string_view name);

// A valid, non-reserved domain ID. Reserved: master, default, kube-system, kube-public,
// kube-node-lease, cross-domain (names Kuscia's control plane uses for itself).
Result<void> validateDomainId(std::string_view id);

}  // namespace kgate::conf
