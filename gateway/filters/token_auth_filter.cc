#include "gateway/filters/token_auth_filter.h"

namespace kgate::filters {

FilterStatus TokenAuthFilter::onRequest(StreamContext& ctx) {
  if (ctx.target == StreamContext::Target::Handshake) return FilterStatus::Continue;
  const ConnectionInfo& conn = ctx.ds.connection();
  if (!conn.tokenMemo) conn.tokenMemo = std::make_unique<auth::TokenMemo>();
  auto result = ctx.snap.tokens->check(ctx.source, ctx.req.headers.get("kuscia-token"),
                                       conn.clientName, conn.tokenMemo.get());
  if (result == auth::AuthResult::Ok) {
    ctx.peer = ctx.source;  // only authenticated sources become metric labels
    return FilterStatus::Continue;
  }
  ctx.reply(401, auth::causeOf(result), "Unauthorized");
  return FilterStatus::Stop;
}

}  // namespace kgate::filters
