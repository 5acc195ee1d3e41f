// Child processes: Process (long-running, logs to files) and run()/runWithInput() (to completion).
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kgate::test {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

void ignoreSigpipeOnce() {
  // Writing to a child's closed stdin must fail with EPIPE rather than kill the test binary.
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

int decodeStatus(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// Exit code of a finished child (nullopt while it runs; -1 if it cannot be waited for). Before
// reaping, its process group gets SIGKILL: the zombie still reserves the group id, so leftover
// grandchildren die and no unrelated process can be hit.
std::optional<int> reapChild(pid_t pid, bool block) {
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PID, pid, &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -1;  // ECHILD: reaped elsewhere; nothing left to wait for
  if (info.si_pid != pid) return std::nullopt;
  ::kill(-pid, SIGKILL);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return decodeStatus(st);
}

// fork + execvpe with the given stdio fds. Everything the child touches is prepared before
// fork, because only async-signal-safe calls are allowed in the child of a threaded program.
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& workDir, int inFd, int outFd, int errFd) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  ignoreSigpipeOnce();
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> envStrings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (!env.count(std::string(kv.substr(0, kv.find('='))))) envStrings.emplace_back(kv);
  }
  for (auto& [k, v] : env) envStrings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) throw std::runtime_error(errnoText("pipe2"));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(errPipe[0]);
    ::close(errPipe[1]);
    throw std::runtime_error(errnoText("fork"));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::setpgid(0, 0);  // own group, so kill() also reaches grandchildren
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(inFd, 0);
    ::dup2(outFd, 1);
    ::dup2(errFd, 2);
    // Leaked descriptors (listening sockets, other children's pipes) must not reach the child.
    if (errPipe[1] > 3) ::close_range(3, errPipe[1] - 1, 0);
    ::close_range(errPipe[1] + 1, ~0U, 0);
    int stage = 0;
    if (!workDir.empty() && ::chdir(workDir.c_str()) != 0) {
      stage = 1;
    } else {
      ::execvpe(args[0], args.data(), envp.data());
      stage = 2;
    }
    int report[2] = {stage, errno};
    [[maybe_unused]] auto n = ::write(errPipe[1], report, sizeof report);
    ::_exit(127);
  }
  ::close(errPipe[1]);
  int report[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(errPipe[0], report, sizeof report);
  } while (n < 0 && errno == EINTR);
  ::close(errPipe[0]);
  if (n > 0) {
    int st;
    ::waitpid(pid, &st, 0);
    std::string what = report[0] == 1 ? "chdir to " + workDir : "exec";
    throw std::runtime_error("cannot start `" + quoteCommand(argv) + "`: " + what + ": " +
                             std::strerror(report[1]));
  }
  return pid;
}

// Opens <dir>/<stem><suffix>, adding -2, -3, ... to the stem if a file already exists there.
int openLog(const std::string& dir, const std::string& stem, const std::string& suffix,
            std::string& path) {
  for (int i = 1; i < 1000; ++i) {
    path = dir + "/" + stem + (i > 1 ? "-" + std::to_string(i) : "") + suffix;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST) throw std::runtime_error(errnoText("open " + path));
  }
  throw std::runtime_error("too many log files named " + stem + " in " + dir);
}

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "[...]" + s.substr(s.size() - n);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string quoteCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                                   "OPQRSTUVWXYZ0123456789-_./:=@,+%") ==
                                   std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

Process::Process(std::vector<std::string> argv, const std::string& logDir,
                 ProcessOptions options)
    : argv_(std::move(argv)) {
  if (argv_.empty()) throw std::invalid_argument("Process: empty argv");
  if (logDir.empty()) throw std::invalid_argument("Process: empty logDir for " + argv_[0]);
  std::string stem = options.name.empty() ? fs::path(argv_[0]).filename().string() : options.name;
  int out = openLog(logDir, stem, ".out", stdoutPath_);
  int err = -1;
  int in = -1;
  try {
    err = openLog(logDir, stem, ".err", stderrPath_);
    in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_ = spawn(argv_, options.env, options.workDir, in, out, err);
  } catch (...) {
    for (int fd : {in, out, err})
      if (fd >= 0) ::close(fd);
    throw;
  }
  for (int fd : {in, out, err}) ::close(fd);
}

Process::~Process() {
  if (pid_ > 0) kill();
}

Process::Process(Process&& other) noexcept
    : argv_(std::move(other.argv_)),
      stdoutPath_(std::move(other.stdoutPath_)),
      stderrPath_(std::move(other.stderrPath_)),
      pid_(std::exchange(other.pid_, -1)),
      exitCode_(other.exitCode_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) kill();
    argv_ = std::move(other.argv_);
    stdoutPath_ = std::move(other.stdoutPath_);
    stderrPath_ = std::move(other.stderrPath_);
    pid_ = std::exchange(other.pid_, -1);
    exitCode_ = other.exitCode_;
  }
  return *this;
}

void Process::reap(bool block) {
  if (pid_ > 0 && !exitCode_) exitCode_ = reapChild(pid_, block);
}

