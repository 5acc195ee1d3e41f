#include "auth/jwt.h"

#include <cmath>
#include <optional>
#include <vector>

#include "auth/json_object.h"
#include "auth/safe_text.h"
#include "certs/keys.h"
#include "certs/rsa_crypt.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

// Far above any real registration JWT (~1 KB with a 4096-bit key); bounds the work done on junk.
constexpr size_t kMaxJwtBytes = 16 * 1024;

bool isRsa(const EVP_PKEY& key) { return EVP_PKEY_get_base_id(&key) == EVP_PKEY_RSA; }

// base64url part -> JSON object; `what` names the part in the error.
Result<json::object> decodeJsonPart(std::string_view part, const char* what) {
  auto raw = certs::base64UrlDecode(part);
  if (!raw) return fail(std::string("jwt ") + what + " is not base64url");
  return parseJsonObject(*raw, std::string("jwt ") + what);
}

// A NumericDate claim: absent (nullopt), or a number; anything else is an error.
Result<std::optional<double>> numericClaim(const json::object& claims, const char* name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::optional<double>();
  if (v->is_int64()) return std::optional<double>(double(v->get_int64()));
  if (v->is_uint64()) return std::optional<double>(double(v->get_uint64()));
  if (v->is_double() && std::isfinite(v->get_double())) {
    return std::optional<double>(v->get_double());
  }
  return fail(std::string("jwt claim ") + name + " is not a number");
}

// A claim time for a message; clamped so that absurd values do not overflow the conversion.
std::string timeText(double t) {
  if (t > 9e15) return "+inf";
  if (t < -9e15) return "-inf";
  return std::to_string(int64_t(t));
}

// The three parts of a compact JWS; fewer or more is malformed.
std::optional<std::vector<std::string_view>> splitParts(std::string_view jwt) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t dot = jwt.find('.'); dot != std::string_view::npos; dot = jwt.find('.', start)) {
    parts.push_back(jwt.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(jwt.substr(start));
  if (parts.size() != 3) return std::nullopt;
  return parts;
}

}  // namespace

std::string signJwtRs256(const EVP_PKEY& key, const json::object& claims) {
  if (!isRsa(key)) return {};
  std::string input = certs::base64UrlEncode(R"({"alg":"RS256","typ":"JWT"})") + "." +
                      certs::base64UrlEncode(json::serialize(claims));
  auto sig = certs::signSha256(key, input);
  if (!sig) return {};
  return input + "." + certs::base64UrlEncode(*sig);
}

Result<json::object> verifyJwtRs256(std::string_view jwt, const EVP_PKEY& publicKey,
                                    int64_t nowSeconds) {
  if (jwt.empty()) return fail("jwt is empty");
  if (jwt.size() > kMaxJwtBytes) return fail("jwt is longer than 16 KiB");
  auto parts = splitParts(jwt);
  if (!parts) return fail("jwt must have three dot-separated parts");
  const std::string_view headerPart = (*parts)[0], payloadPart = (*parts)[1];

  auto header = decodeJsonPart(headerPart, "header");
  if (!header) return fail(header.error());
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return fail("jwt header has no alg");
  if (alg->get_string() != "RS256") {
    return fail("jwt alg is " + quotedSafeText(alg->get_string(), 32) +
                ", only RS256 is accepted");
  }
  // RFC 7515 4.1.11: extensions we do not implement must not be silently ignored.
  if (header->contains("crit")) return fail("jwt header has crit extensions, none are supported");

  if (!isRsa(publicKey)) return fail("jwt verification key is not an RSA key");
  if ((*parts)[2].empty()) return fail("jwt has no signature");
  auto sig = certs::base64UrlDecode((*parts)[2]);
  if (!sig) return fail("jwt signature is not base64url");
  std::string_view signingInput = jwt.substr(0, headerPart.size() + 1 + payloadPart.size());
  if (!certs::verifySha256(publicKey, signingInput, *sig)) {
    return fail("jwt signature does not verify with the expected key");
  }

  auto claims = decodeJsonPart(payloadPart, "payload");
  if (!claims) return fail(claims.error());
  const double now = double(nowSeconds), skew = double(kJwtClockSkewSeconds);
  auto exp = numericClaim(*claims, "exp");
  if (!exp) return fail(exp.error());
  if (!*exp) return fail("jwt has no exp claim");
  if (**exp <= now - skew) {
    return fail("jwt expired at " + timeText(**exp) + " (now " +
                std::to_string(nowSeconds) + ")");
  }
  for (const char* name : {"nbf", "iat"}) {
    auto t = numericClaim(*claims, name);
    if (!t) return fail(t.error());
    if (*t && **t > now + skew) {
      return fail(std::string("jwt ") + name + " " + timeText(**t) +
                  " is in the future (now " + std::to_string(nowSeconds) + ")");
    }
  }
  return std::move(*claims);
}

}  // namespace kgate::auth
