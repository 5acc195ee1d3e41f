// Integration-test support: real processes on loopback, real clients, guaranteed cleanup.
// See README.md in this folder for the intended flow. Nothing here depends on GoogleTest:
// failures to start or to become ready throw std::runtime_error with the command line and the
// process's stderr, which gtest reports as a test failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kgate::test {

// ---------------------------------------------------------------------------------------------
// Ports, files, waiting

// A port that can be bound on `ip` right now. Ports are picked below the kernel's ephemeral
// range (so outgoing client connections cannot take them before the server binds) and are
// never handed out twice, by one test process or by two running at once (an flock'd file per
// port under $TMPDIR/kgate-test-ports, held until the process exits).
uint16_t freePort(const std::string& ip = "127.0.0.1");
// `n` distinct free ports on `ip`.
std::vector<uint16_t> freePorts(size_t n, const std::string& ip = "127.0.0.1");

// One TCP connect attempt (bounded by `timeout`); true if it was accepted.
bool canConnect(const std::string& ip, uint16_t port,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(200));
// Polls canConnect every 25 ms until it succeeds or `timeout` passes.
bool waitForPort(const std::string& ip, uint16_t port, std::chrono::milliseconds timeout);
// Polls `cond` until it returns true or `timeout` passes; evaluates it once more at the end.
bool waitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every = std::chrono::milliseconds(50));

// "<what>: <strerror(errno)>", for the exceptions a failed system call throws.
std::string errnoText(const std::string& what);
// Whole file as a string; empty if it cannot be read.
std::string readFile(const std::string& path);
// Writes `content` to `path` (truncating); throws on failure.
void writeFile(const std::string& path, const std::string& content);

// A field of /proc/<pid>/status in kB, e.g. "VmHWM" (peak RSS) or "VmRSS".
std::optional<long> procStatusKb(pid_t pid, const std::string& field);
// Whether this tree's programs (kgate, the test upstream) run under AddressSanitizer, whose
// quarantine and shadow memory inflate every memory figure. Asked at run time, so that a
// test's own objects are the same in the plain and the sanitized tree (test/CMakeLists.txt,
// kgate_test_executable).
bool sanitizedBuild();

// A fresh directory (mkdtemp under $TMPDIR or /tmp), removed recursively on destruction unless
// the environment has KGATE_KEEP_TEST_DIRS=1 (then its path is printed to stderr). Before that,
// the inspector set with setTempDirInspector (if any) sees it: the integration tests audit
// every log in it for secrets there (test/integration/secrets_audit.cc).
class TempDir;
void setTempDirInspector(std::function<void(const std::string& path)> inspector);

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "kgate-test");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const;

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Processes

struct ProcessOptions {
  // Default member initializers keep `{.name = "alice"}` free of -Wmissing-field-initializers.
  std::map<std::string, std::string> env{};  // added to / overriding the inherited environment
  std::string workDir{};                     // empty: the test binary's working directory
  std::string name{};                        // log file stem; default: basename of argv[0]
};

