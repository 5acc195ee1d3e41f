#include "auth/route_tokens.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>

#include "auth/token_set.h"
#include "certs/keys.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxBackoffSeconds = 60;
constexpr int64_t kNanos = 1'000'000'000;
// Kuscia's master drops a destination token 2 minutes after its expiry, not at it: clocks differ.
constexpr int64_t kExpirySlackNanos = 120 * kNanos;
constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxDestinationTokens = 2;

bool pastExpiry(const NegotiatedToken& t, int64_t nowSeconds, int64_t slackNanos) {
  if (t.expirationTime <= 0) return false;  // unknown expiry: rotation replaces it
  if (nowSeconds > std::numeric_limits<int64_t>::max() / kNanos) return true;
  if (t.expirationTime > std::numeric_limits<int64_t>::max() - slackNanos) return false;
  return nowSeconds * kNanos >= t.expirationTime + slackNanos;
}

json::object tokenToJson(const NegotiatedToken& t) {
  json::object o;
  o["token"] = t.token;
  o["revision"] = t.revision;
  o["expirationTime"] = t.expirationTime;
  return o;
}

Result<json::object> parseObject(std::string_view text, const std::string& what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return fail(what + " is not JSON: " + ec.message());
  if (!v.is_object()) return fail(what + " is not a JSON object");
  return std::move(v.get_object());
}

// A required integer member, at least min.
Result<int64_t> intField(const json::object& o, const char* name, const std::string& what,
                         int64_t min = 0) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return fail(what + " has no " + name);
  if (!v->is_int64() || v->get_int64() < min) {
    return fail(what + " field " + name + " must be an integer >= " + std::to_string(min));
  }
  return v->get_int64();
}

// Never echoes the token: the message says only what is wrong with it.
Result<NegotiatedToken> tokenFromJson(const json::value& v, const std::string& what) {
  if (!v.is_object()) return fail(what + " is not a JSON object");
  const json::object& o = v.get_object();
  const json::value* token = o.if_contains("token");
  if (token == nullptr || !token->is_string()) return fail(what + " has no token string");
  auto raw = certs::base64Decode(token->get_string());
  if (!raw || raw->size() != kTokenBytes) {
    return fail(what + " token is not base64 of " + std::to_string(kTokenBytes) + " bytes");
  }
  auto revision = intField(o, "revision", what, 1);
  if (!revision) return fail(revision.error());
  auto expiration = intField(o, "expirationTime", what);
  if (!expiration) return fail(expiration.error());
  return NegotiatedToken{std::string(token->get_string()), *revision, *expiration};
}

// Go's strconv.Atoi as Kuscia applies it to Kuscia-Token-Revision: optional sign, decimal.
std::optional<int64_t> parseRevision(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  int64_t n = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, n);
  if (ec != std::errc() || p != end) return std::nullopt;
  return n;
}

}  // namespace

// ---- SourceTokens ----

bool SourceTokens::handshakeDue(int64_t nowSeconds, int64_t periodSeconds) const {
  if (nowSeconds < retryAt_) return false;  // backing off after a failure
  if (!current_ || failures_ > 0) return true;
  if (periodSeconds > 0 && nowSeconds - installedAt_ >= periodSeconds) return true;
  return pastExpiry(*current_, nowSeconds, 0);
}

int64_t SourceTokens::nextRevision() const {
  return current_ && current_->revision > 0 ? current_->revision + 1 : 1;
}

void SourceTokens::install(const NegotiatedToken& token, int64_t nowSeconds) {
  current_ = token;
  installedAt_ = nowSeconds;
  confirmedAt_ = 0;
  retryAt_ = 0;
  failures_ = 0;
}

void SourceTokens::onHeartbeat(HeartbeatState state, int64_t nowSeconds) {
  switch (state) {
    case HeartbeatState::TokenReady:
      if (current_) confirmedAt_ = nowSeconds;
      break;
    case HeartbeatState::TokenNotFound:
    case HeartbeatState::NoAuthentication:
      // The destination no longer accepts our token: a fresh handshake (the revision rule
      // lets the destination pick the next one even though we propose 1).
      current_.reset();
      installedAt_ = 0;
      confirmedAt_ = 0;
      break;
    default:
      break;  // transient or informational: keep sending the token we have
  }
}

