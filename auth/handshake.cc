#include "auth/handshake.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <limits>

#include "auth/json_object.h"
#include "auth/safe_text.h"
#include "certs/keys.h"
#include "certs/rsa_crypt.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "kuscia";  // Kuscia's integrity marker before each secret
constexpr size_t kHalfBytes = 16;                // S and D

// Appends s as a JSON string the way Go's encoding/json writes it (HTML-safe escapes, invalid
// UTF-8 as U+FFFD), so kgate's bytes match what a Kuscia peer would produce and log.
void appendGoString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      static constexpr std::string_view kShort[] = {"\\b", "\\t", "\\n", "", "\\f", "\\r"};
      if (c == '"' || c == '\\') {
        out += '\\';
        out += char(c);
      } else if (c >= '\b' && c <= '\r' && !kShort[c - '\b'].empty()) {
        out += kShort[c - '\b'];
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += char(c);
      }
      ++i;
      continue;
    }
    // Valid UTF-8 sequence length at i (Go's utf8.DecodeRuneInString rules), 0 when invalid.
    auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
    auto in = [](unsigned char b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
    size_t n = 0;
    if (in(c, 0xc2, 0xdf)) {
      n = in(at(1), 0x80, 0xbf) ? 2 : 0;
    } else if (in(c, 0xe0, 0xef)) {
      unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
      n = in(at(1), lo, hi) && in(at(2), 0x80, 0xbf) ? 3 : 0;
    } else if (in(c, 0xf0, 0xf4)) {
      unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
      n = in(at(1), lo, hi) && in(at(2), 0x80, 0xbf) && in(at(3), 0x80, 0xbf) ? 4 : 0;
    }
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (n == 3 && c == 0xe2 && at(1) == 0x80 && (at(2) == 0xa8 || at(2) == 0xa9)) {
      out += at(2) == 0xa8 ? "\\u2028" : "\\u2029";  // JavaScript line separators
      i += 3;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

// Writes one object with omitempty members in declaration order.
class GoObject {
 public:
  explicit GoObject(std::string& out) : out_(out) { out_ += '{'; }
  void str(const char* key, std::string_view v) {
    if (v.empty()) return;
    appendKey(key);
    appendGoString(out_, v);
  }
  void num(const char* key, int64_t v) {
    if (v == 0) return;
    appendKey(key);
    out_ += std::to_string(v);
  }
  // Starts a nested object (always written: a non-nil pointer marshals even when empty).
  void key(const char* key) { appendKey(key); }
  void close() { out_ += '}'; }

 private:
  void appendKey(const char* key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }
  std::string& out_;
  bool first_ = true;
};

// Reads the members of one object the way Go's encoding/json fills a struct: absent or null
// members are zero values, unknown ones are ignored, mistyped ones fail. Remembers the first
// failure so the decoders read straight through.
class Reader {
 public:
  Reader(const json::object& obj, std::string what) : obj_(obj), what_(std::move(what)) {}
  std::string str(const char* name, bool required = false) {
    const json::value* v = member(name);
    if (v == nullptr && required) failWith(std::string(" has no ") + name);
    if (v == nullptr) return {};
    if (v->is_string()) return std::string(v->get_string());
    failWith(std::string(" field ") + name + " must be a string");
    return {};
  }
  // int64 as Go writes it (a number), or as protojson does (a string of digits).
  int64_t num(const char* name, int64_t min = std::numeric_limits<int64_t>::min(),
              int64_t max = std::numeric_limits<int64_t>::max()) {
    const json::value* v = member(name);
    if (v == nullptr) return 0;
    int64_t n = 0;
    bool ok = v->is_int64() || (v->is_uint64() && v->get_uint64() <= uint64_t(max));
    if (ok) {
      n = v->is_int64() ? v->get_int64() : int64_t(v->get_uint64());
    } else if (v->is_string()) {
      std::string_view s = v->get_string();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      ok = !s.empty() && ec == std::errc() && p == s.data() + s.size();
    }
    if (!ok || n < min || n > max) failWith(std::string(" field ") + name + " is not an integer");
    return n;
  }
  // A nested object, or nullptr when absent (or mistyped: then error() is set).
  std::optional<Reader> object(const char* name) {
    const json::value* v = member(name);
    if (v != nullptr && v->is_object()) return Reader(v->get_object(), what_ + " " + name);
    if (v != nullptr) failWith(std::string(" field ") + name + " must be an object");
    return std::nullopt;
  }
  const std::optional<std::string>& error() const { return error_; }

 private:
  const json::value* member(const char* name) const {
    const json::value* v = obj_.if_contains(name);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  void failWith(const std::string& why) {
    if (!error_) error_ = what_ + why;
  }
  const json::object& obj_;
  std::string what_;
  std::optional<std::string> error_;
};

DestinationDecision refuse(std::string message) {
  DestinationDecision d;
  d.reply.code = 500;
  d.reply.message = std::move(message);
  return d;
}

// Go's time.AddDate(100, 0, 0) in UTC: calendar years, Feb 29 rolling over to Mar 1.
int64_t plusHundredYears(int64_t nowNanos) {
  using namespace std::chrono;
  sys_time<nanoseconds> t{nanoseconds(nowNanos)};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  year_month_day later{ymd.year() + years(100), ymd.month(), ymd.day()};
  auto laterDay = sys_days(later.year() / later.month() / 1) + (later.day() - std::chrono::day(1));
  return (sys_time<nanoseconds>(laterDay) + (t - day)).time_since_epoch().count();
}

int64_t expirationFor(int64_t nowNanos, int64_t periodSeconds) {
  if (periodSeconds <= 0) return plusHundredYears(nowNanos);
  int64_t span = 0, at = 0;
  if (__builtin_mul_overflow(periodSeconds, 2 * kNanos, &span) ||
      __builtin_add_overflow(nowNanos, span, &at)) {
    return plusHundredYears(nowNanos);  // a period this long means "never" in practice
  }
  return at;
}

// A retry of the highest issued revision, while no source has shown it holds it, gets that
// revision again (a lost reply burns none); anything else gets the next. Proposals are not
// followed upward: one post could otherwise push revisions past what Kuscia sources read (int32).
int64_t assignRevision(int64_t proposed, int64_t issued, bool settled) {
  if (issued > 0 && proposed == issued && !settled) return issued;
  return issued + 1;
}

}  // namespace

std::string encodeHandshakeRequest(const HandshakeRequest& r) {
  std::string out;
  GoObject o(out);
  o.str("domain_id", r.domainId);
  o.str("type", r.type);
  if (r.type == "RSA" || !r.token.empty() || r.revision != 0 || !r.pubhash.empty()) {
    o.key("token_config");
    GoObject c(out);
    c.str("token", r.token);
    c.num("revision", r.revision);
    c.str("pubhash", r.pubhash);
    c.close();
  }
  o.num("request_time", r.requestTime);
  o.close();
  return out;
}

Result<HandshakeRequest> decodeHandshakeRequest(std::string_view body) {
  auto obj = parseJsonObject(body, "handshake request");
  if (!obj) return fail(obj.error());
  Reader in(*obj, "handshake request");
  HandshakeRequest r;
  r.domainId = in.str("domain_id", true);
  r.type = in.str("type", true);
  r.requestTime = in.num("request_time");
  // Absent (or null) token_config leaves the fields empty; answerHandshake refuses that cleanly.
  if (auto tc = in.object("token_config")) {
    r.token = tc->str("token");
    r.revision = tc->num("revision");
    r.pubhash = tc->str("pubhash");
    if (tc->error()) return fail(*tc->error());
  }
  if (in.error()) return fail(*in.error());
  if (r.domainId.empty()) return fail("handshake request domain_id is empty");
  return r;
}

std::string encodeHandshakeReply(const HandshakeReply& r) {
  std::string out;
  GoObject o(out);
  o.key("status");
  GoObject s(out);
  s.num("code", r.code);
  s.str("message", r.message);
  s.close();
  if (r.code == 0 || !r.token.empty()) {
    o.key("token");
    GoObject t(out);
    t.str("token", r.token);
    t.num("expiration_time", r.expirationTime);
    t.num("revision", r.revision);
    t.close();
  }
  o.close();
  return out;
}

Result<HandshakeReply> decodeHandshakeReply(std::string_view body) {
  auto obj = parseJsonObject(body, "handshake reply");
  if (!obj) return fail(obj.error());
  Reader in(*obj, "handshake reply");
  HandshakeReply r;
  // Kuscia's source fails a reply without status ("status is null"); so does kgate's.
  auto status = in.object("status");
  if (!status && !in.error()) return fail("handshake reply has no status");
  if (status) {
    r.code = int(status->num("code", std::numeric_limits<int32_t>::min(),
                             std::numeric_limits<int32_t>::max()));
    r.message = status->str("message");
    if (status->error()) return fail(*status->error());
  }
  if (auto t = in.object("token")) {
    r.token = t->str("token");
    r.expirationTime = t->num("expiration_time");
    r.revision = t->num("revision");
    if (t->error()) return fail(*t->error());
  }
  if (in.error()) return fail(*in.error());
  return r;
}

Result<std::string> kusciaEncrypt(const EVP_PKEY& publicKey, std::string_view secret) {
  std::string plain(kPrefix);
  plain.append(secret);
  auto cipher = certs::rsaEncryptPkcs1(publicKey, plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!cipher) return fail(cipher.error());
  return certs::base64Encode(*cipher);
}

Result<std::string> kusciaDecrypt(const EVP_PKEY& privateKey, std::string_view base64, size_t n) {
  auto cipher = certs::base64Decode(base64);
  if (!cipher) return fail("encrypted secret is not base64");
  auto plain = certs::rsaDecryptPkcs1(privateKey, *cipher);
  // One message for padding, length and prefix failures: none of them may be told apart.
  const std::string kWrong = "encrypted secret does not decrypt with this key";
  if (!plain) return fail(kWrong);
  bool ok = plain->size() == kPrefix.size() + n &&
            CRYPTO_memcmp(plain->data(), kPrefix.data(), kPrefix.size()) == 0;
  std::string secret = ok ? plain->substr(kPrefix.size()) : std::string();
  OPENSSL_cleanse(plain->data(), plain->size());
  if (!ok) return fail(kWrong);
  return secret;
}

namespace {
// What is signed: a fixed context and the destination, then the body, so the signature means
// nothing elsewhere, nor at another destination.
std::string signedText(std::string_view destination, std::string_view body) {
  std::string text = "kgate handshake v1\n";
  text.append(destination).append("\n").append(body);
  return text;
}
}  // namespace

Result<std::string> signHandshake(const EVP_PKEY& sourceKey, std::string_view destination,
                                  std::string_view body) {
  auto sig = certs::signSha256(sourceKey, signedText(destination, body));
  if (!sig) return fail("cannot sign the handshake: " + sig.error());
  return certs::base64Encode(*sig);
}

bool handshakeSignedBy(const EVP_PKEY& sourcePublicKey, std::string_view destination,
                       std::string_view body, std::string_view signature) {
  auto sig = certs::base64Decode(signature);
  return sig && certs::verifySha256(sourcePublicKey, signedText(destination, body), *sig);
}

std::string pubhash(std::string_view publicKeyPem) {
  return certs::base64Encode(certs::sha256(publicKeyPem));
}

Result<SourceHandshake> startHandshake(const std::string& sourceDomain,
                                       const std::string& sourcePublicKeyPem,
                                       const EVP_PKEY& destinationPublicKey,
                                       int64_t proposedRevision, int64_t nowNanos) {
  if (sourceDomain.empty()) return fail("handshake source domain is empty");
  if (sourcePublicKeyPem.empty()) return fail("handshake source public key is empty");
  SourceHandshake started;
  started.secret = certs::randomBytes(kHalfBytes);
  auto token = kusciaEncrypt(destinationPublicKey, started.secret);
  if (!token) return fail("cannot encrypt to the destination public key: " + token.error());
  started.request.domainId = sourceDomain;
  started.request.type = "RSA";
  started.request.token = std::move(*token);
  started.request.revision = proposedRevision;
  started.request.pubhash = pubhash(sourcePublicKeyPem);
  started.request.requestTime = nowNanos;
  return started;
}

Result<NegotiatedToken> finishHandshake(const SourceHandshake& started, const HandshakeReply& reply,
                                        const EVP_PKEY& sourcePrivateKey) {
  if (reply.code != 0) {
    // The peer's text (Kuscia's messages name the destination), kept to one printable line.
    std::string why;
    for (unsigned char c : std::string_view(reply.message).substr(0, 300)) {
      why += (c < 0x20 || c == 0x7f) ? ' ' : char(c);
    }
    if (why.empty()) why = "status code " + std::to_string(reply.code);
    return fail("handshake refused by the destination: " + why);
  }
  if (reply.token.empty()) return fail("handshake reply has no token");
  if (reply.revision < 1) return fail("handshake reply has no valid revision");
  if (started.secret.size() != kHalfBytes) return fail("handshake was not started");
  auto d = kusciaDecrypt(sourcePrivateKey, reply.token, kHalfBytes);
  if (!d) return fail("handshake reply token: " + d.error());
  std::string raw = started.secret + *d;
  NegotiatedToken out{certs::base64Encode(raw), reply.revision, reply.expirationTime};
  OPENSSL_cleanse(raw.data(), raw.size());
  OPENSSL_cleanse(d->data(), d->size());
  return out;
}

DestinationDecision answerHandshake(const HandshakeRequest& request, const std::string& self,
                                    const DestinationRoute& route,
                                    const EVP_PKEY& selfPrivateKey, int64_t nowNanos) {
  const std::string& src = request.domainId;
  const std::string routeName = src + "-" + self;
  if (!route.exists) {
    return refuse("domainRoute [" + routeName + "] not found in dest domain [" + self + "]");
  }
  // kgate answers RSA only: the deprecated UID mode is refused like an unknown type.
  if (request.type != "RSA")
    return refuse("invalid handshake type [" + safeText(request.type) + "]");

  const std::string keyPrefix =
      "invalid source domain [" + src + "] publickey in domainroute [" + routeName + "], error: ";
  if (route.sourcePublicKeyPem.empty()) return refuse(keyPrefix + "public key is empty");
  auto sourceKey = certs::publicKeyFromPem(route.sourcePublicKeyPem);
  if (!sourceKey) return refuse(keyPrefix + sourceKey.error());
  if (!EVP_PKEY_is_a(sourceKey->get(), "RSA")) return refuse(keyPrefix + "not an RSA key");

  // Where Kuscia dereferences a nil token_config and drops the connection.
  if (request.token.empty() && request.pubhash.empty() && request.revision == 0) {
    return refuse("token_config is missing in the RSA handshake request from source domain [" +
                  src + "]");
  }
  if (request.pubhash != pubhash(route.sourcePublicKeyPem)) {
    return refuse("source domain [" + src + "] publickey hash mismatch in domainroute [" +
                  routeName + "]");
  }
  auto s = kusciaDecrypt(selfPrivateKey, request.token, kHalfBytes);
  if (!s) {
    return refuse("dest domain [" + self + "] publickey in source domain [" + src +
                  "] may be not correct");
  }

  std::string d = certs::randomBytes(kHalfBytes);  // aborts rather than return weak bytes
  auto encrypted = kusciaEncrypt(**sourceKey, d);
  if (!encrypted) {
    return refuse("encrypt auth token with source domain [" + src + "] publickey error: " +
                  encrypted.error());
  }
  int64_t revision = assignRevision(request.revision, route.issuedRevision, route.newestSettled);
  if (revision > std::numeric_limits<int32_t>::max()) {
    return refuse("token revisions of domainroute [" + routeName +
                  "] are used up; delete and re-create the route");
  }
  std::string raw = *s + d;
  NegotiatedToken token{certs::base64Encode(raw), revision,
                        expirationFor(nowNanos, route.rollingPeriodSeconds)};
  OPENSSL_cleanse(raw.data(), raw.size());
  OPENSSL_cleanse(s->data(), s->size());
  OPENSSL_cleanse(d.data(), d.size());

  HandshakeReply reply{0, "", std::move(*encrypted), token.expirationTime, token.revision};
  return DestinationDecision{std::move(reply), std::move(token)};
}

}  // namespace kgate::auth
