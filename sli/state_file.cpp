#include "sli/state_file.hpp"

#include <boost/crc.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

namespace fulcrum::sli {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view magic = "fulcrum-sli-state";
constexpr int version = 1;
constexpr std::string_view checksum_key = "crc32 ";

std::uint32_t crc32(std::string_view bytes) {
    boost::crc_32_type crc;
    crc.process_bytes(bytes.data(), bytes.size());
    return crc.checksum();
}

std::string hex32(std::uint32_t value) {
    char text[9];
    std::snprintf(text, sizeof text, "%08x", value);
    return text;
}

// "2024-05-02T09:14:03Z", or the compact form for file names: "20240502T091403Z".
std::string utc(wall_clock::time_point t, bool compact) {
    const std::time_t seconds = wall_clock::to_time_t(t);
    std::tm parts{};
    ::gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof text, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

std::string errno_text(int error) {
    return std::error_code(error, std::generic_category()).message();
}

template <typename Integer> bool parse_integer(std::string_view text, Integer& out) {
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && !text.empty();
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    while (!line.empty()) {
        const auto end = line.find(' ');
        words.push_back(line.substr(0, end));
        line.remove_prefix(end == std::string_view::npos ? line.size() : end + 1);
    }
    return words;
}

std::optional<window> window_named(std::string_view text) {
    for (window w : all_windows) {
        if (name(w) == text) {
            return w;
        }
    }
    return std::nullopt;
}

struct saved_counter {
    std::optional<wall_clock::time_point> since;
    std::vector<window_counter::saved_bucket> buckets;
};

struct parsed {
    wall_clock::time_point saved;
    std::map<std::string, saved_counter, std::less<>> counters;
};

// The last second the wall clock can hold (in 2262, with its nanoseconds): a time past it would
// overflow on its way in.
constexpr std::int64_t latest_second =
    std::chrono::duration_cast<std::chrono::seconds>(wall_clock::duration::max()).count();
// More than a bucket can count: the longest bucket (of the 30-day window) spans 12 hours, and
// 2^48 requests in 12 hours is over 6 billion a second. Under it, the 60 buckets of a window
// add up without wrapping around, so that no file can make the SLI look better than it was.
constexpr std::uint64_t largest_count = 1ull << 48;

// Wall-clock seconds as written by save(), if they are a time the clock can hold.
std::optional<wall_clock::time_point> read_time(std::string_view word) {
    std::int64_t seconds = 0;
    if (!parse_integer(word, seconds) || seconds < 0 || seconds > latest_second) {
        return std::nullopt;
    }
    return wall_clock::time_point(std::chrono::seconds(seconds));
}

// A bucket line's values, or why they cannot be.
std::optional<std::string_view> read_bucket(const std::vector<std::string_view>& words,
                                            window_counter::saved_bucket& out) {
    const auto w = window_named(words[0]);
    if (!w || !parse_integer(words[1], out.number) || !parse_integer(words[2], out.value.good) ||
        !parse_integer(words[3], out.value.total)) {
        return "expected '<window> <bucket> <good> <total>'";
    }
    const std::int64_t width = length(*w).count() / static_cast<std::int64_t>(buckets_per_window);
    if (out.number < 0 || out.number > latest_second / width) {
        return "bucket number out of range";
    }
    if (out.value.total > largest_count) {
        return "count out of range";
    }
    if (out.value.good > out.value.total) {
        return "more good than total";
    }
    out.w = *w;
    return std::nullopt;
}

// The lines between the format line and the checksum.
std::optional<std::string> parse_lines(std::string_view lines, parsed& out) {
    saved_counter* current = nullptr;
    std::set<std::pair<window, std::int64_t>> buckets; // of the current counter
    bool saved_seen = false;
    std::size_t line_number = 1;
    for (auto rest = lines; !rest.empty();) {
        ++line_number;
        const auto end = rest.find('\n');
        const auto line = rest.substr(0, end);
        rest.remove_prefix(end + 1);
        const auto bad = [&](std::string_view why) {
            return "has a bad line " + std::to_string(line_number) + " (" + std::string(why) +
                   "): '" + std::string(line.substr(0, 80)) + "'";
        };
        const auto words = split_words(line);
        if (words.size() == 2 && words[0] == "saved") {
            if (saved_seen) {
                return bad("expected one 'saved <seconds>'");
            }
            const auto t = read_time(words[1]);
            if (!t) {
                return bad("saved time out of range");
            }
            out.saved = *t;
            saved_seen = true;
        } else if (words.size() == 2 && words[0] == "since") {
            if (current == nullptr || current->since || !current->buckets.empty()) {
                return bad("a 'since' line belongs right after its 'counter' line, once");
            }
            current->since = read_time(words[1]);
            if (!current->since) {
                return bad("since time out of range");
            }
        } else if (words.size() == 2 && words[0] == "counter") {
            const auto [it, inserted] = out.counters.try_emplace(std::string(words[1]));
            if (!inserted) {
                return bad("the counter appears twice");
            }
            current = &it->second;
            buckets.clear();
        } else if (words.size() == 4) {
            window_counter::saved_bucket b;
            if (const auto why = read_bucket(words, b)) {
                return bad(*why);
            }
            if (current == nullptr) {
                return bad("a bucket before any 'counter' line");
            }
            // Restoring adds a bucket's counts to one of the same number: twice would count
            // them twice.
            if (!buckets.emplace(b.w, b.number).second) {
                return bad("the bucket appears twice");
            }
            current->buckets.push_back(b);
        } else {
            return bad("not a saved, counter, since or bucket line");
        }
    }
    if (!saved_seen) {
        return "has no 'saved' line";
    }
    return std::nullopt;
}

// The whole file, checked before anything is restored: what is wrong in words, or the content.
std::optional<std::string> parse(std::string_view text, parsed& out) {
    if (text.empty()) {
        return "is empty";
    }
    const auto first_end = text.find('\n');
    const auto first = text.substr(0, first_end);
    if (!first.starts_with(std::string(magic) + " ")) {
        return "is not a fulcrum state file (it does not start with '" + std::string(magic) + "')";
    }
    int file_version = 0;
    if (!parse_integer(first.substr(magic.size() + 1), file_version)) {
        return "has an unreadable format version '" + std::string(first.substr(magic.size() + 1)) +
               "'";
    }
    if (file_version != version) {
        return "has format version " + std::to_string(file_version) +
               ", this fulcrum reads version " + std::to_string(version);
    }

    // The checksum line is the last one, and nothing follows its newline.
    if (!text.ends_with('\n')) {
        return "is truncated or damaged (its last line is not a checksum)";
    }
    const auto last_start = text.rfind('\n', text.size() - 2) + 1;
    const auto last = text.substr(last_start, text.size() - 1 - last_start);
    std::uint32_t stated = 0;
    if (!last.starts_with(checksum_key) || last.size() != checksum_key.size() + 8 ||
        std::from_chars(last.data() + checksum_key.size(), last.data() + last.size(), stated, 16)
                .ptr != last.data() + last.size()) {
        return "is truncated or damaged (its last line is not a checksum)";
    }
    const auto body = text.substr(0, last_start);
    const auto computed = crc32(body);
    if (computed != stated) {
        return "is corrupt (CRC-32 " + hex32(computed) + " where the file says " + hex32(stated) +
               ")";
    }

    return parse_lines(body.substr(first_end + 1), out);
}

// A file that cannot be read at all (permissions, I/O error) is set aside like a damaged one.
std::optional<std::string> read_whole(const fs::path& path, std::string& out, bool& missing) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        missing = errno == ENOENT;
        return "cannot be read: " + errno_text(errno);
    }
    char buffer[65536];
    for (;;) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return "cannot be read: " + errno_text(error);
        }
        if (n == 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return std::nullopt;
}

