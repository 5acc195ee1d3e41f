#include "auth/register_wire.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <memory>

#include "auth/jwt.h"
#include "auth/safe_text.h"
#include "certs/csr.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

constexpr int64_t kJwtLifetimeSeconds = 300;  // Kuscia's: the JWT covers one request
constexpr int kMinRsaBits = 2048;

// The first PEM block's type label, or nullopt when the text holds no PEM block.
std::optional<std::string> firstPemType(std::string_view text) {
  if (text.size() > size_t(INT32_MAX)) return std::nullopt;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), int(text.size())),
                                                &BIO_free);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  bool ok = bio && PEM_read_bio(bio.get(), &name, &header, &data, &len) == 1;
  std::optional<std::string> type;
  if (ok) type = std::string(name);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  ERR_clear_error();
  return type;
}

// A string field of the reply, decoded from base64.
Result<std::string> base64Field(const json::object& obj, const char* name) {
  const json::value* v = obj.if_contains(name);
  if (v == nullptr) return fail(std::string("register reply has no ") + name);
  if (!v->is_string()) return fail(std::string("register reply field ") + name +
                                   " is not a string");
  auto raw = certs::base64Decode(v->get_string());
  if (!raw) return fail(std::string("register reply field ") + name + " is not base64");
  return std::move(*raw);
}

}  // namespace

std::string registerRequestHash(const std::string& domainId, const std::string& csrBase64,
                                int64_t requestTime) {
  return certs::sha256(domainId + "_" + csrBase64 + "_" + std::to_string(requestTime));
}

Result<RegisterRequest> buildRegisterRequest(const EVP_PKEY& domainKey, const std::string& domainId,
                                             const std::string& deployToken, int64_t requestTime,
                                             int64_t nowSeconds) {
  auto csr = certs::buildCsr(domainKey, domainId, deployToken);
  if (!csr) return fail("cannot build the registration CSR: " + csr.error());
  std::string pem = certs::csrToPem(**csr);
  if (pem.empty()) return fail("cannot encode the registration CSR as PEM");
  std::string csrBase64 = certs::base64Encode(pem);

  json::object body;
  body["domain_id"] = domainId;
  body["csr"] = csrBase64;
  body["request_time"] = requestTime;

  // req_hash is a Go [32]byte on Kuscia's side, so JSON carries it as 32 numbers, not base64.
  json::array reqHash;
  for (unsigned char c : registerRequestHash(domainId, csrBase64, requestTime)) {
    reqHash.push_back(int64_t(c));
  }
  json::object claims;
  claims["req_hash"] = std::move(reqHash);
  claims["iss"] = domainId;
  claims["sub"] = domainId;
  claims["iat"] = nowSeconds;
  claims["exp"] = nowSeconds + kJwtLifetimeSeconds;
  std::string jwt = signJwtRs256(domainKey, claims);
  if (jwt.empty()) return fail("cannot sign the registration JWT: the domain key must be RSA");
  return RegisterRequest{json::serialize(body), std::move(jwt)};
}

Result<RegisterResult> parseRegisterReply(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return fail("register reply is not JSON: " + ec.message());
  const json::object* obj = v.if_object();
  if (obj == nullptr) return fail("register reply is not a JSON object");

  RegisterResult out;
  auto cert = base64Field(*obj, "cert");
  if (!cert) return fail(cert.error());
  if (auto parsed = certs::certFromPem(*cert); !parsed) {
    return fail("register reply cert is not a PEM certificate: " + parsed.error());
  }
  out.certPem = std::move(*cert);

  auto pub = base64Field(*obj, "master_pubkey");
  if (!pub) return fail(pub.error());
  if (auto parsed = certs::publicKeyFromPem(*pub); !parsed) {
    return fail("register reply master_pubkey is not a PEM public key: " + parsed.error());
  }
  out.masterPublicKeyPem = std::move(*pub);

  // Kuscia's master sends no "ca"; an empty one means the same.
  if (const json::value* ca = obj->if_contains("ca");
      ca != nullptr && !(ca->is_string() && ca->get_string().empty())) {
    auto caPem = base64Field(*obj, "ca");
    if (!caPem) return fail(caPem.error());
    if (auto parsed = certs::certFromPem(*caPem); !parsed) {
      return fail("register reply ca is not a PEM certificate: " + parsed.error());
    }
    out.caCertPem = std::move(*caPem);
  }
  return out;
}

Result<RegisterBody> parseRegisterBody(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return fail("register request body is not JSON: " + ec.message());
  const json::object* obj = v.if_object();
  if (obj == nullptr) return fail("register request body is not a JSON object");

  RegisterBody out;
  const std::pair<const char*, std::string*> fields[] = {{"domain_id", &out.domainId},
                                                         {"csr", &out.csr}};
  for (auto [name, field] : fields) {
    const json::value* f = obj->if_contains(name);
    if (f == nullptr) return fail(std::string("register request has no ") + name);
    if (!f->is_string()) return fail(std::string("register request ") + name +
                                     " must be a string");
    *field = std::string(f->get_string());
  }
  if (out.domainId.empty()) return fail("register request domain_id is empty");
  if (out.csr.empty()) return fail("register request csr is empty");
  if (const json::value* t = obj->if_contains("request_time"); t != nullptr) {
    if (t->is_int64()) {
      out.requestTime = t->get_int64();
    } else {
      return fail("register request request_time must be a 64-bit integer");
    }
  }
  return out;
}

Result<certs::CertRequest> decodeRegisterCsr(std::string_view csrBase64) {
  auto pem = certs::base64Decode(csrBase64);
  if (!pem) return fail("csr is not base64: " + pem.error());
  auto type = firstPemType(*pem);
  if (!type) return fail("csr is not PEM");
  if (*type != "CERTIFICATE REQUEST") {
    return fail("csr PEM type is " + quotedSafeText(*type, 40) +
                ", must be \"CERTIFICATE REQUEST\"");
  }
  auto csr = certs::csrFromPem(*pem);
  if (!csr) return fail("csr does not parse: " + csr.error());
  if (!certs::verifyCsrSignature(**csr)) return fail("csr signature does not verify");
  auto key = certs::csrPublicKey(**csr);
  if (!key) return fail("csr public key: " + key.error());
  if (EVP_PKEY_get_base_id(key->get()) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key->get()) <
                                                              kMinRsaBits) {
    return fail("csr key must be RSA of at least 2048 bits (the registration JWT is RS256)");
  }
  return std::move(*csr);
}

Result<void> verifyRegisterJwt(std::string_view jwt, const EVP_PKEY& csrKey,
                               const RegisterBody& body, int64_t nowSeconds) {
  auto claims = verifyJwtRs256(jwt, csrKey, nowSeconds);
  if (!claims) return fail(claims.error());
  const json::value* hash = claims->if_contains("req_hash");
  if (hash == nullptr) return fail("jwt has no req_hash claim");
  const json::array* bytes = hash->if_array();
  if (bytes == nullptr || bytes->size() != 32) {
    return fail("jwt req_hash must be an array of 32 bytes");
  }
  std::string got;
  for (const json::value& b : *bytes) {
    if (!b.is_int64() || b.get_int64() < 0 || b.get_int64() > 255) {
      return fail("jwt req_hash must be an array of 32 bytes");
    }
    got += char(b.get_int64());
  }
  std::string want = registerRequestHash(body.domainId, body.csr, body.requestTime);
  if (CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0) {
    return fail("the request content does not match the jwt's req_hash");
  }
  return {};
}

}  // namespace kgate::auth