// A child process that cannot outlive the test: the destructor SIGKILLs its process group and
// reaps it, and the child has PR_SET_PDEATHSIG(SIGKILL). Note that the death signal follows the
// *thread* that created the Process: create long-lived processes from the test's main thread.
// stdin is /dev/null; stdout and stderr go to <logDir>/<name>.out and <logDir>/<name>.err.
// Not thread-safe: use one Process from one thread at a time.
class Process {
 public:
  // Throws std::runtime_error (with the command line) if the program cannot be executed.
  Process(std::vector<std::string> argv, const std::string& logDir, ProcessOptions options = {});
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` to the process (not its group); false if it has already exited.
  bool signal(int sig);
  // Exit code, or 128 + signal number if it was killed; nullopt if still running at timeout.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  // The exit code if the process has been reaped already.
  std::optional<int> exitCode() const { return exitCode_; }
  // SIGKILL to the whole process group, then reap.
  void kill();
  // SIGTERM, wait up to `grace`, then kill(); returns the exit code (128+9 if it was killed).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Waits until `ip:port` accepts a connection; false early if the process exits.
  bool waitForPort(const std::string& ip, uint16_t port, std::chrono::milliseconds timeout);
  // Waits until stdout or stderr contains `needle`; false early if the process exits.
  bool waitForOutput(const std::string& needle, std::chrono::milliseconds timeout);

  std::string stdoutText() const;
  std::string stderrText() const;
  const std::string& stdoutPath() const { return stdoutPath_; }
  const std::string& stderrPath() const { return stderrPath_; }
  std::string commandLine() const;
  // Command line, state and the tails of stdout/stderr: append to assertion messages.
  std::string describe();

 private:
  void reap(bool block);

  std::vector<std::string> argv_;
  std::string stdoutPath_, stderrPath_;
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
};

struct CommandResult {
  int exitCode = -1;  // -1 if killed at the timeout; 128 + signal if killed by a signal
  std::string out, err;
};

// Runs a command to completion, capturing stdout and stderr (both pipes are drained
// concurrently, so large outputs cannot deadlock). At the timeout the command is killed and
// exitCode is -1. Throws std::runtime_error if the program cannot be executed.
CommandResult run(const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60),
                  const std::string& stdinText = "",
                  const std::map<std::string, std::string>& env = {});

// Like run(), but hands output to the callbacks as it arrives instead of storing it
// (for GiB-sized outputs). Returns the exit code (-1 on timeout).
int runStreaming(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 const std::function<void(const char*, size_t)>& onStdout,
                 const std::function<void(const char*, size_t)>& onStderr,
                 const std::string& stdinText = "",
                 const std::map<std::string, std::string>& env = {});

// Supplies a child's stdin piece by piece: each call returns the next piece (which must stay
// valid until the next call); an empty view means end of input.
using StdinSource = std::function<std::string_view()>;
// runStreaming() with stdin produced on demand (e.g. GiB uploads that never exist whole).
int runWithInput(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 const StdinSource& stdinSource,
                 const std::function<void(const char*, size_t)>& onStdout,
                 const std::function<void(const char*, size_t)>& onStderr,
                 const std::map<std::string, std::string>& env = {});

// Shell-style quoting of argv for messages.
std::string quoteCommand(const std::vector<std::string>& argv);

// ---------------------------------------------------------------------------------------------
// HTTP

struct HttpReply {
  int status = 0;                                   // 0 if no response was received
  std::map<std::string, std::string> headers;       // lower-case names; last value wins
  std::vector<std::pair<std::string, std::string>> headerList;  // as received, in order
  std::string body;                                 // empty if CurlOptions::keepBody is false
  std::string httpVersion;                          // "1.0", "1.1", "2"
  std::string raw;                                  // everything curl dumped with -D
  int curlExit = 0;                                 // curl's exit code (-1: killed at timeout)
  std::string curlStderr;                           // curl's error message, if any
  uint64_t bodyBytes = 0;                           // always set, even without keepBody
  std::string bodySha256;                           // hex; always set

  // Value of a header (any case), or "" if absent.
  std::string header(const std::string& name) const;
  bool hasHeader(const std::string& name) const;
};

struct CurlOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(120);
  bool keepBody = true;   // false: only count and hash the body (GiB downloads)
  std::string stdinText{};  // curl's stdin, for `--data-binary @-`
  // If non-zero, curl's stdin is this many pattern bytes, generated as curl reads them (use with
  // `-T -` and `-X POST`: curl streams -T input, whereas it reads `@-` into memory first).
  uint64_t stdinPatternBytes = 0;
};

// Runs `curl -sS -D <tmpfile> -o - <args...>` and parses the last final (non-1xx) response.
// `args` are passed through unchanged: URL, -k, --cacert, --cert/--key, --http2,
// --http2-prior-knowledge, --http1.0, -H, -X, --data-binary @file, --resolve, --connect-to,
// -m, ... Do not pass -o, -D, -i or -w (they would clash with the body/header capture).
// A connection failure shows as curlExit != 0 (e.g. 7 refused, 52 empty reply, 56 reset,
// 18 partial body, 28 timeout) with status 0 or the status of the headers that did arrive.
HttpReply curl(const std::vector<std::string>& args, const CurlOptions& options = {});

// Hex SHA-256 of the first n bytes of the upstream's pattern (byte i = i % 251). Cached.
std::string patternSha256(uint64_t n);
// Hex SHA-256 of a buffer / of a file (streamed).
std::string sha256Hex(const std::string& data);
std::string fileSha256(const std::string& path);
// Writes n pattern bytes to `path` without holding them in memory (upload sources).
void writePatternFile(const std::string& path, uint64_t n);

// Minimal JSON lookup for the upstream's answers: the scalar at `path` (object keys, or array
// indexes written as decimal strings) as text (strings unescaped; numbers, true/false/null as
// written). nullopt if the document does not parse, the path is missing or names an object/array.
std::optional<std::string> jsonGet(const std::string& json, const std::vector<std::string>& path);

// ---------------------------------------------------------------------------------------------
// Upstream: kgate_test_upstream, the local service behind a gateway

class Upstream {
 public:
  struct Options {
    std::string ip = "127.0.0.1";
    uint16_t port = 0;       // 0: any free port, reported through a port file
    std::string name = "upstream";
    std::string logDir{};    // empty: a private TempDir
    unsigned threads = 4;
    std::chrono::milliseconds startTimeout = std::chrono::seconds(20);
  };
  struct Stats {
    uint64_t connectionsAccepted = 0;
    uint64_t requests = 0;   // includes the /stats request that reads them
    uint64_t unaskedSent = 0;  // responses /unasked sent after its answer
  };

  // Started and accepting when the constructor returns; throws std::runtime_error otherwise.
  Upstream();
  explicit Upstream(const std::string& ip, const std::string& name = "upstream");
  explicit Upstream(Options options);

  const std::string& ip() const { return options_.ip; }
  uint16_t port() const { return port_; }
  std::string hostPort() const;                          // "ip:port"
  std::string url(const std::string& path = "") const;  // "http://ip:port" + path
  Process& process() { return *process_; }
  Stats stats() const;

 private:
  Options options_;
  std::optional<TempDir> ownDir_;   // declared before process_: outlives it
  std::optional<Process> process_;
  uint16_t port_ = 0;
};

}  // namespace kgate::test