// Writes everything or says which step failed; the caller removes the temporary file.
std::optional<std::string> write_synced(const fs::path& path, std::string_view bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return "cannot create " + path.string() + ": " + errno_text(errno);
    }
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return "cannot write " + path.string() + ": " + errno_text(error);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    // Without the sync, the rename can reach the disk before the data, and a power loss
    // leaves an empty sli.state in place of the previous good one.
    if (::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        return "cannot write " + path.string() + ": " + errno_text(error);
    }
    if (::close(fd) != 0) {
        return "cannot write " + path.string() + ": " + errno_text(errno);
    }
    return std::nullopt;
}

// So that the rename itself survives a power loss.
std::optional<std::string> sync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return "cannot sync directory " + dir.string() + ": " + errno_text(errno);
    }
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) {
        return "cannot sync directory " + dir.string() + ": " + errno_text(error);
    }
    return std::nullopt;
}

} // namespace

state_file::state_file(fs::path dir) : dir_(std::move(dir)), path_(dir_ / "sli.state") {}

void state_file::add(std::string name, window_counter& counter) {
    entries_.push_back({std::move(name), &counter});
}

state_file::load_result state_file::load(wall_clock::time_point now) {
    std::string text;
    bool missing = false;
    auto problem = read_whole(path_, text, missing);
    if (missing) {
        return {load_result::outcome::missing,
                "no state file " + path_.string() + ", starting with empty windows"};
    }
    parsed content;
    if (!problem) {
        problem = parse(text, content);
    }
    if (problem) {
        const std::string base = path_.string() + ".corrupt-" + utc(now, true);
        std::string aside = base;
        std::error_code ignored;
        for (int n = 1; fs::exists(aside, ignored); ++n) {
            aside = base + "." + std::to_string(n);
        }
        std::error_code ec;
        fs::rename(path_, aside, ec);
        return {
            load_result::outcome::set_aside,
            "state file " + path_.string() + " " + *problem +
                (ec ? "; cannot set it aside (" + ec.message() + ")" : "; set aside as " + aside) +
                ", starting with empty windows"};
    }

    std::size_t restored = 0;
    for (const entry& e : entries_) {
        const auto it = content.counters.find(e.name);
        if (it == content.counters.end()) {
            continue;
        }
        for (const auto& b : it->second.buckets) {
            e.counter->restore(b);
        }
        if (it->second.since) {
            e.counter->restore_since(*it->second.since);
        }
        ++restored;
    }
    const std::size_t dropped = content.counters.size() - restored;
    const std::size_t fresh = entries_.size() - restored;
    return {load_result::outcome::loaded,
            "SLI windows loaded from " + path_.string() + " (saved " + utc(content.saved, false) +
                "): " + std::to_string(restored) + " restored, " + std::to_string(fresh) +
                " new (empty), " + std::to_string(dropped) + " no longer configured (dropped)"};
}

