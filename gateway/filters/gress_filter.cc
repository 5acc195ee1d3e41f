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

struct IdentityHeaders {
  std::string_view repeated;     // an identity header given more than once, or ""
  std::string_view underscored;  // the name of one spelt with underscores, or ""
};

// Whether a request carries an identity header more than once (the token filter and the router
// read the first, and a local service might read another), or spelt with underscores (kgate
// reads the dashes; a local service might read the underscores, or a peer take it for a second).
IdentityHeaders identityHeaders(const http::Headers& headers) {
  int source = 0, token = 0, host = 0, origin = 0;
  std::string_view underscored;
  auto see = [&](const std::string& name, std::string_view identity, int& count) {
    if (!spells(name, identity)) return;
    ++count;
    if (underscored.empty() && name != identity) underscored = name;
  };
  for (const auto& f : headers) {
    switch (f.name.size()) {
      case 11:
        see(f.name, "kuscia-host", host);
        break;
      case 12:
        see(f.name, "kuscia-token", token);
        break;
      case 13:
        see(f.name, "kuscia-source", source);
        break;
      case 20:
        see(f.name, "kuscia-origin-source", origin);
        break;
      default:
        break;
    }
  }
  return {source > 1   ? "kuscia-source"
          : token > 1  ? "kuscia-token"
          : host > 1   ? "kuscia-host"
          : origin > 1 ? "kuscia-origin-source"
                       : "",
          underscored};
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
    IdentityHeaders identity = identityHeaders(headers);
    if (!identity.repeated.empty() || !identity.underscored.empty()) {
      ctx.host = ctx.originalHost;
      ctx.reply(400, cause::kBadRequest,
                !identity.repeated.empty()
                    ? std::string(identity.repeated) + " appears more than once"
                    : std::string(identity.underscored) + " is spelt with underscores");
      return FilterStatus::Stop;
    }
    std::string_view kusciaHost = headers.get("kuscia-host");
    ctx.host = kusciaHost.empty() ? ctx.originalHost : lowerHost(kusciaHost);
    if (isHandshakeHost(ctx.snap, ctx.host)) ctx.target = StreamContext::Target::Handshake;
  } else {
    ctx.host = ctx.originalHost;
    // Peers refuse them, and the router only rewrites the spellings with dashes.
    while (true) {
      std::string_view underscored = identityHeaders(headers).underscored;
      if (underscored.empty()) break;
      headers.remove(std::string(underscored));
    }
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