bool Process::running() {
  reap(false);
  return pid_ > 0 && !exitCode_;
}

bool Process::signal(int sig) { return running() && ::kill(pid_, sig) == 0; }

std::optional<int> Process::waitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exitCode_;
  waitUntil([&] { return !running(); }, timeout, std::chrono::milliseconds(5));
  return exitCode_;
}

void Process::kill() {
  if (pid_ <= 0 || exitCode_) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);  // in case it left its group
  reap(true);
}

int Process::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto code = waitExit(grace)) return *code;
  kill();
  return exitCode_.value_or(-1);
}

bool Process::waitForPort(const std::string& ip, uint16_t port,
                          std::chrono::milliseconds timeout) {
  bool ok = waitUntil([&] { return !running() || canConnect(ip, port); }, timeout,
                      std::chrono::milliseconds(25));
  return ok && running();
}

bool Process::waitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
  auto found = [&] {
    return stdoutText().find(needle) != std::string::npos ||
           stderrText().find(needle) != std::string::npos;
  };
  // Check once more after exit: the text may have been written just before.
  waitUntil([&] { return found() || !running(); }, timeout);
  return found();
}

std::string Process::stdoutText() const { return readFile(stdoutPath_); }
std::string Process::stderrText() const { return readFile(stderrPath_); }
std::string Process::commandLine() const { return quoteCommand(argv_); }

std::string Process::describe() {
  std::string state = running() ? "running (pid " + std::to_string(pid_) + ")"
                                : "exited with " + std::to_string(exitCode_.value_or(-1));
  return "command: " + commandLine() + "\nstate: " + state + "\n--- stderr (" + stderrPath_ +
         ") ---\n" + tail(stderrText(), 6000) + "\n--- stdout (" + stdoutPath_ + ") ---\n" +
         tail(stdoutText(), 3000) + "\n";
}

// ---------------------------------------------------------------------------------------------

int runStreaming(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 const std::function<void(const char*, size_t)>& onStdout,
                 const std::function<void(const char*, size_t)>& onStderr,
                 const std::string& stdinText, const std::map<std::string, std::string>& env) {
  bool given = false;
  return runWithInput(
      argv, timeout,
      [&] { return std::exchange(given, true) ? std::string_view() : std::string_view(stdinText); },
      onStdout, onStderr, env);
}

int runWithInput(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 const StdinSource& stdinSource,
                 const std::function<void(const char*, size_t)>& onStdout,
                 const std::function<void(const char*, size_t)>& onStderr,
                 const std::map<std::string, std::string>& env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error(errnoText("pipe2"));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    for (int fd : in) ::close(fd);
    throw std::runtime_error(errnoText("pipe2"));
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    throw std::runtime_error(errnoText("pipe2"));
  }
  pid_t pid;
  try {
    pid = spawn(argv, env, "", in[0], out[1], err[1]);
  } catch (...) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    throw;
  }
  for (int fd : {in[0], out[1], err[1]}) ::close(fd);
  int inFd = in[1];
  ::fcntl(inFd, F_SETFL, O_NONBLOCK);
  std::string_view pending = stdinSource ? stdinSource() : std::string_view();
  if (pending.empty()) {
    ::close(inFd);
    inFd = -1;
  }

  auto deadline = Clock::now() + timeout;
  int outFd = out[0], errFd = err[0];
  bool timedOut = false;
  std::vector<char> buf(64 * 1024);
  while (outFd >= 0 || errFd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    pollfd fds[3];
    int nfds = 0;
    for (int fd : {outFd, errFd}) {
      if (fd >= 0) fds[nfds++] = {fd, POLLIN, 0};
    }
    if (inFd >= 0) fds[nfds++] = {inFd, POLLOUT, 0};
    int r = ::poll(fds, nfds, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < nfds && r > 0; ++i) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      if (fd == inFd) {
        ssize_t n = ::write(fd, pending.data(), pending.size());
        if (n > 0) pending.remove_prefix(static_cast<size_t>(n));
        if (pending.empty() && n > 0) pending = stdinSource();
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) {
          ::close(inFd);  // EOF for the child (or it stopped reading: EPIPE)
          inFd = -1;
        }
        continue;
      }
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n > 0) {
        (fd == outFd ? onStdout : onStderr)(buf.data(), static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        ::close(fd);
        (fd == outFd ? outFd : errFd) = -1;
      }
    }
  }
  for (int fd : {inFd, outFd, errFd})
    if (fd >= 0) ::close(fd);

  // Output is closed; the exit itself should follow at once, but stay within the deadline.
  std::optional<int> code;
  while (!timedOut && !(code = reapChild(pid, false))) {
    if (Clock::now() >= deadline) timedOut = true;
    else std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (timedOut) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    reapChild(pid, true);
    return -1;
  }
  return *code;
}

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                  const std::string& stdinText, const std::map<std::string, std::string>& env) {
  CommandResult res;
  res.exitCode = runStreaming(
      argv, timeout, [&](const char* p, size_t n) { res.out.append(p, n); },
      [&](const char* p, size_t n) { res.err.append(p, n); }, stdinText, env);
  return res;
}

}  // namespace kgate::test
