#pragma once

#include "sli/windows.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// The rolling windows saved to disk and loaded again at start, so that a restart does not
// empty the 30-day SLI (docs/sli.md, "Persistence").
namespace fulcrum::sli {

// `<dir>/sli.state`, a text file (readable with less, no byte order, a few KiB per counter):
//
//   fulcrum-sli-state 1
//   saved 1714641243
//   counter service/app_pool/availability
//   since 1714640000
//   5m 342928248 118 120
//   ...
//   counter backend/app_pool/availability
//   ...
//   crc32 5e1f04aa
//
// The first line is the format and its version; `saved` the wall-clock seconds of the save;
// under each `counter <name>` the wall-clock seconds it began counting (`since`, for the
// windows' coverage; a file without it restores none, and coverage starts at the load), then
// one line per bucket written: window, bucket number (seconds since the epoch over 1/60 of the
// window), good, total. The last line is the CRC-32 of every
// byte before it, so a truncated or damaged file is recognised as a whole and never half
// loaded.
class state_file {
public:
    explicit state_file(std::filesystem::path dir);

    const std::filesystem::path& path() const { return path_; }

    // The counter is saved and restored under `name`. Names are made of names in the config
    // ("service/<service>/availability"), so a renamed or removed service is not restored and
    // a new one starts empty. The counter must outlive this object.
    void add(std::string name, window_counter& counter);

    struct load_result {
        enum class outcome {
            loaded,    // every counter in the file that is still configured was restored
            missing,   // no file: every counter starts empty
            set_aside, // unreadable or damaged: renamed aside, every counter starts empty
        };
        outcome what = outcome::missing;
        std::string message; // one log line, without the "fulcrum: " prefix
    };
    // All or nothing: a file that is not entirely valid restores nothing, and is renamed to
    // sli.state.corrupt-<UTC time>. `now` names that file and dates the message. Never throws
    // for a bad file.
    load_result load(wall_clock::time_point now);

    // Writes every counter to a temporary file in the same directory, syncs it, renames it
    // over sli.state and syncs the directory, so that a crash at any point leaves either the
    // previous file or the new one. The reason in words when it failed ("cannot write
    // /var/lib/fulcrum/sli.state.tmp: No space left on device"); the previous file is then
    // untouched.
    std::optional<std::string> save(wall_clock::time_point now) const;

private:
    struct entry {
        std::string name;
        window_counter* counter;
    };

    std::filesystem::path dir_;
    std::filesystem::path path_;
    std::vector<entry> entries_;
};

// Why `dir` cannot hold the state ("state_dir /var/lib/fulcrum: No such file or directory",
// "... is not a directory", "... is not writable: Permission denied"); nothing when it can.
std::optional<std::string> check_state_dir(const std::filesystem::path& dir);

} // namespace fulcrum::sli