void SourceTokens::onHandshakeFailure(int64_t nowSeconds) {
  if (failures_ < std::numeric_limits<int>::max()) ++failures_;
  int shift = std::min(failures_ - 1, 6);  // 2^6 = 64 > the cap
  retryAt_ = nowSeconds + std::min<int64_t>(int64_t{1} << shift, kMaxBackoffSeconds);
}

void SourceTokens::clear() { *this = SourceTokens(); }

std::string SourceTokens::toJson() const {
  json::object o;
  if (current_) o["current"] = tokenToJson(*current_);
  o["installedAt"] = installedAt_;
  o["confirmedAt"] = confirmedAt_;
  o["retryAt"] = retryAt_;
  o["failures"] = failures_;
  return json::serialize(o);
}

Result<SourceTokens> SourceTokens::fromJson(std::string_view text) {
  const std::string what = "source route tokens";
  auto o = parseObject(text, what);
  if (!o) return fail(o.error());
  SourceTokens out;
  if (const json::value* c = o->if_contains("current"); c != nullptr && !c->is_null()) {
    auto token = tokenFromJson(*c, what + " current");
    if (!token) return fail(token.error());
    out.current_ = std::move(*token);
  }
  const std::pair<const char*, int64_t*> times[] = {
      {"installedAt", &out.installedAt_}, {"confirmedAt", &out.confirmedAt_},
      {"retryAt", &out.retryAt_}};
  for (auto [name, field] : times) {
    auto v = intField(*o, name, what);
    if (!v) return fail(v.error());
    *field = *v;
  }
  auto failures = intField(*o, "failures", what);
  if (!failures) return fail(failures.error());
  if (*failures > std::numeric_limits<int>::max()) return fail(what + " failures is too large");
  out.failures_ = int(*failures);
  return out;
}

// ---- DestinationTokens ----

int64_t DestinationTokens::newestRevision() const {
  return tokens_.empty() ? 0 : tokens_.back().revision;
}

bool DestinationTokens::newestSettled() const {
  return !tokens_.empty() && (confirmedAt_ != 0 || usedRevision_ >= newestRevision());
}

bool DestinationTokens::install(const NegotiatedToken& token, [[maybe_unused]] int64_t nowSeconds) {
  // The clock is not needed: a token starts unused and unconfirmed whenever it arrives.
  if (token.revision <= usedRevision_) return false;
  auto same = std::find_if(tokens_.begin(), tokens_.end(),
                           [&](const NegotiatedToken& t) { return t.revision == token.revision; });
  bool newest = tokens_.empty() || token.revision >= tokens_.back().revision;
  if (same != tokens_.end()) {
    *same = token;  // a retry of an unused revision: its new bytes replace the old
  } else {
    auto pos = std::upper_bound(
        tokens_.begin(), tokens_.end(), token,
        [](const NegotiatedToken& a, const NegotiatedToken& b) { return a.revision < b.revision; });
    tokens_.insert(pos, token);
  }
  // Keep the new token and the one in use; with none in use, the newest before the new one.
  int64_t keep = usedRevision_;
  if (std::none_of(tokens_.begin(), tokens_.end(),
                   [&](const NegotiatedToken& t) { return t.revision == keep; })) {
    keep = 0;
    for (const NegotiatedToken& t : tokens_)
      if (t.revision < token.revision) keep = t.revision;
  }
  std::erase_if(tokens_, [&](const NegotiatedToken& t) {
    return t.revision != token.revision && t.revision != keep;
  });
  if (newest) confirmedAt_ = 0;  // the newest bytes changed: wait for the source to name them
  return true;
}

bool DestinationTokens::noteUsed(int64_t revision, int64_t nowSeconds) {
  if (revision <= usedRevision_) return false;
  bool held = std::any_of(tokens_.begin(), tokens_.end(),
                          [&](const NegotiatedToken& t) { return t.revision == revision; });
  if (!held) return false;
  usedRevision_ = revision;
  usedAt_ = nowSeconds;
  return true;
}

