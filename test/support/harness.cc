// Ports, files, waiting, temporary directories. Processes are in process.cc; HTTP helpers and
// Upstream in http_client.cc.
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kgate::test {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// IPv4 or IPv6 literal -> sockaddr; throws on anything else (tests never resolve names).
socklen_t makeAddr(const std::string& ip, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof(sockaddr_in6);
  }
  throw std::invalid_argument("not an IP address literal: " + ip);
}

// Binds ip:port (no SO_REUSEADDR, so TIME_WAIT and listeners on 0.0.0.0 count as busy).
// Returns the fd and the bound port, or fd -1.
std::pair<int, uint16_t> bindPort(const std::string& ip, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len = makeAddr(ip, port, ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(errnoText("socket"));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return {-1, 0};
  }
  len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  uint16_t bound = ss.ss_family == AF_INET
                       ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                       : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return {fd, bound};
}

// Lower bound of the kernel's ephemeral range (ports the kernel gives to outgoing connections).
int ephemeralLow() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  f >> low >> high;
  return low;
}

std::mutex portsMutex;
std::set<uint16_t> portsHandedOut;

// Test processes run side by side (ctest -j), each picking ports that its nodes bind only
// later. A port is claimed across processes with an flock on a file named after it, held until
// this process exits (the kernel drops it even on a crash): no two test processes get one port.
bool claimAcrossProcesses(uint16_t port) {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / "kgate-test-ports").string();
    ::mkdir(d.c_str(), 01777);
    ::chmod(d.c_str(), 01777);
    return d;
  }();
  int fd = ::open((dir + "/" + std::to_string(port)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // cannot coordinate: fall back to the bind check alone
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;  // another test process has it
  }
  return true;  // fd stays open, holding the claim, for the life of this process
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string errnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

uint16_t freePort(const std::string& ip) { return freePorts(1, ip).front(); }

std::vector<uint16_t> freePorts(size_t n, const std::string& ip) {
  std::lock_guard lock(portsMutex);
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  int high = ephemeralLow() - 1;
  int low = std::max(10000, high - 12000);
  std::vector<uint16_t> out;
  std::vector<int> held;  // keep each bound until all are found, so they are distinct
  for (int attempt = 0; out.size() < n && attempt < 5000; ++attempt) {
    uint16_t candidate = 0;
    if (high > low) {
      candidate = static_cast<uint16_t>(std::uniform_int_distribution<int>(low, high)(rng));
      if (portsHandedOut.count(candidate)) continue;
    }
    auto [fd, port] = bindPort(ip, candidate);  // candidate 0 (odd port range): kernel picks
    if (fd < 0) continue;
    held.push_back(fd);
    if (portsHandedOut.count(port) || !claimAcrossProcesses(port)) continue;
    portsHandedOut.insert(port);
    out.push_back(port);
  }
  for (int fd : held) ::close(fd);
  if (out.size() < n) throw std::runtime_error("no free ports on " + ip);
  return out;
}

bool canConnect(const std::string& ip, uint16_t port, std::chrono::milliseconds timeout) {
  sockaddr_storage ss;
  socklen_t len = makeAddr(ip, port, ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
      int err = 0;
      socklen_t errLen = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errLen);
      ok = err == 0;
    }
  }
  ::close(fd);
  return ok;
}

bool waitForPort(const std::string& ip, uint16_t port, std::chrono::milliseconds timeout) {
  return waitUntil([&] { return canConnect(ip, port); }, timeout, std::chrono::milliseconds(25));
}

bool waitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(every);
  }
  return cond();
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

bool sanitizedBuild() {
#ifdef KGATE_SANITIZED
  return true;
#else
  return false;
#endif
}

std::optional<long> procStatusKb(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, field.size() + 1, field + ":") != 0) continue;
    try {
      return std::stol(line.substr(field.size() + 1));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error(errnoText("mkdtemp " + tmpl));
  path_ = tmpl;
}

namespace {
std::function<void(const std::string&)>& tempDirInspector() {
  static std::function<void(const std::string&)> inspector;
  return inspector;
}
}  // namespace

void setTempDirInspector(std::function<void(const std::string& path)> inspector) {
  tempDirInspector() = std::move(inspector);
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  if (tempDirInspector()) tempDirInspector()(path_);
  const char* keep = std::getenv("KGATE_KEEP_TEST_DIRS");
  if (keep && std::string(keep) == "1") {
    std::cerr << "kgate test: keeping " << path_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir dying(std::move(*this));
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

std::string TempDir::file(const std::string& name) const { return path_ + "/" + name; }

}  // namespace kgate::test