std::optional<std::string> state_file::save(wall_clock::time_point now) const {
    std::ostringstream out;
    out << magic << ' ' << version << '\n'
        << "saved " << std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count()
        << '\n';
    for (const entry& e : entries_) {
        out << "counter " << e.name << '\n';
        if (const auto since = e.counter->since()) {
            out << "since "
                << std::chrono::floor<std::chrono::seconds>(since->time_since_epoch()).count()
                << '\n';
        }
        for (const auto& b : e.counter->saved()) {
            // The 1 s tick writes buckets of quiet services too; empty, they count for nothing.
            if (b.value.total == 0) {
                continue;
            }
            out << name(b.w) << ' ' << b.number << ' ' << b.value.good << ' ' << b.value.total
                << '\n';
        }
    }
    std::string text = std::move(out).str();
    text += std::string(checksum_key) + hex32(crc32(text)) + '\n';

    const fs::path temporary = path_.string() + ".tmp";
    auto problem = write_synced(temporary, text);
    if (!problem && ::rename(temporary.c_str(), path_.c_str()) != 0) {
        problem = "cannot rename " + temporary.string() + " to " + path_.string() + ": " +
                  errno_text(errno);
    }
    if (problem) {
        ::unlink(temporary.c_str());
        return problem;
    }
    return sync_directory(dir_);
}

std::optional<std::string> check_state_dir(const fs::path& dir) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) {
        return "state_dir " + dir.string() + ": " + errno_text(errno);
    }
    if (!S_ISDIR(info.st_mode)) {
        return "state_dir " + dir.string() + " is not a directory";
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        return "state_dir " + dir.string() + " is not writable: " + errno_text(errno);
    }
    return std::nullopt;
}

} // namespace fulcrum::sli
