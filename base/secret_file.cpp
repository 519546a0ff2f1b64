#include "base/secret_file.hpp"

#include "base/file_kind.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fulcrum::base {

namespace {

class file_descriptor {
public:
    explicit file_descriptor(int fd) : fd_(fd) {}
    ~file_descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

} // namespace

std::string read_secret_file(const std::string& path) {
    const auto fail = [&](const std::string& why) { throw std::runtime_error(path + why); };
    // Non-blocking, so that a FIFO put in the file's place does not stop the start until a
    // writer comes: it is opened, seen for what it is, and refused.
    const file_descriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (file.get() < 0) {
        fail(std::string(": ") + std::strerror(errno));
    }
    // The mode of the file that was opened, not of whatever the path names a moment later.
    struct stat info {};
    if (::fstat(file.get(), &info) != 0) {
        fail(std::string(": ") + std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) {
        fail(" is " + std::string(file_kind(info.st_mode)) + ", not a regular file");
    }
    if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        fail(" can be read by group or others: chmod 600 it");
    }
    std::string content;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
        if (n == 0) {
            break;
        }
        if (n < 0 && errno != EINTR) {
            fail(std::string(": ") + std::strerror(errno));
        }
        if (n > 0) {
            content.append(buffer, static_cast<std::size_t>(n));
        }
    }
    return content;
}

} // namespace fulcrum::base
