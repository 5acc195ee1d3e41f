#include "auth/route_tokens.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>

#include "auth/json_object.h"
#include "auth/token_set.h"
#include "certs/keys.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxBackoffSeconds = 60;
// Kuscia's master drops a destination token 2 minutes after its expiry, not at it: clocks differ.
constexpr int64_t kExpirySlackNanos = 120 * kNanos;
constexpr size_t kTokenBytes = 32;

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
  // The next scheduled rotation waits for the last one to settle, whatever the period: a token
  // sent on must be one every master of the destination confirmed.
  if (periodSeconds > 0 && nowSeconds - installedAt_ >= periodSeconds && !previous_) return true;
  return pastExpiry(*current_, nowSeconds, 0);
}

int64_t SourceTokens::nextRevision() const {
  return current_ && current_->revision > 0 ? current_->revision + 1 : 1;
}

int64_t SourceTokens::nextRequestTime(int64_t nowNanos) {
  if (lastRequestTime_ < std::numeric_limits<int64_t>::max())
    lastRequestTime_ = std::max(nowNanos, lastRequestTime_ + 1);
  return lastRequestTime_;
}

void SourceTokens::install(const NegotiatedToken& token, int64_t nowSeconds, bool rotation) {
  // After failed attempts a destination may hold newer tokens than ours (a Kuscia one keeps
  // two, and each attempt adds one): only a first-try rotation knows its previous token is good.
  bool keep = rotation && current_ && confirmedAt_ != 0 && failures_ == 0 &&
              !pastExpiry(*current_, nowSeconds, 0);
  previous_ = keep ? current_ : std::nullopt;
  current_ = token;
  installedAt_ = nowSeconds;
  confirmedAt_ = 0;
  retryAt_ = 0;
  failures_ = 0;
}

bool SourceTokens::settle(int64_t nowSeconds) {
  if (!previous_) return false;
  bool settled = nowSeconds < installedAt_ || nowSeconds - installedAt_ >= kSettleSeconds;
  if (!settled && !pastExpiry(*previous_, nowSeconds, 0)) return false;
  previous_.reset();
  return true;
}

