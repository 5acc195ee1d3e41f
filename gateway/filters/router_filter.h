// Picks where a request goes and prepares it for that upstream.
//  - <svc>.<self>.svc or <svc>: a local service; the request is passed as it came.
//  - <svc>.<peer>.svc: the route self -> peer (or its transit hop); Kuscia-Source, Kuscia-Token,
//    Kuscia-Host and x-interconn-protocol are overwritten and the route's path prefix added.
// On the external listener a peer host means this node is a transit hop for the source.
#pragma once

#include "gateway/filter.h"

namespace kgate::filters {

class RouterFilter final : public Filter {
 public:
  FilterStatus onRequest(StreamContext& ctx) override;
};

}  // namespace kgate::filters