HeartbeatState DestinationTokens::onHeartbeat(std::string_view revision, int64_t nowSeconds,
                                              std::string_view presentedToken) {
  auto r = parseRevision(revision);
  if (!r) return HeartbeatState::TokenRevisionInputInvalid;
  auto held = std::find_if(tokens_.begin(), tokens_.end(),
                           [&](const NegotiatedToken& t) { return t.revision == *r; });
  if (held == tokens_.end()) return HeartbeatState::TokenNotFound;
  if (!presentedToken.empty()) {
    // Different bytes under the same revision (a handshake replaced an unused one): the source
    // must negotiate again, which TokenNotFound makes it do.
    if (!equalInConstantTime(digestOf(presentedToken), digestOf(held->token)))
      return HeartbeatState::TokenNotFound;
    noteUsed(*r, nowSeconds);
  }
  lastHeartbeat_ = nowSeconds;
  if (*r == newestRevision() && confirmedAt_ == 0) confirmedAt_ = nowSeconds;
  return HeartbeatState::TokenReady;
}

bool DestinationTokens::expire(int64_t nowSeconds) {
  size_t before = tokens_.size();
  int64_t newest = newestRevision();
  if (usedRevision_ != 0 && nowSeconds - usedAt_ >= kGraceSeconds) {
    std::erase_if(tokens_, [&](const NegotiatedToken& t) { return t.revision < usedRevision_; });
  }
  std::erase_if(tokens_, [&](const NegotiatedToken& t) {
    return pastExpiry(t, nowSeconds, kExpirySlackNanos);
  });
  if (newestRevision() != newest) confirmedAt_ = 0;  // the confirmed token is gone
  // The token in use expired with nothing newer: the next handshake starts afresh.
  if (newestRevision() < usedRevision_) usedRevision_ = usedAt_ = 0;
  return tokens_.size() != before;
}

void DestinationTokens::clear() { *this = DestinationTokens(); }

std::string DestinationTokens::toJson() const {
  json::array tokens;
  for (const NegotiatedToken& t : tokens_) tokens.push_back(tokenToJson(t));
  json::object o;
  o["tokens"] = std::move(tokens);
  o["confirmedAt"] = confirmedAt_;
  o["usedRevision"] = usedRevision_;
  o["usedAt"] = usedAt_;
  o["lastHeartbeat"] = lastHeartbeat_;
  return json::serialize(o);
}

Result<DestinationTokens> DestinationTokens::fromJson(std::string_view text) {
  const std::string what = "destination route tokens";
  auto o = parseObject(text, what);
  if (!o) return fail(o.error());
  const json::value* tokens = o->if_contains("tokens");
  if (tokens == nullptr || !tokens->is_array()) return fail(what + " has no tokens array");
  if (tokens->get_array().size() > kMaxDestinationTokens) {
    return fail(what + " hold more than " + std::to_string(kMaxDestinationTokens) + " tokens");
  }
  DestinationTokens out;
  for (const json::value& v : tokens->get_array()) {
    auto token = tokenFromJson(v, what + " entry");
    if (!token) return fail(token.error());
    if (!out.tokens_.empty() && token->revision <= out.tokens_.back().revision) {
      return fail(what + " are not in increasing revision order");
    }
    out.tokens_.push_back(std::move(*token));
  }
  auto confirmed = intField(*o, "confirmedAt", what);
  if (!confirmed) return fail(confirmed.error());
  auto heartbeat = intField(*o, "lastHeartbeat", what);
  if (!heartbeat) return fail(heartbeat.error());
  out.confirmedAt_ = *confirmed;
  out.lastHeartbeat_ = *heartbeat;
  // Written since the token in use is protected; older files have neither (none in use yet).
  if (o->contains("usedRevision") || o->contains("usedAt")) {
    auto used = intField(*o, "usedRevision", what);
    if (!used) return fail(used.error());
    auto usedAt = intField(*o, "usedAt", what);
    if (!usedAt) return fail(usedAt.error());
    if (*used > out.newestRevision()) return fail(what + " usedRevision is above the newest token");
    out.usedRevision_ = *used;
    out.usedAt_ = *usedAt;
  }
  return out;
}

}  // namespace kgate::auth