void SourceTokens::onHeartbeat(HeartbeatState state, int64_t nowSeconds) {
  switch (state) {
    case HeartbeatState::TokenReady:
      if (current_) confirmedAt_ = nowSeconds;
      break;
    case HeartbeatState::TokenNotFound:
      // A destination with several masters learns a token from the one that negotiated it a
      // second or so later; until then the others do not know it. A token never confirmed gets
      // a few seconds (heartbeats go on meanwhile) before it is given up.
      // (A clock that went back, or another master's, does not stretch it.)
      if (current_ && confirmedAt_ == 0 && nowSeconds >= installedAt_ &&
          nowSeconds - installedAt_ < kSettleSeconds)
        break;
      [[fallthrough]];
    case HeartbeatState::NoAuthentication:
      // The destination no longer accepts our token: a fresh handshake (the revision rule
      // lets the destination pick the next one even though we propose 1).
      current_.reset();
      previous_.reset();
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

void SourceTokens::clear() {
  int64_t last = lastRequestTime_;  // request times keep growing across a fresh start
  *this = SourceTokens();
  lastRequestTime_ = last;
}

std::string SourceTokens::toJson() const {
  json::object o;
  if (current_) o["current"] = tokenToJson(*current_);
  if (previous_) o["previous"] = tokenToJson(*previous_);
  o["installedAt"] = installedAt_;
  o["confirmedAt"] = confirmedAt_;
  o["retryAt"] = retryAt_;
  o["failures"] = failures_;
  o["lastRequestTime"] = lastRequestTime_;
  return json::serialize(o);
}

Result<SourceTokens> SourceTokens::fromJson(std::string_view text) {
  const std::string what = "source route tokens";
  auto o = parseJsonObject(text, what);
  if (!o) return fail(o.error());
  SourceTokens out;
  if (const json::value* c = o->if_contains("current"); c != nullptr && !c->is_null()) {
    auto token = tokenFromJson(*c, what + " current");
    if (!token) return fail(token.error());
    out.current_ = std::move(*token);
  }
  if (const json::value* p = o->if_contains("previous"); p != nullptr && !p->is_null()) {
    auto token = tokenFromJson(*p, what + " previous");
    if (!token) return fail(token.error());
    out.previous_ = std::move(*token);
    if (!out.current_) return fail(what + " has a previous token but no current one");
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
  if (o->contains("lastRequestTime")) {  // written since handshakes are signed
    auto last = intField(*o, "lastRequestTime", what);
    if (!last) return fail(last.error());
    out.lastRequestTime_ = *last;
  }
  return out;
}

// ---- DestinationTokens ----

std::vector<NegotiatedToken> DestinationTokens::accepted() const {
  std::vector<NegotiatedToken> out;
  for (const Held& h : tokens_) out.push_back(h.token);
  return out;
}

int64_t DestinationTokens::newestRevision() const {
  return tokens_.empty() ? 0 : tokens_.back().token.revision;
}

size_t DestinationTokens::usedCount() const {
  return size_t(
      std::count_if(tokens_.begin(), tokens_.end(), [](const Held& h) { return h.usedAt != 0; }));
}

const DestinationTokens::Held* DestinationTokens::inUse() const {
  for (auto it = tokens_.rbegin(); it != tokens_.rend(); ++it)
    if (it->usedAt != 0) return &*it;
  return nullptr;
}

bool DestinationTokens::newestSettled() const {
  if (issued_ == 0) return false;
  if (namedAt_ != 0) return true;
  size_t held = 0;
  for (const Held& h : tokens_) {
    if (h.token.revision != issued_) continue;
    if (h.usedAt != 0 || ++held >= kMaxPerRevision) return true;
  }
  return false;
}

void DestinationTokens::trim() {
  // Revisions newer than the one in use wait for the source: the newest kMaxUnused, whole.
  const Held* used = inUse();
  const int64_t usedRevision = used ? used->token.revision : 0;
  size_t olderThanUsed = used ? size_t(used - tokens_.data()) : 0;
  size_t revisions = 0;
  int64_t last = 0;
  for (size_t i = tokens_.size(); i-- > 0;) {
    const int64_t r = tokens_[i].token.revision;
    if (r <= usedRevision) break;
    if (r != last) ++revisions, last = r;
    if (revisions > kMaxUnused) tokens_.erase(tokens_.begin() + std::ptrdiff_t(i));
  }
  // Memory stays bounded: what is older than the token in use goes first (the waiting ones are
  // at most kMaxUnused x kMaxPerRevision).
  while (tokens_.size() > kMaxHeld && olderThanUsed > 0) {
    tokens_.erase(tokens_.begin());
    --olderThanUsed;
  }
}

void DestinationTokens::install(const NegotiatedToken& token, [[maybe_unused]] int64_t nowSeconds) {
  // The clock is not needed: a token starts unused whenever it arrives.
  if (token.revision > issued_) {
    issued_ = token.revision;
    namedAt_ = 0;  // a new revision: no heartbeat has named it yet
  }
  auto pos = std::upper_bound(tokens_.begin(), tokens_.end(), token.revision,
                              [](int64_t r, const Held& h) { return r < h.token.revision; });
  tokens_.insert(pos, Held{token, 0});
  trim();
}

bool DestinationTokens::noteUsed(std::string_view token, int64_t nowSeconds) {
  for (Held& h : tokens_) {
    if (h.token.token != token || h.usedAt != 0) continue;
    h.usedAt = nowSeconds;
    trim();  // what is in use moved: older unused tokens no longer wait for it
    return true;
  }
  return false;
}

HeartbeatState DestinationTokens::onHeartbeat(std::string_view revision, int64_t nowSeconds,
                                              std::string_view presentedToken) {
  auto r = parseRevision(revision);
  if (!r) return HeartbeatState::TokenRevisionInputInvalid;
  bool held = std::any_of(tokens_.begin(), tokens_.end(),
                          [&](const Held& h) { return h.token.revision == *r; });
  if (!held) return HeartbeatState::TokenNotFound;
  if (!presentedToken.empty()) {
    // Compared as digests in constant time, against every token of that revision.
    const TokenSet::Digest presented = digestOf(presentedToken);
    const Held* match = nullptr;
    for (const Held& h : tokens_)
      if (h.token.revision == *r && equalInConstantTime(digestOf(h.token.token), presented))
        match = &h;
    // Not bytes we hold under that revision: the source must negotiate again.
    if (!match) return HeartbeatState::TokenNotFound;
    noteUsed(match->token.token, nowSeconds);
  } else if (!signer_.empty()) {
    // A source that signs is kgate, whose heartbeats present the token: one without it is
    // someone else's and says nothing about the source (READY's heartbeat timeout).
    return HeartbeatState::TokenReady;
  }
  lastHeartbeat_ = nowSeconds;
  if (*r == issued_ && namedAt_ == 0) namedAt_ = nowSeconds;
  return HeartbeatState::TokenReady;
}

bool DestinationTokens::expire(int64_t nowSeconds) {
  size_t before = tokens_.size();
  if (const Held* used = inUse(); used && nowSeconds - used->usedAt >= kGraceSeconds)
    tokens_.erase(tokens_.begin(), tokens_.begin() + (used - tokens_.data()));
  std::erase_if(tokens_,
                [&](const Held& h) { return pastExpiry(h.token, nowSeconds, kExpirySlackNanos); });
  return tokens_.size() != before;
}

std::string DestinationTokens::signingRefusal(const std::string& source, const std::string& signer,
                                              bool isSigned, int64_t requestTime) const {
  if (signer_.empty() || signer_ != signer) return "";
  if (!isSigned) {
    return "source domain [" + source + "] signs its handshakes; an unsigned one is refused";
  }
  if (requestTime <= signedRequestTime_) {
    return "handshake request_time from source domain [" + source +
           "] is not newer than its last signed one (a replay, or its clock went back)";
  }
  return "";
}

void DestinationTokens::noteSigned(const std::string& signer, int64_t requestTime) {
  if (signer != signer_) signedRequestTime_ = 0;
  signer_ = signer;
  signedRequestTime_ = std::max(signedRequestTime_, requestTime);
}

void DestinationTokens::merge(const DestinationTokens& other) {
  for (const Held& theirs : other.tokens_) {
    auto mine = std::find_if(tokens_.begin(), tokens_.end(),
                             [&](const Held& h) { return h.token.token == theirs.token.token; });
    if (mine == tokens_.end()) {
      auto pos = std::upper_bound(tokens_.begin(), tokens_.end(), theirs.token.revision,
                                  [](int64_t r, const Held& h) { return r < h.token.revision; });
      tokens_.insert(pos, theirs);
    } else if (theirs.usedAt != 0 && (mine->usedAt == 0 || theirs.usedAt < mine->usedAt)) {
      mine->usedAt = theirs.usedAt;
    }
  }
  if (other.issued_ > issued_) {
    issued_ = other.issued_;
    namedAt_ = other.namedAt_;
  } else if (other.issued_ == issued_ && other.namedAt_ != 0 &&
             (namedAt_ == 0 || other.namedAt_ < namedAt_)) {
    namedAt_ = other.namedAt_;
  }
  lastHeartbeat_ = std::max(lastHeartbeat_, other.lastHeartbeat_);
  if (!other.signer_.empty() && other.signedRequestTime_ > signedRequestTime_) {
    signer_ = other.signer_;
    signedRequestTime_ = other.signedRequestTime_;
  }
  trim();
}

void DestinationTokens::clear() { *this = DestinationTokens(); }

std::string DestinationTokens::toJson() const {
  json::array tokens;
  for (const Held& h : tokens_) {
    json::object t = tokenToJson(h.token);
    t["usedAt"] = h.usedAt;
    tokens.push_back(std::move(t));
  }
  json::object o;
  o["tokens"] = std::move(tokens);
  o["issuedRevision"] = issued_;
  o["confirmedAt"] = namedAt_;
  o["lastHeartbeat"] = lastHeartbeat_;
  if (!signer_.empty()) {
    o["signer"] = signer_;
    o["signedRequestTime"] = signedRequestTime_;
  }
  return json::serialize(o);
}

Result<DestinationTokens> DestinationTokens::fromJson(std::string_view text) {
  const std::string what = "destination route tokens";
  auto o = parseJsonObject(text, what);
  if (!o) return fail(o.error());
  const json::value* tokens = o->if_contains("tokens");
  if (tokens == nullptr || !tokens->is_array()) return fail(what + " has no tokens array");
  if (tokens->get_array().size() > kMaxHeld) {
    return fail(what + " hold more than " + std::to_string(kMaxHeld) + " tokens");
  }
  // What was in use, as written for a few commits before it was kept per token.
  int64_t legacyUsedRevision = 0, legacyUsedAt = 0;
  if (o->contains("usedRevision")) {
    auto r = intField(*o, "usedRevision", what);
    if (!r) return fail(r.error());
    legacyUsedRevision = *r;
    if (auto at = intField(*o, "usedAt", what)) legacyUsedAt = *at;
  }
  DestinationTokens out;
  for (const json::value& v : tokens->get_array()) {
    auto token = tokenFromJson(v, what + " entry");
    if (!token) return fail(token.error());
    if (token->revision < out.newestRevision()) {
      return fail(what + " are not in revision order");
    }
    Held h{std::move(*token), 0};
    if (legacyUsedRevision > 0 && h.token.revision == legacyUsedRevision)
      h.usedAt = std::max<int64_t>(legacyUsedAt, 1);
    // Written since use is tracked; an older file's tokens read as not used yet.
    if (v.get_object().contains("usedAt")) {
      auto usedAt = intField(v.get_object(), "usedAt", what + " entry");
      if (!usedAt) return fail(usedAt.error());
      h.usedAt = *usedAt;
    }
    out.tokens_.push_back(std::move(h));
  }
  auto confirmed = intField(*o, "confirmedAt", what);
  if (!confirmed) return fail(confirmed.error());
  auto heartbeat = intField(*o, "lastHeartbeat", what);
  if (!heartbeat) return fail(heartbeat.error());
  out.namedAt_ = *confirmed;
  out.lastHeartbeat_ = *heartbeat;
  out.issued_ = out.newestRevision();
  if (o->contains("issuedRevision")) {
    auto issued = intField(*o, "issuedRevision", what);
    if (!issued) return fail(issued.error());
    if (*issued < out.newestRevision())
      return fail(what + " issuedRevision is below a token's revision");
    out.issued_ = *issued;
  }
  if (const json::value* k = o->if_contains("signer")) {
    if (!k->is_string() || k->get_string().empty())
      return fail(what + " signer must be a non-empty string");
    auto t = intField(*o, "signedRequestTime", what);
    if (!t) return fail(t.error());
    out.signer_ = std::string(k->get_string());
    out.signedRequestTime_ = *t;
  }
  return out;
}

}  // namespace kgate::auth
