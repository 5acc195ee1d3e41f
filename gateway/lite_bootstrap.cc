#include "gateway/lite_bootstrap.h"

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "auth/register_wire.h"
#include "certs/files.h"
#include "certs/keys.h"
#include "gateway/log.h"
#include "gateway/sync_client.h"

namespace kgate {
namespace {

using namespace std::chrono_literals;

// Network failures (master not up yet, restarting) are retried with exponential backoff for
// this long; an answer the master gives, whatever it is, is final.
constexpr auto kRetryBudget = 60s;

Result<SyncResponse> withRetries(const SyncRequest& req, const std::string& what) {
  auto delay = 500ms;
  auto giveUpAt = std::chrono::steady_clock::now() + kRetryBudget;
  for (;;) {
    bool retryable = false;
    auto r = httpRequest(req, &retryable);
    if (r || !retryable) return r;
    if (std::chrono::steady_clock::now() + delay > giveUpAt)
      return fail(what + ": " + r.error() + " (gave up after " +
                  std::to_string(kRetryBudget.count()) + " s)");
    KGATE_LOG(Warn, what << ": " << r.error() << "; retrying in " << delay.count() << " ms");
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(8000));
  }
}

Result<std::string> learnMasterDomain(const std::string& endpoint) {
  SyncRequest req;
  req.url = endpoint + "/handshake";
  req.headers = {{"Kuscia-Host", "kuscia-handshake.master.svc"}};
  auto r = withRetries(req, "asking " + endpoint + " for its domain");
  if (!r) return fail(r.error());
  boost::system::error_code ec;
  auto doc = boost::json::parse(r->body, ec);
  const boost::json::value* ns =
      !ec && doc.is_object() ? doc.as_object().if_contains("namespace") : nullptr;
  if (r->status != 200 || !ns || !ns->is_string() || ns->as_string().empty())
    return fail("master " + endpoint + " answered GET /handshake with HTTP " +
                std::to_string(r->status) + ", not its domain: " +
                firstLineOf(r->body, 300));
  return std::string(ns->as_string());
}

bool alreadyRegistered(const std::string& certDir, const EVP_PKEY& key, LiteIdentity& out) {
  auto cert = certs::readFile(certDir + "/domain.crt");
  auto info = certs::readFile(certDir + "/master.json");
  if (!cert || !info) return false;
  auto parsed = certs::certFromPem(*cert);
  if (!parsed || !certs::certMatchesKey(**parsed, key)) return false;
  boost::system::error_code ec;
  auto doc = boost::json::parse(*info, ec);
  const boost::json::value* id =
      !ec && doc.is_object() ? doc.as_object().if_contains("domainID") : nullptr;
  if (!id || !id->is_string()) return false;
  out.masterDomainID = std::string(id->as_string());
  out.certPem = *cert;
  out.masterPublicKeyPem = certs::readFile(certDir + "/master.pub").value_or("");
  out.masterCaPem = certs::readFile(certDir + "/master-ca.crt").value_or("");
  return true;
}

}  // namespace

Result<LiteIdentity> bootstrapLite(const conf::Config& config, const EVP_PKEY& domainKey,
                                   const std::string& certDir) {
  const std::string& master = config.masterEndpoint;
  // The probe: an unauthenticated request must get the gateway's 401 with its error header.
  SyncRequest probe;
  probe.url = master + "/";
  auto answer = withRetries(probe, "probing the master at " + master);
  if (!answer) return fail(answer.error());
  if (answer->status != 401 || answer->header("kuscia-error-message").empty())
    return fail("master " + master + " answered HTTP " + std::to_string(answer->status) +
                " without kuscia-error-message, not a gateway's 401: is it the master's "
                "external port (-p) and the right scheme?");

  LiteIdentity id;
  if (alreadyRegistered(certDir, domainKey, id)) {
    KGATE_LOG(Info, "registered with master " << id.masterDomainID << " (certificate in "
                                              << certDir << "/domain.crt)");
    return id;
  }
  if (config.liteDeployToken.empty())
    return fail("not registered with the master yet and the config has no liteDeployToken: get "
                "one on the master with `kgate domain token " + config.domainID + "`");

  auto masterDomain = learnMasterDomain(master);
  if (!masterDomain) return fail(masterDomain.error());

  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto request = auth::buildRegisterRequest(
      domainKey, config.domainID, config.liteDeployToken,
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(),
      std::chrono::duration_cast<std::chrono::seconds>(now).count());
  if (!request) return fail("cannot build the registration request: " + request.error());
  SyncRequest reg;
  reg.method = "POST";
  reg.url = master + "/register";
  reg.body = request->body;
  reg.headers = {{"Kuscia-Host", "kuscia-handshake.master.svc"},
                 {"Content-Type", "application/json"},
                 {"jwt-token", request->jwt}};
  auto reply = withRetries(reg, "registering with " + master);
  if (!reply) return fail(reply.error());
  if (reply->status != 200)
    return fail("registration refused by the master (HTTP " + std::to_string(reply->status) +
                "): " + firstLineOf(reply->body, 300));
  auto result = auth::parseRegisterReply(reply->body);
  if (!result) return fail("the master's registration reply is unusable: " + result.error());

  boost::json::object info{{"domainID", *masterDomain}, {"endpoint", master}};
  for (auto [file, content] :
       {std::pair<const char*, std::string>{"master-ca.crt", result->caCertPem},
        {"master.pub", result->masterPublicKeyPem},
        {"master.json", boost::json::serialize(info) + "\n"},
        // Last: its presence (matching our key) is what marks the lite as registered.
        {"domain.crt", result->certPem}}) {
    if (auto w = certs::writeFileAtomic(certDir + "/" + file, content, 0600); !w)
      return fail("cannot store the registration: " + w.error());
  }
  id.masterDomainID = *masterDomain;
  id.certPem = result->certPem;
  id.masterPublicKeyPem = result->masterPublicKeyPem;
  id.masterCaPem = result->caCertPem;
  id.registeredNow = true;
  KGATE_LOG(Info, "registered with master " << id.masterDomainID << " at " << master);
  return id;
}

}  // namespace kgate
