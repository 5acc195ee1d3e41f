#include "gateway/filters/gress_filter.h"

#include <openssl/rand.h>

#include "gateway/causes.h"

namespace kgate::filters {
namespace {

std::string lowerHost(std::string_view authority) {
  std::string h(http::stripPort(authority));
  http::toLower(h);
  return h;
}

std::string randomHex(size_t bytes) {
  unsigned char buf[16];
  RAND_bytes(buf, static_cast<int>(bytes));
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out.push_back(hex[buf[i] >> 4]);
    out.push_back(hex[buf[i] & 15]);
  }
  return out;
}

// name (lower case) is `identity` with any of its dashes written as underscores: CGI, WSGI and
// PHP servers turn both into the same variable (HTTP_KUSCIA_SOURCE).
bool spells(std::string_view name, std::string_view identity) {
  if (name.size() != identity.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (name[i] != identity[i] && !(name[i] == '_' && identity[i] == '-')) return false;
  return true;
}

// The identity header an inbound request carries more than once, if any: the token filter and
// the router read the first, and a local service might read another (or the same one spelt with
// underscores).
std::string_view repeatedIdentityHeader(const http::Headers& headers) {
  int source = 0, token = 0, host = 0, origin = 0;
  for (const auto& f : headers) {
    switch (f.name.size()) {
      case 11:
        host += spells(f.name, "kuscia-host");
        break;
      case 12:
        token += spells(f.name, "kuscia-token");
        break;
      case 13:
        source += spells(f.name, "kuscia-source");
        break;
      case 20:
        origin += spells(f.name, "kuscia-origin-source");
        break;
      default:
        break;
    }
  }
  return source > 1   ? "kuscia-source"
         : token > 1  ? "kuscia-token"
         : host > 1   ? "kuscia-host"
         : origin > 1 ? "kuscia-origin-source"
                      : "";
}

}  // namespace

bool isHandshakeHost(const Snapshot& snap, std::string_view host) {
  constexpr size_t kPrefix = std::string_view("kuscia-handshake.").size();
  if (host.size() <= kPrefix + 4 || !host.starts_with("kuscia-handshake.") ||
      !host.ends_with(".svc"))
    return false;
  std::string_view domain = host.substr(kPrefix, host.size() - kPrefix - 4);
  return domain == snap.self() ||
         (domain == "master" && snap.config->mode == conf::Mode::Master);
}

FilterStatus GressFilter::onRequest(StreamContext& ctx) {
  auto& headers = ctx.req.headers;
  ctx.originalHost = lowerHost(ctx.req.authority);
  ctx.source = std::string(headers.get("kuscia-source"));
  if (kind_ == ListenerKind::External) {
    // (Outbound, the router overwrites all three for a peer.)
    if (std::string_view name = repeatedIdentityHeader(headers); !name.empty()) {
      ctx.host = ctx.originalHost;
      ctx.reply(400, cause::kBadRequest, std::string(name) + " appears more than once");
      return FilterStatus::Stop;
    }
    std::string_view kusciaHost = headers.get("kuscia-host");
    ctx.host = kusciaHost.empty() ? ctx.originalHost : lowerHost(kusciaHost);
    if (isHandshakeHost(ctx.snap, ctx.host)) ctx.target = StreamContext::Target::Handshake;
  } else {
    ctx.host = ctx.originalHost;
    headers.setIfAbsent("kuscia-origin-source", ctx.snap.self());
    if (!headers.has("x-b3-traceid")) {
      headers.add("x-b3-traceid", randomHex(8));
      headers.set("x-b3-spanid", randomHex(8));
    }
  }
  ctx.traceId = std::string(headers.get("x-b3-traceid"));
  ctx.spanId = std::string(headers.get("x-b3-spanid"));
  return FilterStatus::Continue;
}

}  // namespace kgate::filters
