// Authority::registerLite: POST /register from a lite (controlplane.md section 1.6), with
// kgate's precise statuses instead of Kuscia's 500s. Checks run cheapest and least trusting
// first: nothing touches the store before the request has proven possession of the CSR's key,
// and nothing is signed before the domain is known. Messages never carry the deploy token, the
// CSR or the JWT; text taken from the request is sanitised before it is echoed.
#include <openssl/x509.h>

#include <algorithm>
#include <boost/json.hpp>

#include "auth/authority.h"
#include "auth/register_wire.h"
#include "auth/reply.h"
#include "auth/safe_text.h"
#include "certs/csr.h"
#include "conf/domain_id.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

constexpr size_t kMaxBodyBytes = 64 * 1024;  // a 4096-bit CSR in base64 is ~2.5 KB
// Calendar ten years (with its leap days), as Kuscia's AddDate(10, 0, 0); from now, not from
// request_time, which a stock Kuscia lite fills with the nanosecond-of-second.
constexpr std::chrono::hours kCertValidity{24 * (365 * 10 + 2)};

Reply badRequest(std::string message) {
  return error(400, std::move(message), "register_bad_request");
}

// The caller is anyone on the network: the store's own words (host names, addresses, SQL
// errors) go to the node's log, not to it.
Reply storeTrouble(const StoreError& e) {
  Reply r = e.kind == StoreErrorKind::Unavailable
                ? error(503, "authority store unavailable; retry later", "store_unavailable")
                : error(500, "authority store error; see the master's log", "store_error");
  r.detail = e.message;
  return r;
}

// A random positive 63-bit serial (Go and Java read serials as signed) with a non-zero top byte:
// shorter than 8 bytes in DER, scanners (testssl.sh) report it as too little entropy.
uint64_t randomSerial() {
  uint64_t serial = 0;
  while (serial < (uint64_t(1) << 56)) {
    serial = 0;
    for (char c : certs::randomBytes(sizeof serial)) serial = (serial << 8) | uint8_t(c);
    serial &= 0x7fffffffffffffffULL;
  }
  return serial;
}

}  // namespace

Reply Authority::registerLite(const std::string& body, const std::string& jwt,
                              const std::string& peerIp) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  if (!registrations_.allow(peerIp, clock_() * 1000)) {
    return error(429, "too many registration attempts from " + safeText(peerIp) + "; retry later",
                 "register_rate_limited");
  }
  const int64_t now = clock_();

  // b, c: the body and the CSR it carries.
  if (body.size() > kMaxBodyBytes) return badRequest("register request body exceeds 64 KiB");
  auto request = parseRegisterBody(body);
  if (!request) return badRequest(request.error());
  const std::string& domain = request->domainId;
  if (!conf::isDnsLabel(domain)) {
    return badRequest("register request domain_id: " + conf::validateDomainId(domain).error());
  }
  auto csr = decodeRegisterCsr(request->csr);
  if (!csr) return badRequest(csr.error());

  // d: the certificate will name the CN, so it must be the domain being registered.
  std::string cn = certs::csrCommonName(**csr);
  if (cn != domain) {
    return badRequest(cn.empty() ? "the CSR has no common name; it must be " + domain
                                 : "the CSR's common name is " + safeText(cn) + ", not " + domain);
  }
  if (certs::csrCommonNameCount(**csr) != 1) {
    return badRequest("the CSR names more than one common name; it must name " + domain + " alone");
  }

  // e: the JWT proves the sender holds the CSR's key and binds it to this exact body.
  if (jwt.empty()) return error(400, "the jwt-token header is missing", "register_bad_jwt");
  auto csrKey = certs::csrPublicKey(**csr);
  if (!csrKey) return badRequest("csr public key: " + csrKey.error());
  if (auto verified = verifyRegisterJwt(jwt, **csrKey, *request, now); !verified) {
    return error(400, "verify jwt failed: " + verified.error(), "register_bad_jwt");
  }

  // f: the domain must have been added on this master, and be a lite.
  auto record = store_->getDomain(domain);
  if (!record.ok()) {
    if (record.error.kind == StoreErrorKind::NotFound) {
      return error(404,
                   "domain " + domain + " not found; add it on the master with kgate domain add " +
                       domain,
                   "register_unknown_domain");
    }
    return storeTrouble(record.error);
  }
  if (domain == keys_.masterDomainID || record.value->role == "master") {
    return error(403, "domain " + domain + " is this master's own domain; it does not register",
                 "register_not_lite");
  }

  const std::string masterPub = certs::base64Encode(certs::publicKeyToPem(*masterKey_, true));
  const std::string caPem = certs::base64Encode(certs::certToPem(*caCert_));
  auto success = [&](const std::string& certPem) {
    json::object reply{{"cert", certs::base64Encode(certPem)},
                       {"master_pubkey", masterPub},
                       {"ca", caPem}};
    return okJson(reply);
  };

  // g: same key as the stored certificate: a restart or another instance of the same lite.
  if (!record.value->certPem.empty()) {
    auto stored = certs::certFromPem(record.value->certPem);
    const EVP_PKEY* storedKey = stored ? X509_get0_pubkey(stored->get()) : nullptr;
    if (storedKey != nullptr && certs::samePublicKey(*storedKey, **csrKey)) {
      return success(record.value->certPem);
    }
  }

  // h: a new key needs an unused deploy token.
  auto token = certs::csrExtensionValue(**csr, certs::kDeployTokenOid);
  if (!token || token->empty()) {
    return error(400, "the CSR carries no deploy token (extension 1.2.3.4)",
                 "register_no_token");
  }

  // i: sign, then consume the token and store the certificate in one transaction.
  certs::CertSpec spec;
  spec.commonName = cn;
  spec.validity = kCertValidity;
  spec.clientAuth = true;
  spec.serverAuth = true;
  auto cert = certs::signCsr(*caCert_, *caKey_, **csr, spec, randomSerial());
  if (!cert) {
    return error(500, "cannot sign the certificate: " + cert.error(), "register_sign_failed");
  }
  const std::string certPem = certs::certToPem(**cert);
  DeployToken next;
  next.token = newDeployToken();
  next.domain = domain;
  next.createdAt = now;
  const int64_t ttl = record.value->tokenTtlSeconds;
  next.expiresAt = ttl > 0 ? now + ttl : 0;
  auto consumed = store_->consumeDeployToken(domain, *token, certPem, next, now);
  if (!consumed.ok()) {
    if (consumed.error.kind == StoreErrorKind::NotFound) {  // deleted since the lookup
      return error(404, "domain " + domain + " not found", "register_unknown_domain");
    }
    return storeTrouble(consumed.error);
  }
  switch (*consumed.value) {
    case ConsumeOutcome::Consumed:
      return success(certPem);
    case ConsumeOutcome::UnknownToken:
      return error(401, "deploy token not valid for domain " + domain, "register_unknown_token");
    case ConsumeOutcome::AlreadyUsed:
      return error(409,
                   "deploy token already used; get the unused one with kgate domain token " +
                       domain,
                   "register_token_used");
    case ConsumeOutcome::Expired:
      return error(401, "deploy token expired; get a new one with kgate domain token " + domain,
                   "register_token_expired");
  }
  return error(500, "authority store returned an unknown outcome", "store_error");
}

}  // namespace kgate::auth
