#include "certs/node_pki.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "certs/ca.h"
#include "certs/files.h"
#include "certs/ossl_util.h"
#include "conf/ascii.h"

namespace kgate::certs {

namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;
// Re-issue leaves this long before expiry so a node never serves an expired certificate.
constexpr auto kRenewBefore = std::chrono::hours(24 * 30);

// The form certSubjectAltNames reports, so wanted and present SANs compare as sets.
std::string sanKey(const std::string& san) {
  std::string ip = detail::canonicalIp(san);
  return ip.empty() ? "DNS:" + conf::asciiLower(san) : "IP:" + ip;
}

// base first, then extra, without empties or duplicates (DNS names compare case-insensitively).
std::vector<std::string> mergeSans(std::vector<std::string> base,
                                   const std::vector<std::string>& extra) {
  base.insert(base.end(), extra.begin(), extra.end());
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& san : base) {
    if (san.empty() || !seen.insert(sanKey(san)).second) continue;
    std::string ip = detail::canonicalIp(san);
    out.push_back(ip.empty() ? san : ip);
  }
  return out;
}

bool leafMatches(X509& cert, const CertSpec& spec, const X509& ca, const EVP_PKEY& key) {
  if (!verifySignedBy(cert, ca) || !certMatchesKey(cert, key)) return false;
  if (certSubjectCN(cert) != spec.commonName) return false;
  if (certNotAfter(cert) - std::chrono::system_clock::now() < kRenewBefore) return false;
  uint32_t eku = X509_get_extended_key_usage(&cert);
  if (((eku & XKU_SSL_SERVER) != 0) != spec.serverAuth) return false;
  if (((eku & XKU_SSL_CLIENT) != 0) != spec.clientAuth) return false;
  std::set<std::string> want, have;
  for (const std::string& san : spec.sans) want.insert(sanKey(san));
  for (const std::string& san : certSubjectAltNames(cert)) {
    have.insert(san.rfind("DNS:", 0) == 0 ? "DNS:" + conf::asciiLower(san.substr(4)) : san);
  }
  return want == have;
}

// A key file the operator made readable to others is tightened rather than trusted as is.
void tightenKeyMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) ::chmod(path.c_str(), kKeyMode);
}

struct KeyAndPem {
  PrivateKey key;
  std::string pem;
};

Result<KeyAndPem> generateKeyFile(const std::string& path) {
  auto key = generateRsaKey(2048);
  if (!key) return fail(key.error());
  std::string pem = privateKeyToPem(**key, true);
  if (pem.empty()) return fail("cannot encode key for " + path);
  if (auto w = writeFileAtomic(path, pem, kKeyMode); !w) return fail(w.error());
  return KeyAndPem{std::move(*key), std::move(pem)};
}

// Keeps a readable, parseable RSA key; replaces an unparseable one (its certificate follows).
Result<KeyAndPem> loadOrCreateLeafKey(const std::string& path) {
  if (!fileExists(path)) return generateKeyFile(path);
  auto text = readFile(path);
  if (!text) return fail(text.error());
  auto key = privateKeyFromPem(*text);
  if (!key || !EVP_PKEY_is_a(key->get(), "RSA")) return generateKeyFile(path);
  tightenKeyMode(path);
  return KeyAndPem{std::move(*key), std::move(*text)};
}

Result<void> ensureLeaf(const std::string& dir, const std::string& name, const CertSpec& spec,
                        const X509& ca, const EVP_PKEY& caKey, std::string& certPem,
                        std::string& keyPem) {
  const std::string certPath = dir + "/" + name + ".crt";
  auto key = loadOrCreateLeafKey(dir + "/" + name + ".key");
  if (!key) return fail(key.error());
  keyPem = std::move(key->pem);

  if (fileExists(certPath)) {
    auto text = readFile(certPath);
    if (!text) return fail(text.error());
    auto cert = certFromPem(*text);
    if (cert && leafMatches(**cert, spec, ca, *key->key)) {
      certPem = std::move(*text);
      return {};
    }
  }
  auto cert = issueCert(ca, caKey, *key->key, spec);
  if (!cert) return fail("cannot issue " + certPath + ": " + cert.error());
  certPem = certToPem(**cert);
  return writeFileAtomic(certPath, certPem, kCertMode);
}

struct Ca {
  Certificate cert;
  PrivateKey key;
};

