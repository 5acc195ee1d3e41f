#include "certs/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "certs/keys.h"

namespace kgate::certs {

namespace {

std::string sysError(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

std::string parentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> writeAll(int fd, const std::string& content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sysError("cannot write", path, errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

// Makes the rename itself durable; without it a crash can forget the new directory entry.
Result<void> syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(sysError("cannot open directory", dir, errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return fail(sysError("cannot fsync directory", dir, err));
  return {};
}

}  // namespace

Result<void> writeFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  if (path.empty()) return fail("cannot write file: empty path");
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    randomString(8, "0123456789abcdef");
  int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return fail(sysError("cannot create", tmp, errno));

  auto abandon = [&](std::string message) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return fail(std::move(message));
  };
  // open() applies the umask; the caller's mode is the contract (e.g. 0644 certificates).
  if (::fchmod(fd, mode) != 0) return abandon(sysError("cannot chmod", tmp, errno));
  if (auto r = writeAll(fd, content, tmp); !r) return abandon(r.error());
  if (::fsync(fd) != 0) return abandon(sysError("cannot fsync", tmp, errno));
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) return abandon(sysError("cannot close", tmp, errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return abandon(sysError("cannot rename " + tmp + " to", path, errno));
  }
  return syncDir(parentDir(path));
}

Result<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(sysError("cannot open", path, errno));
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail(sysError("cannot read", path, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool fileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<void> makeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return fail("cannot create directory: empty path");
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty() || prefix.back() == '/') continue;  // "//" runs
    if (::mkdir(prefix.c_str(), mode) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return fail("cannot create directory " + prefix + ": exists and is not a directory");
    }
    return fail(sysError("cannot create directory", prefix, err));
  }
  return {};
}

}  // namespace kgate::certs
