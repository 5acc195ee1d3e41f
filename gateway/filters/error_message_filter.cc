#include "gateway/filters/error_message_filter.h"

namespace kgate::filters {

std::string errorMessage(const conf::Config& config, ListenerKind listener, bool local,
                         int status, std::string_view cause, std::string_view message,
                         std::string_view originalHost, std::string_view upstreamMessage,
                         std::string_view upstreamInternal) {
  const std::string& d = config.domainID;
  const std::string& i = config.instance;
  std::string out;
  if (config.errorMessageFormat == conf::ErrorMessageFormat::Seed) {
    out = "Domain " + d + "." + i;
    if (!local && !upstreamMessage.empty()) return out + "<--" + std::string(upstreamMessage);
    if (!local && !upstreamInternal.empty()) return out + ": " + std::string(upstreamInternal);
    return out + "<--" + std::string(originalHost) + " return http code " +
           std::to_string(status) + ".";
  }
  std::string desc = d + "/" + i + "/" + std::string(toString(listener));
  if (local) {
    std::string text = message.empty() ? std::string(http::reasonPhrase(status))
                                       : std::string(message);
    return "<" + desc + " $" + std::string(cause) + "$ " + text + ">";
  }
  if (!upstreamMessage.empty()) return "<" + desc + "> => " + std::string(upstreamMessage);
  std::string text = !upstreamInternal.empty() ? std::string(upstreamInternal)
                                               : std::string(http::reasonPhrase(status));
  return "<" + desc + "> => <upstream " + text + ">";
}

void ErrorMessageFilter::onResponse(StreamContext& ctx, http::ResponseHead& head) {
  std::string internal;
  if (const std::string* v = head.headers.find("kuscia-error-message-internal")) {
    internal = *v;
    head.headers.remove("kuscia-error-message-internal");  // a second scan, only when it is there
  }
  if (head.status >= 400 && head.status <= 599) {
    std::string upstream = ctx.local ? std::string() : std::string(head.headers.get("kuscia-error-message"));
    head.headers.set("kuscia-error-message",
                     errorMessage(*ctx.snap.config, ctx.listener, ctx.local, head.status,
                                  ctx.cause, ctx.message, ctx.originalHost, upstream, internal));
  }
  if (ctx.listener == ListenerKind::External) head.headers.set("server", "kuscia-gateway");
  head.headers.set("x-accel-buffering", "no");
}

}  // namespace kgate::filters