// Checks a CA given in the options and puts it in the files loadOrCreateCa reads.
Result<void> installGivenCa(const NodePkiOptions& options) {
  const std::string certPath = options.certDir + "/ca.crt";
  const std::string keyPath = options.certDir + "/ca.key";
  auto cert = certFromPem(options.caCertPem);
  if (!cert) return fail("the stored CA certificate: " + cert.error());
  auto key = privateKeyFromPem(options.caKeyPem);
  if (!key) return fail("the stored CA key: " + key.error());
  if (!certMatchesKey(**cert, **key)) return fail("the stored CA key does not match its certificate");
  if (X509_check_ca(cert->get()) < 1) return fail("the stored CA certificate is not a CA");
  auto same = [](const std::string& path, const std::string& text) {
    auto have = readFile(path);
    return have && *have == text;
  };
  // Key first: a crash between the two leaves a mismatch that the next start repairs the same way.
  if (!same(keyPath, options.caKeyPem))
    if (auto w = writeFileAtomic(keyPath, options.caKeyPem, kKeyMode); !w) return fail(w.error());
  if (!same(certPath, options.caCertPem))
    if (auto w = writeFileAtomic(certPath, options.caCertPem, kCertMode); !w) return fail(w.error());
  return {};
}

Result<Ca> loadOrCreateCa(const NodePkiOptions& options, NodePki& out) {
  const std::string certPath = options.certDir + "/ca.crt";
  const std::string keyPath = options.certDir + "/ca.key";
  if (!options.caCertPem.empty() || !options.caKeyPem.empty())
    if (auto r = installGivenCa(options); !r) return fail(r.error());
  const bool haveCert = fileExists(certPath), haveKey = fileExists(keyPath);
  if (!haveCert && !haveKey) {
    // Both made in memory first, so a failure here leaves neither file behind.
    auto key = generateRsaKey(2048);
    if (!key) return fail(key.error());
    auto cert = createCaCert(**key, options.caCommonName);
    if (!cert) return fail("cannot create CA: " + cert.error());
    out.caKeyPem = privateKeyToPem(**key, true);
    out.caCertPem = certToPem(**cert);
    if (out.caKeyPem.empty() || out.caCertPem.empty()) return fail("cannot encode the new CA");
    if (auto w = writeFileAtomic(keyPath, out.caKeyPem, kKeyMode); !w) return fail(w.error());
    if (auto w = writeFileAtomic(certPath, out.caCertPem, kCertMode); !w) return fail(w.error());
    return Ca{std::move(*cert), std::move(*key)};
  }
  // Replacing a CA silently would break every peer that trusts it; the operator decides.
  const std::string advice = "; restore it, or remove both ca.crt and ca.key to create a new CA";
  if (!haveKey) return fail(keyPath + " is missing but " + certPath + " exists" + advice);
  if (!haveCert) return fail(certPath + " is missing but " + keyPath + " exists" + advice);

  auto certText = readFile(certPath);
  if (!certText) return fail(certText.error());
  auto keyText = readFile(keyPath);
  if (!keyText) return fail(keyText.error());
  auto cert = certFromPem(*certText);
  if (!cert) return fail(certPath + ": " + cert.error());
  auto key = privateKeyFromPem(*keyText);
  if (!key) return fail(keyPath + ": " + key.error());
  if (!certMatchesKey(**cert, **key)) {
    return fail(keyPath + " does not match " + certPath + advice);
  }
  if (X509_check_ca(cert->get()) < 1) return fail(certPath + " is not a CA certificate");
  if (certNotAfter(**cert) <= std::chrono::system_clock::now()) {
    return fail(certPath + " has expired" + advice);
  }
  tightenKeyMode(keyPath);
  out.caCertPem = std::move(*certText);
  out.caKeyPem = std::move(*keyText);
  return Ca{std::move(*cert), std::move(*key)};
}

}  // namespace

Result<NodePki> loadOrCreateNodePki(const NodePkiOptions& options) {
  if (options.certDir.empty()) return fail("node PKI: certificate directory is empty");
  if (options.domainID.empty()) return fail("node PKI: domain ID is empty");
  if (auto r = makeDirs(options.certDir, 0700); !r) return fail(r.error());

  NodePki pki;
  auto ca = loadOrCreateCa(options, pki);
  if (!ca) return fail(ca.error());

  CertSpec external{.commonName = options.domainID + "_ENVOY_EXTERNAL",
                    .sans = mergeSans({"127.0.0.1"}, options.sans)};
  CertSpec api{.commonName = "KusciaAPI",
               .sans = mergeSans({"kusciaapi", "localhost", "127.0.0.1"}, options.sans)};
  CertSpec admin{.commonName = options.domainID + "-admin",
                 .sans = {},
                 .serverAuth = false,
                 .clientAuth = true};

  const X509& caCert = *ca->cert;
  const EVP_PKEY& caKey = *ca->key;
  Result<void> r = ensureLeaf(options.certDir, "external", external, caCert, caKey,
                              pki.externalCertPem, pki.externalKeyPem);
  if (r) r = ensureLeaf(options.certDir, "api", api, caCert, caKey, pki.apiCertPem, pki.apiKeyPem);
  if (r) {
    r = ensureLeaf(options.certDir, "admin-client", admin, caCert, caKey, pki.adminClientCertPem,
                   pki.adminClientKeyPem);
  }
  if (!r) return fail(r.error());
  return pki;
}

}  // namespace kgate::certs
