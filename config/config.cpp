#include "config/config.hpp"
#include "config/values.hpp"

#include "base/file_kind.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace fulcrum::config {

namespace {

enum class endpoint_status { ok, bad_address, bad_port };

// Normalises the address through inet_ntop so that "::0001" and "::1" compare equal.
bool parse_ip(std::string_view text, int family, std::string& out) {
    const std::string host(text);
    unsigned char raw[sizeof(in6_addr)];
    if (inet_pton(family, host.c_str(), raw) != 1) {
        return false;
    }
    char buffer[INET6_ADDRSTRLEN];
    if (inet_ntop(family, raw, buffer, sizeof buffer) == nullptr) {
        return false;
    }
    out = buffer;
    return true;
}

endpoint_status parse_endpoint_checked(std::string_view text, bool bind, endpoint& out) {
    std::string_view host;
    std::string_view port;
    int family = AF_INET;
    if (text.starts_with('[')) {
        auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return endpoint_status::bad_address;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        family = AF_INET6;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return endpoint_status::bad_address;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }

    endpoint result;
    if (bind && family == AF_INET && host == "*") {
        result.host = "0.0.0.0";
    } else if (!parse_ip(host, family, result.host)) {
        return endpoint_status::bad_address;
    }

    std::uint64_t number = 0;
    if (port.size() > 5 || !parse_digits(port, number) || number > 65535 ||
        (number == 0 && !bind)) {
        return endpoint_status::bad_port;
    }
    result.port = static_cast<std::uint16_t>(number);
    out = std::move(result);
    return endpoint_status::ok;
}

// Optimal string alignment distance, so that a swapped pair of letters ("bnid") counts as one
// typo, like a single wrong letter.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    auto lower = [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1])) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// The closest candidate, if it is close enough to be a typo rather than a different word.
// Short words get a tighter bound, or every three-letter word would "mean" every other one.
template <typename Range>
std::optional<std::string> nearest(std::string_view word, const Range& candidates) {
    const std::size_t limit = word.size() <= 4 ? 1 : 2;
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (const auto& candidate : candidates) {
        std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = std::string(candidate);
        }
    }
    return best;
}

template <typename Range> std::string join(const Range& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += ", ";
        }
        out += item;
    }
    return out;
}

bool valid_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

bool valid_host(std::string_view host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        std::string ignored;
        return parse_ip(host.substr(1, host.size() - 2), AF_INET6, ignored);
    }
    return valid_name(host);
}

// The request target of an HTTP check goes on the request line as written.
bool valid_check_path(std::string_view path) {
    return std::all_of(path.begin(), path.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// A Host header: a host name or bracketed IPv6 literal, optionally with a port.
bool valid_check_host(std::string_view host) {
    if (valid_host(host)) {
        return true;
    }
    const auto colon = host.rfind(':');
    return colon != std::string_view::npos && all_digits(host.substr(colon + 1)) &&
           host.substr(colon + 1).size() <= 5 && valid_host(host.substr(0, colon));
}

// scheme://host[:port][/path], with no user, query or fragment: a base that paths append to.
bool valid_base_url(std::string_view url) {
    std::string_view rest;
    if (url.starts_with("https://")) {
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else {
        return false;
    }
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (path.find_first_of("?#") != std::string_view::npos || !valid_check_path(path)) {
        return false;
    }
    std::string_view host = authority;
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && !authority.ends_with(']')) {
        std::uint64_t port = 0;
        const std::string_view digits = authority.substr(colon + 1);
        if (digits.size() > 5 || !parse_digits(digits, port) || port == 0 || port > 65535) {
            return false;
        }
        host = authority.substr(0, colon);
    }
    return valid_host(host);
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// What the user wrote, in the words of an error message.
std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map:
        return "a map";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Scalar:
        return "'" + printable(node.Scalar()) + "'";
    default:
        return "an empty value";
    }
}

// Only the YAML 1.2 spellings: YAML 1.1's yes/no/on/off are a classic surprise (a country code
// "no" turning into false), so they are refused rather than guessed.
std::optional<bool> boolean(const YAML::Node& node) {
    static constexpr std::string_view truths[] = {"true", "True", "TRUE"};
    static constexpr std::string_view falsehoods[] = {"false", "False", "FALSE"};
    if (!node.IsScalar()) {
        return std::nullopt;
    }
    const std::string& text = node.Scalar();
    if (std::find(std::begin(truths), std::end(truths), text) != std::end(truths)) {
        return true;
    }
    if (std::find(std::begin(falsehoods), std::end(falsehoods), text) != std::end(falsehoods)) {
        return false;
    }
    return std::nullopt;
}

// Like describe(), but where a scalar itself is the wrong shape its text adds nothing.
std::string describe_kind(const YAML::Node& node) {
    return node.IsScalar() ? "a string" : describe(node);
}

// A node and where to point at it. An empty value has no position of its own (yaml-cpp marks
// it at the next token, often on the next line), so errors about it point at its key instead.
struct at {
    YAML::Node node;
    YAML::Mark mark;
    std::string path;

    at key(const YAML::Node& key_node, const YAML::Node& value, std::string_view name) const {
        std::string child_path = path.empty() ? std::string(name) : path + "." + std::string(name);
        return at{value, value.IsNull() ? key_node.Mark() : value.Mark(), std::move(child_path)};
    }
    at item(const YAML::Node& value, std::size_t index) const {
        return at{value, value.IsNull() ? mark : value.Mark(),
                  path + "[" + std::to_string(index) + "]"};
    }
};

int line_of(const YAML::Mark& mark) {
    return mark.line + 1;
}

// Defaults as written in `defaults`, before they are copied into frontends and backends.
struct defaults_section {
    struct timeouts timeouts;
    bool forwardfor = true;
    struct limits limits;
    unsigned retries = 1;
    struct pool pool;
    struct health_check health_check;
    passive_health passive;
};

// Sees one document's events and keeps only whether it holds anything, and where it starts.
class document_probe : public YAML::EventHandler {
public:
    YAML::Mark start;
    bool has_content = false;

    void OnDocumentStart(const YAML::Mark& mark) override {
        start = mark;
        has_content = false;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override { has_content = true; }
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        has_content = true;
    }
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        has_content = true;
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        has_content = true;
    }
    void OnMapEnd() override {}
};

enum class scope { defaults, frontend, backend };

// A route's backend until the frontend's default_backend is read.
constexpr std::size_t no_backend = static_cast<std::size_t>(-1);

struct misplaced_key {
    std::string_view key;
    std::string_view message;
};

class loader {
public:
    explicit loader(std::string file) : file_(std::move(file)) {}

    load_result run(std::string_view text) {
        load_result result;
        try {
            if (check_text(text) && check_documents(text)) {
                YAML::Node root = YAML::Load(std::string(text));
                if (root.IsNull()) {
                    file_error("empty configuration (expected a map with 'frontends' and "
                               "'backends')");
                } else {
                    read_root(at{root, root.Mark(), ""}, result.value);
                }
            }
        } catch (const YAML::Exception& e) {
            diagnostics_.push_back({file_, line_of(e.mark), e.mark.column + 1, "",
                                    "invalid YAML: " + e.msg + alias_hint(text, e)});
        }
        // Sections are read in dependency order (backends before the frontends that name
        // them); the user reads the file top to bottom.
        std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                         [](const diagnostic& a, const diagnostic& b) {
                             return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                         });
        result.errors = std::move(diagnostics_);
        return result;
    }

private:
    // About the file as a whole: no line to point at.
    void file_error(std::string message) {
        diagnostics_.push_back({file_, 0, 0, "", std::move(message)});
    }

    void error(const at& where, std::string message) {
        diagnostics_.push_back(
            {file_, line_of(where.mark), where.mark.column + 1, where.path, std::move(message)});
    }

    bool expect_map(const at& v) {
        if (!v.node.IsMap()) {
            error(v, "expected a map, got " + describe_kind(v.node));
            return false;
        }
        return true;
    }

    bool expect_list(const at& v) {
        if (!v.node.IsSequence()) {
            error(v, "expected a list, got " + describe_kind(v.node));
            return false;
        }
        return true;
    }

    // Calls on_key(name, value) for each key in `valid`, reports every other key, and returns
    // the keys present so that the caller can check the required ones.
    template <typename F>
    std::vector<std::string> walk_map(const at& map, std::initializer_list<std::string_view> valid,
                                      F&& on_key, std::span<const misplaced_key> misplaced = {}) {
        std::vector<std::string> seen;
        std::map<std::string, int, std::less<>> first_line;
        for (const auto& entry : map.node) {
            const YAML::Node& key_node = entry.first;
            if (!key_node.IsScalar()) {
                error(at{key_node, key_node.Mark(), map.path},
                      "expected a key name, got " + describe_kind(key_node));
                continue;
            }
            const std::string& key = key_node.Scalar();
            at value = map.key(key_node, entry.second, key);
            at key_at{key_node, key_node.Mark(), value.path};
            if (auto first = first_line.find(key); first != first_line.end()) {
                error(key_at, "duplicate key '" + key + "' (first defined at line " +
                                  std::to_string(first->second) + ")");
                continue;
            }
            first_line.emplace(key, line_of(key_node.Mark()));
            auto wrong_place = std::find_if(misplaced.begin(), misplaced.end(),
                                            [&](const misplaced_key& m) { return m.key == key; });
            if (wrong_place != misplaced.end()) {
                error(key_at, "'" + key + "' " + std::string(wrong_place->message));
                continue;
            }
            if (std::find(valid.begin(), valid.end(), key) == valid.end()) {
                if (auto guess = nearest(key, valid)) {
                    error(key_at, "unknown key '" + key + "' (did you mean '" + *guess + "'?)");
                } else {
                    error(key_at, "unknown key '" + key + "' (valid keys: " + join(valid) + ")");
                }
                continue;
            }
            seen.push_back(key);
            on_key(std::string_view(key), value);
        }
        return seen;
    }

    void require(const at& map, const std::vector<std::string>& seen, std::string_view key,
                 std::string_view why = {}) {
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
            return;
        }
        std::string message = "missing required key '" + std::string(key) + "'";
        if (!why.empty()) {
            message += " (" + std::string(why) + ")";
        }
        error(map, std::move(message));
    }

    // ---- scalars

    // No string may hold a NUL or another control character: each would cut a path short or
    // break the line it is written into. `allow_line_breaks` for text matched or passed on as
    // it is (expect_body, hook arguments).
    bool read_string(const at& v, std::string& out, bool allow_line_breaks = false) {
        if (!v.node.IsScalar()) {
            error(v, "expected a string, got " + describe(v.node));
            return false;
        }
        const std::string& text = v.node.Scalar();
        if (const auto bad = find_control(text, allow_line_breaks); bad != std::string::npos) {
            error(v, "must not contain control characters (found " +
                         printable(text.substr(bad, 1)) + " at position " +
                         std::to_string(bad + 1) + ")");
            return false;
        }
        out = text;
        return true;
    }

    // A token file is read whole at start: one that is there must be a regular file, or the
    // start would wait on a FIFO or read a device forever. stat() opens nothing. One that is
    // not there yet is the start's to report: it may be put in place after the check.
    bool read_token_file(const at& v, std::string& out) {
        std::string path;
        if (!read_string(v, path)) {
            return false;
        }
        struct stat info {};
        if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
            error(v, "'" + path + "' is " + std::string(base::file_kind(info.st_mode)) +
                         ", not a regular file");
            return false;
        }
        out = std::move(path);
        return true;
    }

    bool read_name(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return false;
        }
        if (!valid_name(text)) {
            error(v, "invalid name '" + text + "' (use letters, digits, '_', '.' and '-')");
            return false;
        }
        out = std::move(text);
        return true;
    }

    bool read_bool(const at& v, bool& out) {
        if (auto value = boolean(v.node)) {
            out = *value;
            return true;
        }
        error(v, "expected true or false, got " + describe(v.node));
        return false;
    }

    void range_error(const at& v, const std::string& min, const std::string& max) {
        error(v, "must be between " + min + " and " + max + ", got " + printable(v.node.Scalar()));
    }

    bool read_integer(const at& v, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
        if (!v.node.IsScalar() || !looks_integer(v.node.Scalar())) {
            error(v, "expected an integer, got " + describe(v.node));
            return false;
        }
        std::uint64_t value = 0;
        if (!parse_digits(v.node.Scalar(), value) || value < min || value > max) {
            range_error(v, std::to_string(min), std::to_string(max));
            return false;
        }
        out = value;
        return true;
    }

    void read_integer_into(const at& v, std::uint64_t min, std::uint64_t max, std::size_t& out) {
        std::uint64_t value = 0;
        if (read_integer(v, min, max, value)) {
            out = static_cast<std::size_t>(value);
        }
    }

    // "16384", "16k", "1m", "1g" (binary multiples).
    bool read_size(const at& v, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
        if (!v.node.IsScalar()) {
            error(v, "expected a size, got " + describe(v.node));
            return false;
        }
        std::uint64_t value = 0;
        const auto status = parse_size(v.node.Scalar(), value);
        if (status == value_status::invalid) {
            error(v, "invalid size '" + printable(v.node.Scalar()) +
                         "' (expected a number of bytes, optionally with k, m or g, e.g. 16k)");
            return false;
        }
        if (status == value_status::too_large || value < min || value > max) {
            range_error(v, format_size(min), format_size(max));
            return false;
        }
        out = value;
        return true;
    }

    void read_size_into(const at& v, std::uint64_t min, std::uint64_t max, std::size_t& out) {
        std::uint64_t value = 0;
        if (read_size(v, min, max, value)) {
            out = static_cast<std::size_t>(value);
        }
    }

    // `allow_zero`: a zero timeout would fail every connection at once, but a zero grace
    // period on shutdown is a legitimate choice.
    bool read_duration(const at& v, bool allow_zero, duration& out) {
        if (!v.node.IsScalar()) {
            error(v, "expected a duration, got " + describe(v.node));
            return false;
        }
        const std::string text = printable(v.node.Scalar());
        duration value{};
        switch (parse_duration_checked(v.node.Scalar(), value)) {
        case value_status::ok:
            if (value.count() == 0 && !allow_zero) {
                error(v, "must be greater than 0, got '" + text + "'");
                return false;
            }
            out = value;
            return true;
        case value_status::bare_number:
            error(v, "invalid duration '" + text +
                         "' (missing unit: add one of ms, s, m, h, d, e.g. " + text + "s)");
            return false;
        case value_status::too_large:
            error(v, "duration '" + text + "' is too large (at most " +
                         std::to_string(largest_duration.count()) + "ms, about 24.8 days)");
            return false;
        case value_status::invalid:
            error(v, "invalid duration '" + text +
                         "' (expected a number with a unit: ms, s, m, h, d, e.g. 5s)");
            return false;
        }
        return false;
    }

    bool read_endpoint(const at& v, bool bind, endpoint& out) {
        std::string text;
        if (!read_string(v, text)) {
            return false;
        }
        switch (parse_endpoint_checked(text, bind, out)) {
        case endpoint_status::ok:
            return true;
        case endpoint_status::bad_port:
            error(v,
                  "invalid port in '" + text + "' (expected " + (bind ? "0" : "1") + " to 65535)");
            return false;
        case endpoint_status::bad_address:
            if (bind) {
                error(v, "invalid bind address '" + text +
                             "' (expected IP:port or *:port, e.g. *:80, 10.0.0.1:80 or [::1]:80; "
                             "host names are not resolved)");
            } else {
                error(v, "invalid address '" + text +
                             "' (expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host names "
                             "are not resolved)");
            }
            return false;
        }
        return false;
    }

    // Binds are shared across frontends and the admin listener: with SO_REUSEPORT the kernel
    // would accept the same address twice and split connections between them at random.
    void claim_bind(const at& v, const endpoint& address) {
        if (address.port == 0) {
            return;
        }
        auto [it, inserted] = binds_.emplace(
            address.to_string(), "first defined at line " + std::to_string(line_of(v.mark)));
        if (!inserted) {
            error(v, "duplicate bind address '" + v.node.Scalar() + "' (" + it->second + ")");
        }
    }

    // ---- sections

    void read_root(const at& root, config& out) {
        if (!expect_map(root)) {
            return;
        }
        std::optional<at> global_at, admin_at, defaults_at, frontends_at, backends_at, slo_at,
            failover_at;
        auto seen = walk_map(
            root, {"global", "admin", "defaults", "frontends", "backends", "slo", "failover"},
            [&](std::string_view key, const at& v) {
                auto& slot = key == "global"      ? global_at
                             : key == "admin"     ? admin_at
                             : key == "defaults"  ? defaults_at
                             : key == "frontends" ? frontends_at
                             : key == "backends"  ? backends_at
                             : key == "slo"       ? slo_at
                                                  : failover_at;
                slot = v;
            });
        require(root, seen, "frontends");
        require(root, seen, "backends");

        if (global_at) {
            read_global(*global_at, out.global);
        }
        if (admin_at) {
            read_admin(*admin_at, out.admin);
        }
        // Without admin.bind the admin listener still takes its default address; a frontend
        // binding it must be told why it clashes with a line it cannot see.
        binds_.emplace(out.admin.bind.to_string(),
                       "already used by the admin listener; set admin.bind to move it");
        if (failover_at) {
            read_failover(*failover_at, out.admin, out.failover.emplace());
        }
        if (defaults_at) {
            read_defaults(*defaults_at);
        }
        if (backends_at) {
            read_list(
                *backends_at, "backend", out.backends,
                [&](const at& v, backend& b, std::size_t index) { read_backend(v, b, index); });
        }
        if (frontends_at) {
            read_list(
                *frontends_at, "frontend", out.frontends,
                [&](const at& v, frontend& f, std::size_t) { read_frontend(v, f, out.backends); });
        }
        if (slo_at) {
            read_slo(*slo_at, out);
        }
    }

    // Every entry gets a slot, valid or not, so that a backend's index is its position in the
    // file and later entries keep their indices when an earlier one is broken.
    template <typename T, typename F>
    void read_list(const at& list, std::string_view what, std::vector<T>& out, F&& read_one,
                   bool at_least_one = true) {
        if (!expect_list(list)) {
            return;
        }
        if (list.node.size() == 0 && at_least_one) {
            error(list, "expected at least one " + std::string(what));
            return;
        }
        std::size_t index = 0;
        for (const YAML::Node& item : list.node) {
            out.emplace_back();
            read_one(list.item(item, index), out.back(), index);
            ++index;
        }
    }

    void read_global(const at& v, struct global& out) {
        if (!expect_map(v)) {
            return;
        }
        const std::initializer_list<std::string_view> keys{
            "threads", "shutdown_grace", "metering", "state_dir", "state_interval", "maxconn"};
        walk_map(v, keys, [&](std::string_view key, const at& value) {
            if (key == "threads") {
                read_threads(value, out.threads);
            } else if (key == "maxconn") {
                read_maxconn(value, out.maxconn);
                global_maxconn_ = out.maxconn;
            } else if (key == "metering") {
                read_bool(value, out.metering);
            } else if (key == "state_dir") {
                read_state_dir(value, out.state_dir);
            } else if (key == "state_interval") {
                read_state_interval(value, out.state_interval);
            } else {
                read_duration(value, true, out.shutdown_grace);
            }
        });
    }

    // Absolute, because a relative path would depend on the directory fulcrum was started
    // from, and a restart from elsewhere would silently start with empty windows.
    void read_state_dir(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return;
        }
        if (!text.starts_with('/')) {
            error(v, "must be an absolute path, got '" + text +
                         "' (e.g. /var/lib/fulcrum; leave state_dir out to not keep the windows)");
            return;
        }
        out = text;
    }

    // The windows move once a second: saving more often would write the same file again.
    void read_state_interval(const at& v, duration& out) {
        duration value{};
        if (!read_duration(v, false, value)) {
            return;
        }
        if (value < std::chrono::seconds(1)) {
            error(v, "must be at least 1s (the windows move once a second), got '" +
                         v.node.Scalar() + "'");
            return;
        }
        out = value;
    }

    // `slo` is read after the backends and frontends, which name the services it may refer to.
    void read_slo(const at& v, config& out) {
        if (!expect_map(v)) {
            return;
        }
        std::optional<at> services_at;
        walk_map(v, {"objective", "latency", "services"},
                 [&](std::string_view key, const at& value) {
                     if (key == "services") {
                         services_at = value;
                     } else {
                         read_objective_key(key, value, out.slo.defaults);
                     }
                 });
        if (!services_at || !expect_map(*services_at)) {
            return;
        }
        const std::vector<std::string> known = service_names(out);
        for (const auto& entry : services_at->node) {
            const at name{entry.first, entry.first.Mark(), services_at->path};
            std::string service;
            if (!read_string(name, service)) {
                continue;
            }
            const at value = services_at->key(entry.first, entry.second, service);
            if (std::find(known.begin(), known.end(), service) == known.end()) {
                const auto guess = nearest(service, known);
                error(name, "unknown service '" + service + "'" +
                                (guess ? " (did you mean '" + *guess + "'?)"
                                       : " (services are named by backends' and routes' "
                                         "'service', else the backend name: " +
                                             join(known) + ")"));
                continue;
            }
            if (!expect_map(value)) {
                continue;
            }
            auto [it, inserted] = out.slo.services.emplace(service, out.slo.defaults);
            if (!inserted) {
                error(name, "service '" + service + "' is listed twice");
                continue;
            }
            // A named reference: clang 14 cannot capture a structured binding.
            auto& service_slo = it->second;
            walk_map(value, {"objective", "latency"}, [&](std::string_view key, const at& item) {
                read_objective_key(key, item, service_slo);
            });
        }
    }

    void read_objective_key(std::string_view key, const at& v, objectives& out) {
        if (key == "objective") {
            read_percent(v, out.availability_percent);
            return;
        }
        if (!expect_map(v)) {
            return;
        }
        latency_objective latency = out.latency.value_or(latency_objective{});
        auto seen =
            walk_map(v, {"threshold", "objective"}, [&](std::string_view name, const at& item) {
                if (name == "threshold") {
                    read_duration(item, false, latency.threshold);
                } else {
                    read_percent(item, latency.percent);
                }
            });
        if (!out.latency) {
            require(v, seen, "threshold", "a latency objective counts responses faster than it");
        }
        out.latency = latency;
    }

    // An objective in percent, strictly between 0 and 100: 100 % leaves no error budget to
    // spend and burn rates would divide by zero.
    bool read_percent(const at& v, double& out) {
        const std::string text = v.node.IsScalar() ? v.node.Scalar() : std::string();
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!v.node.IsScalar() || text.empty() || ec != std::errc() ||
            end != text.data() + text.size()) {
            error(v, "expected a percentage such as 99.95, got " + describe(v.node));
            return false;
        }
        if (!(value > 0 && value < 100)) {
            error(v, "must be above 0 and below 100 (a percentage such as 99.95), got " + text);
            return false;
        }
        out = value;
        return true;
    }

    void read_threads(const at& v, unsigned& out) {
        if (v.node.IsScalar() && v.node.Scalar() == "auto") {
            out = 0;
            return;
        }
        if (v.node.IsScalar() && !looks_integer(v.node.Scalar())) {
            error(v, "expected auto or an integer, got " + describe(v.node));
            return;
        }
        std::uint64_t value = 0;
        if (read_integer(v, 1, 256, value)) {
            out = static_cast<unsigned>(value);
        }
    }

    void read_admin(const at& v, struct admin& out) {
        if (!expect_map(v)) {
            return;
        }
        walk_map(v, {"bind", "token_file", "timeouts"}, [&](std::string_view key, const at& value) {
            if (key == "timeouts") {
                read_timeouts(value, scope::frontend, out.timeouts);
            } else if (key == "token_file") {
                if (read_token_file(value, out.token_file) && out.token_file.empty()) {
                    error(value, "must not be empty (leave token_file out to keep the admin API "
                                 "read-only)");
                }
            } else if (read_endpoint(value, true, out.bind)) {
                claim_bind(value, out.bind);
            }
        });
    }

    void read_failover(const at& v, const struct admin& admin, struct failover& out) {
        if (!expect_map(v)) {
            return;
        }
        auto seen = walk_map(v,
                             {"controller", "node", "priority", "preempt", "preempt_delay", "peer",
                              "interval", "fall", "rise", "hold_down", "hooks", "reserved_ip"},
                             [&](std::string_view key, const at& value) {
                                 if (key == "controller") {
                                     read_bool(value, out.controller);
                                 } else if (key == "node") {
                                     read_name(value, out.node);
                                 } else if (key == "priority") {
                                     std::uint64_t priority = 0;
                                     if (read_integer(value, 1, 255, priority)) {
                                         out.priority = static_cast<unsigned>(priority);
                                     }
                                 } else if (key == "preempt") {
                                     read_bool(value, out.preempt);
                                 } else if (key == "preempt_delay") {
                                     read_duration(value, true, out.preempt_delay);
                                 } else if (key == "peer") {
                                     read_peer(value, admin, out.peer);
                                 } else if (key == "interval") {
                                     read_duration(value, false, out.interval);
                                 } else if (key == "fall" || key == "rise") {
                                     std::uint64_t count = 0;
                                     if (read_integer(value, 1, 100, count)) {
                                         (key == "fall" ? out.fall : out.rise) =
                                             static_cast<unsigned>(count);
                                     }
                                 } else if (key == "hold_down") {
                                     read_duration(value, true, out.hold_down);
                                 } else if (key == "hooks") {
                                     read_hooks(value, out.hooks, seen_reserved_ip(v));
                                 } else {
                                     read_reserved_ip(value, out.reserved_ip.emplace());
                                 }
                             });
        if (!out.controller) {
            // keepalived or Pacemaker runs the pair; only `fulcrum reserved-ip` reads this.
            require(v, seen, "reserved_ip",
                    "with controller: false the section gives `fulcrum reserved-ip` its settings");
            return;
        }
        require(v, seen, "node");
        require(v, seen, "peer", "the peer's admin address, e.g. 10.132.20.11:9100");
        const bool has_hooks = std::find(seen.begin(), seen.end(), "hooks") != seen.end();
        if (!has_hooks && !seen_reserved_ip(v)) {
            error(v, "missing required key 'reserved_ip' or 'hooks' (becoming ACTIVE must move "
                     "something: the built-in reserved IP, or an on_active hook)");
        }
    }

    // Whether the failover map has a reserved_ip key at all, wherever it is written: hooks may
    // come first in the file.
    static bool seen_reserved_ip(const at& failover) {
        for (const auto& entry : failover.node) {
            if (entry.first.IsScalar() && entry.first.Scalar() == "reserved_ip") {
                return true;
            }
        }
        return false;
    }

    // The peer is the other node: its own admin address here is a copy-paste slip that would
    // make the node watch itself.
    void read_peer(const at& v, const struct admin& admin, endpoint& out) {
        endpoint address;
        if (!read_endpoint(v, false, address)) {
            return;
        }
        if (address == admin.bind) {
            error(v, "'" + v.node.Scalar() +
                         "' is this node's own admin address (admin.bind): peer is the other "
                         "node's");
            return;
        }
        out = std::move(address);
    }

    void read_hooks(const at& v, failover_hooks& out, bool reserved_ip) {
        if (!expect_map(v)) {
            return;
        }
        auto seen = walk_map(v, {"on_active", "on_passive", "on_fault", "timeout"},
                             [&](std::string_view key, const at& value) {
                                 if (key == "timeout") {
                                     read_duration(value, false, out.timeout);
                                 } else {
                                     read_argv(value, key == "on_active"    ? out.on_active
                                                      : key == "on_passive" ? out.on_passive
                                                                            : out.on_fault);
                                 }
                             });
        if (!reserved_ip) {
            require(v, seen, "on_active",
                    "without failover.reserved_ip, becoming ACTIVE must run a hook that moves "
                    "the address");
        }
    }

    // A command as an argv list: the program by absolute path, then its arguments, passed as
    // they are (posix_spawn, no shell, no PATH lookup), so no value can be reinterpreted.
    void read_argv(const at& v, std::vector<std::string>& out) {
        if (!v.node.IsSequence()) {
            if (v.node.IsScalar()) {
                error(v, "expected a list of arguments, got a string (write [\"/path/to/program\", "
                         "\"arg\", ...]: hooks run without a shell)");
            } else {
                error(v, "expected a list of arguments, got " + describe(v.node));
            }
            return;
        }
        if (v.node.size() == 0) {
            error(v, "expected at least one argument (the program to run)");
            return;
        }
        std::vector<std::string> argv;
        bool valid = true;
        std::size_t index = 0;
        for (const YAML::Node& item : v.node) {
            const at arg = v.item(item, index);
            std::string text;
            if (!read_string(arg, text, index > 0)) {
                valid = false;
            } else if (index == 0 && !text.starts_with('/')) {
                error(arg, "must be an absolute path (hooks run without a shell or PATH lookup), "
                           "got '" +
                               text + "'");
                valid = false;
            }
            argv.push_back(std::move(text));
            ++index;
        }
        if (valid) {
            out = std::move(argv);
        }
    }

    void read_reserved_ip(const at& v, struct reserved_ip& out) {
        if (!expect_map(v)) {
            return;
        }
        auto seen = walk_map(
            v, {"address", "token_file", "api_base", "metadata_base", "recheck"},
            [&](std::string_view key, const at& value) {
                if (key == "address") {
                    std::string text;
                    if (read_string(value, text) && !parse_ip(text, AF_INET, out.address)) {
                        error(value, "invalid reserved IP '" + text +
                                         "' (expected an IPv4 address, e.g. 203.0.113.10)");
                    }
                } else if (key == "token_file") {
                    if (read_token_file(value, out.token_file) && out.token_file.empty()) {
                        error(value, "must not be empty (the file that holds the "
                                     "DigitalOcean API token)");
                    }
                } else if (key == "api_base") {
                    read_base_url(value, out.api_base);
                } else if (key == "metadata_base") {
                    read_base_url(value, out.metadata_base);
                } else {
                    read_duration(value, false, out.recheck);
                }
            });
        require(v, seen, "address");
        require(v, seen, "token_file", "the file that holds the DigitalOcean API token");
    }

    // "https://api.digitalocean.com", "http://127.0.0.1:8080/prefix": a scheme, a host and an
    // optional port and path, stored without a trailing '/'.
    void read_base_url(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return;
        }
        if (!valid_base_url(text)) {
            error(v, "invalid URL '" + text +
                         "' (expected http:// or https://, a host and an optional port and "
                         "path, e.g. https://api.digitalocean.com)");
            return;
        }
        while (text.ends_with('/')) {
            text.pop_back();
        }
        out = std::move(text);
    }

    void read_defaults(const at& v) {
        if (!expect_map(v)) {
            return;
        }
        walk_map(v,
                 {"timeouts", "forwardfor", "limits", "retries", "pool", "health_check", "passive"},
                 [&](std::string_view key, const at& value) {
                     if (key == "timeouts") {
                         read_timeouts(value, scope::defaults, defaults_.timeouts);
                     } else if (key == "forwardfor") {
                         read_bool(value, defaults_.forwardfor);
                     } else if (key == "limits") {
                         read_limits(value, defaults_.limits);
                     } else if (key == "retries") {
                         read_retries(value, defaults_.retries);
                     } else if (key == "pool") {
                         read_pool(value, defaults_.pool);
                     } else if (key == "health_check") {
                         read_health_check(value, defaults_.health_check);
                     } else {
                         read_passive(value, defaults_.passive);
                     }
                 });
    }

    void read_timeouts(const at& v, scope where, struct timeouts& out) {
        if (!expect_map(v)) {
            return;
        }
        static constexpr misplaced_key on_frontend[] = {
            {"connect", "applies to backends: set it in a backend's timeouts or in "
                        "defaults.timeouts"},
            {"server", "applies to backends: set it in a backend's timeouts or in "
                       "defaults.timeouts"},
            {"tunnel", "applies to backends: set it in a backend's timeouts or in "
                       "defaults.timeouts"},
        };
        static constexpr misplaced_key on_backend[] = {
            {"client", "applies to frontends: set it in a frontend's timeouts or in "
                       "defaults.timeouts"},
            {"http_request", "applies to frontends: set it in a frontend's timeouts or in "
                             "defaults.timeouts"},
            {"keepalive", "applies to frontends: set it in a frontend's timeouts or in "
                          "defaults.timeouts"},
        };
        auto on_key = [&](std::string_view key, const at& value) {
            duration& field = key == "connect"        ? out.connect
                              : key == "client"       ? out.client
                              : key == "server"       ? out.server
                              : key == "http_request" ? out.http_request
                              : key == "keepalive"    ? out.keepalive
                                                      : out.tunnel;
            read_duration(value, false, field);
        };
        switch (where) {
        case scope::defaults:
            walk_map(v, {"connect", "client", "server", "http_request", "keepalive", "tunnel"},
                     on_key);
            break;
        case scope::frontend:
            walk_map(v, {"client", "http_request", "keepalive"}, on_key, on_frontend);
            break;
        case scope::backend:
            walk_map(v, {"connect", "server", "tunnel"}, on_key, on_backend);
            break;
        }
    }

    void read_limits(const at& v, struct limits& out) {
        if (!expect_map(v)) {
            return;
        }
        walk_map(v, {"max_head_bytes", "max_headers", "max_uri_bytes", "max_body_bytes"},
                 [&](std::string_view key, const at& value) {
                     if (key == "max_head_bytes") {
                         read_size_into(value, 1, largest_head_bytes, out.max_head_bytes);
                     } else if (key == "max_headers") {
                         read_integer_into(value, 1, largest_headers, out.max_headers);
                     } else if (key == "max_uri_bytes") {
                         read_size_into(value, 1, largest_head_bytes, out.max_uri_bytes);
                     } else {
                         read_size(value, 0, largest_body_bytes, out.max_body_bytes);
                     }
                 });
    }

    void read_retries(const at& v, unsigned& out) {
        std::uint64_t value = 0;
        if (read_integer(v, 0, 100, value)) {
            out = static_cast<unsigned>(value);
        }
    }

    void read_pool(const at& v, struct pool& out) {
        if (!expect_map(v)) {
            return;
        }
        walk_map(
            v, {"max_idle_per_server", "idle_timeout"}, [&](std::string_view key, const at& value) {
                if (key == "max_idle_per_server") {
                    read_integer_into(value, 0, largest_idle_per_server, out.max_idle_per_server);
                } else {
                    read_duration(value, false, out.idle_timeout);
                }
            });
    }

    void read_backend(const at& v, backend& out, std::size_t index) {
        out.connect_timeout = defaults_.timeouts.connect;
        out.server_timeout = defaults_.timeouts.server;
        out.tunnel_timeout = defaults_.timeouts.tunnel;
        out.retries = defaults_.retries;
        out.pool = defaults_.pool;
        out.passive = defaults_.passive;
        if (!expect_map(v)) {
            return;
        }
        static constexpr misplaced_key on_backend[] = {
            {"check", "applies to servers: set health_check on the backend for all its servers, "
                      "or check on one server"},
        };
        std::optional<std::string> service;
        // Servers start from the backend's health_check, wherever it is written in the map.
        std::optional<at> servers_at;
        struct health_check check = defaults_.health_check;
        auto seen = walk_map(
            v,
            {"name", "balance", "service", "retries", "timeouts", "pool", "health_check", "passive",
             "tls", "servers"},
            [&](std::string_view key, const at& value) {
                if (key == "name") {
                    if (read_name(value, out.name)) {
                        register_backend(value, out.name, index);
                    }
                } else if (key == "balance") {
                    read_balance(value);
                } else if (key == "service") {
                    std::string text;
                    if (read_name(value, text)) {
                        service = std::move(text);
                    }
                } else if (key == "retries") {
                    read_retries(value, out.retries);
                } else if (key == "timeouts") {
                    struct timeouts t = defaults_.timeouts;
                    read_timeouts(value, scope::backend, t);
                    out.connect_timeout = t.connect;
                    out.server_timeout = t.server;
                    out.tunnel_timeout = t.tunnel;
                } else if (key == "pool") {
                    read_pool(value, out.pool);
                } else if (key == "health_check") {
                    read_health_check(value, check);
                } else if (key == "passive") {
                    read_passive(value, out.passive);
                } else if (key == "tls") {
                    read_backend_tls(value, out.tls.emplace());
                } else {
                    servers_at = value;
                }
            },
            on_backend);
        if (servers_at) {
            read_servers(*servers_at, out.servers, check);
        }
        require(v, seen, "name");
        require(v, seen, "servers");
        out.service = service.value_or(out.name);
    }

    void register_backend(const at& v, const std::string& name, std::size_t index) {
        auto [it, inserted] = backend_index_.emplace(name, std::pair(index, line_of(v.mark)));
        if (inserted) {
            backend_names_.push_back(name);
        } else {
            error(v, "duplicate backend name '" + name + "' (first defined at line " +
                         std::to_string(it->second.second) + ")");
        }
    }

    // `tls` on a backend: its servers are spoken to over TLS (docs/tls.md, "TLS to servers").
    void read_backend_tls(const at& v, backend_tls& out) {
        out.origin = {file_, line_of(v.mark), v.mark.column + 1, v.path};
        if (!expect_map(v)) {
            return;
        }
        walk_map(v, {"ca", "verify", "server_name", "client_certificate", "min_version"},
                 [&](std::string_view key, const at& value) {
                     if (key == "ca") {
                         read_ca_file(value, out.ca);
                     } else if (key == "verify") {
                         read_bool(value, out.verify);
                     } else if (key == "server_name") {
                         read_server_name(value, out.server_name);
                     } else if (key == "client_certificate") {
                         read_certificate_files(value, out.client_certificate.emplace());
                     } else {
                         read_tls_version(value, out.min_version);
                     }
                 });
    }

    // A CA file, read at start by tls/: one that is not there, or is not a regular file, is
    // told here with its place in the configuration; what is in it is checked by `fulcrum
    // --check` and at start.
    bool read_ca_file(const at& v, std::string& out) {
        std::string path;
        if (!read_string(v, path)) {
            return false;
        }
        struct stat info {};
        if (path.empty()) {
            error(v, "must not be empty");
            return false;
        }
        if (::stat(path.c_str(), &info) != 0) {
            error(v, "cannot read '" + path + "': " + std::strerror(errno));
            return false;
        }
        if (!S_ISREG(info.st_mode)) {
            error(v, "'" + path + "' is " + std::string(base::file_kind(info.st_mode)) +
                         ", not a regular file");
            return false;
        }
        out = std::move(path);
        return true;
    }

    // The name sent as SNI and checked in the server's certificate: a DNS name, since SNI
    // carries no address (RFC 6066 3).
    void read_server_name(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return;
        }
        std::string ignored;
        if (parse_ip(text, AF_INET, ignored) || parse_ip(text, AF_INET6, ignored)) {
            error(v, "'" + text +
                         "' is an IP address, not a name (leave server_name out: the "
                         "certificate must then name the server's IP address)");
            return;
        }
        if (!valid_name(text)) {
            error(v, "invalid server name '" + text + "' (expected a DNS name, e.g. app.internal)");
            return;
        }
        out = std::move(text);
    }

    void read_balance(const at& v) {
        static constexpr std::string_view algorithms[] = {"roundrobin"};
        std::string text;
        if (!read_string(v, text)) {
            return;
        }
        if (std::find(std::begin(algorithms), std::end(algorithms), text) == std::end(algorithms)) {
            error(v, "unknown balance algorithm '" + text + "' (valid values: " + join(algorithms) +
                         ")");
        }
    }

    void read_servers(const at& v, std::vector<server>& out, const struct health_check& check) {
        static constexpr misplaced_key on_server[] = {
            {"health_check", "applies to backends and defaults: on a server, write check: {...} "
                             "(or check: false)"},
        };
        std::map<std::string, int, std::less<>> names;
        read_list(v, "server", out, [&](const at& item, server& s, std::size_t) {
            s.check = check;
            if (!expect_map(item)) {
                return;
            }
            auto seen = walk_map(
                item, {"name", "address", "weight", "check"},
                [&](std::string_view key, const at& value) {
                    if (key == "name") {
                        if (read_name(value, s.name)) {
                            claim_name(value, "server", s.name, names);
                        }
                    } else if (key == "address") {
                        read_endpoint(value, false, s.address);
                    } else if (key == "weight") {
                        std::uint64_t weight = 0;
                        if (read_integer(value, 1, 256, weight)) {
                            s.weight = static_cast<unsigned>(weight);
                        }
                    } else {
                        read_server_check(value, s.check);
                    }
                },
                on_server);
            require(item, seen, "name");
            require(item, seen, "address");
        });
    }

    // `check: false`, `check: true`, or a map of the keys of health_check that override the
    // backend's for this server.
    void read_server_check(const at& v, struct health_check& out) {
        if (v.node.IsMap()) {
            out.enabled = true;
            read_health_check(v, out);
            return;
        }
        if (auto enabled = boolean(v.node)) {
            out.enabled = *enabled;
            return;
        }
        error(v, "expected true, false or a map of check settings, got " + describe(v.node));
    }

    // Reads the keys present over `out`, which holds what the level above resolved to, so
    // that a backend's or a server's settings override key by key.
    void read_health_check(const at& v, struct health_check& out) {
        if (!expect_map(v)) {
            return;
        }
        std::optional<at> interval_at, timeout_at, method_at, expect_body_at;
        std::vector<std::pair<std::string, at>> http_only;
        bool type_known = true;
        walk_map(v,
                 {"type", "path", "method", "host", "expect_status", "expect_body", "interval",
                  "timeout", "rise", "fall", "port"},
                 [&](std::string_view key, const at& value) {
                     if (key == "type") {
                         type_known = read_check_type(value, out.type);
                         return;
                     }
                     if (key == "interval") {
                         if (read_duration(value, false, out.interval)) {
                             interval_at = value;
                         }
                     } else if (key == "timeout") {
                         if (read_duration(value, false, out.timeout)) {
                             timeout_at = value;
                         }
                     } else if (key == "rise" || key == "fall") {
                         std::uint64_t count = 0;
                         if (read_integer(value, 1, 100, count)) {
                             (key == "rise" ? out.rise : out.fall) = static_cast<unsigned>(count);
                         }
                     } else if (key == "port") {
                         std::uint64_t port = 0;
                         if (read_integer(value, 1, 65535, port)) {
                             out.port = static_cast<std::uint16_t>(port);
                         }
                     } else {
                         bool valid = false;
                         if (key == "path") {
                             valid = read_check_path(value, out.path);
                         } else if (key == "method") {
                             valid = read_check_method(value, out.method);
                             method_at = valid ? std::optional(value) : std::nullopt;
                         } else if (key == "host") {
                             valid = read_check_host(value, out.host);
                         } else if (key == "expect_status") {
                             valid = read_expect_status(value, out.expect_status);
                         } else {
                             valid = read_expect_body(value, out.expect_body);
                             expect_body_at = valid ? std::optional(value) : std::nullopt;
                         }
                         // One error per key: a value that is wrong in itself says so already.
                         if (valid) {
                             http_only.emplace_back(key, value);
                         }
                     }
                 });
        // A check must end before the next one is due. Reported where this level broke it.
        if (out.timeout > out.interval) {
            if (timeout_at) {
                error(*timeout_at, "must not be longer than interval (" +
                                       format_duration(out.interval) + "), got '" +
                                       timeout_at->node.Scalar() + "'");
            } else if (interval_at) {
                error(*interval_at, "must not be shorter than timeout (" +
                                        format_duration(out.timeout) + "), got '" +
                                        interval_at->node.Scalar() + "'");
            }
        }
        // Usually a forgotten `type: http`: the check would only connect, silently.
        if (out.type == health_check::kind::tcp && type_known) {
            for (const auto& [key, value] : http_only) {
                error(value, "'" + key + "' applies to http checks: add type: http");
            }
        }
        if (out.method == "HEAD" && !out.expect_body.empty() && (method_at || expect_body_at)) {
            error(expect_body_at ? *expect_body_at : *method_at,
                  "a HEAD response has no body for expect_body to match: use method: GET");
        }
    }

    bool read_check_type(const at& v, health_check::kind& out) {
        std::string text;
        if (!read_string(v, text)) {
            return false;
        }
        if (text == "tcp") {
            out = health_check::kind::tcp;
        } else if (text == "http") {
            out = health_check::kind::http;
        } else {
            error(v, "unknown check type '" + text + "' (valid values: tcp, http)");
            return false;
        }
        return true;
    }

    bool read_check_path(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return false;
        }
        if (!text.starts_with('/')) {
            error(v, "must start with '/', got '" + text + "'");
            return false;
        }
        if (!valid_check_path(text)) {
            error(v, "invalid path '" + text +
                         "' (no spaces or control characters: percent-encode them, e.g. %20)");
            return false;
        }
        out = std::move(text);
        return true;
    }

    bool read_check_method(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return false;
        }
        if (text != "GET" && text != "HEAD") {
            error(v, "unknown check method '" + text + "' (valid values: GET, HEAD)");
            return false;
        }
        out = std::move(text);
        return true;
    }

    bool read_check_host(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text)) {
            return false;
        }
        if (!valid_check_host(text)) {
            error(v, "invalid host '" + text +
                         "' (expected a host name, optionally with a port, e.g. app.example.com "
                         "or app.example.com:8080)");
            return false;
        }
        out = std::move(text);
        return true;
    }

    bool read_expect_body(const at& v, std::string& out) {
        std::string text;
        if (!read_string(v, text, true)) {
            return false;
        }
        if (text.empty()) {
            error(v, "must not be empty (leave expect_body out to accept any body)");
            return false;
        }
        out = std::move(text);
        return true;
    }

    // A code ("200"), a range ("200-399"), or a list of them.
    bool read_expect_status(const at& v, std::vector<status_range>& out) {
        std::vector<status_range> ranges;
        bool valid = true;
        auto read_one = [&](const at& item) {
            status_range range;
            if (read_status_range(item, range)) {
                ranges.push_back(range);
            } else {
                valid = false;
            }
        };
        if (v.node.IsScalar()) {
            read_one(v);
        } else if (!v.node.IsSequence()) {
            error(v, "expected a status, a range of statuses or a list of them, got " +
                         describe_kind(v.node));
            return false;
        } else if (v.node.size() == 0) {
            error(v, "expected at least one status");
            return false;
        } else {
            std::size_t index = 0;
            for (const YAML::Node& item : v.node) {
                read_one(v.item(item, index++));
            }
        }
        if (valid) {
            out = std::move(ranges);
        }
        return valid;
    }

    bool read_status_range(const at& v, status_range& out) {
        if (!v.node.IsScalar()) {
            error(v, "expected a status or a range of statuses, got " + describe(v.node));
            return false;
        }
        const std::string& text = v.node.Scalar();
        const auto dash = text.find('-');
        const bool is_range = dash != std::string::npos;
        const std::string_view low_text = std::string_view(text).substr(0, dash);
        const std::string_view high_text =
            is_range ? std::string_view(text).substr(dash + 1) : low_text;
        if (!all_digits(low_text) || !all_digits(high_text)) {
            error(v, "invalid status '" + text +
                         "' (expected a code such as 200 or a range such as 200-399)");
            return false;
        }
        std::uint64_t low = 0;
        std::uint64_t high = 0;
        const std::string what = is_range ? "invalid status range '" : "invalid status '";
        if (!parse_digits(low_text, low) || !parse_digits(high_text, high) || low < 100 ||
            low > 599 || high < 100 || high > 599) {
            error(v, what + text + "' (status codes are 100 to 599)");
            return false;
        }
        if (low > high) {
            error(v, what + text + "' (the lower code comes first, e.g. 200-399)");
            return false;
        }
        out = {static_cast<int>(low), static_cast<int>(high)};
        return true;
    }

    void read_passive(const at& v, passive_health& out) {
        if (!expect_map(v)) {
            return;
        }
        walk_map(v, {"connect_failures", "server_errors", "gateway_errors"},
                 [&](std::string_view key, const at& value) {
                     std::uint64_t count = 0;
                     if (read_integer(value, 0, 100, count)) {
                         (key == "connect_failures" ? out.connect_failures
                          : key == "server_errors"  ? out.server_errors
                                                    : out.gateway_errors) =
                             static_cast<unsigned>(count);
                     }
                 });
    }

    void claim_name(const at& v, std::string_view what, const std::string& name,
                    std::map<std::string, int, std::less<>>& names) {
        auto [it, inserted] = names.emplace(name, line_of(v.mark));
        if (!inserted) {
            error(v, "duplicate " + std::string(what) + " name '" + name +
                         "' (first defined at line " + std::to_string(it->second) + ")");
        }
    }

    void read_frontend(const at& v, frontend& out, const std::vector<backend>& backends) {
        out.forwardfor = defaults_.forwardfor;
        out.client_timeout = defaults_.timeouts.client;
        out.http_request_timeout = defaults_.timeouts.http_request;
        out.keepalive_timeout = defaults_.timeouts.keepalive;
        out.limits = defaults_.limits;
        if (!expect_map(v)) {
            return;
        }
        const std::initializer_list<std::string_view> keys{
            "name",   "bind",   "default_backend", "forwardfor", "timeouts",
            "limits", "routes", "maxconn",         "tls",        "redirect"};
        auto seen = walk_map(v, keys, [&](std::string_view key, const at& value) {
            if (key == "name") {
                if (read_name(value, out.name)) {
                    claim_name(value, "frontend", out.name, frontend_names_);
                }
            } else if (key == "bind") {
                read_binds(value, out.bind);
            } else if (key == "tls") {
                read_frontend_tls(value, out.tls.emplace());
            } else if (key == "redirect") {
                read_redirect(value, out.redirect.emplace());
            } else if (key == "default_backend") {
                resolve_backend(value, out.default_backend);
            } else if (key == "forwardfor") {
                read_bool(value, out.forwardfor);
            } else if (key == "timeouts") {
                struct timeouts t = defaults_.timeouts;
                read_timeouts(value, scope::frontend, t);
                out.client_timeout = t.client;
                out.http_request_timeout = t.http_request;
                out.keepalive_timeout = t.keepalive;
            } else if (key == "limits") {
                read_limits(value, out.limits);
            } else if (key == "maxconn") {
                read_frontend_maxconn(value, out.maxconn);
            } else {
                // No routes is valid: everything goes to default_backend.
                read_list(
                    value, "route", out.routes,
                    [&](const at& item, route& r, std::size_t) { read_route(item, r, backends); },
                    false);
            }
        });
        require(v, seen, "name");
        if (!out.tls || out.tls->bind.empty()) {
            require(v, seen, "bind");
        }
        require(v, seen, "default_backend", "requests that match no route are sent there");
        // A route that only redirects names no backend: its answers are metered in the
        // default backend's service.
        for (auto& r : out.routes) {
            if (r.backend == no_backend) {
                r.backend = out.default_backend;
                if (r.service.empty() && out.default_backend < backends.size()) {
                    r.service = backends[out.default_backend].service;
                }
            }
        }
    }

    void read_frontend_tls(const at& v, frontend_tls& out) {
        out.origin = {file_, line_of(v.mark), v.mark.column + 1, v.path};
        if (!expect_map(v)) {
            return;
        }
        const std::initializer_list<std::string_view> keys{
            "bind",         "certificates",    "unknown_sni",     "min_version", "ciphers",
            "ciphersuites", "session_tickets", "session_timeout", "hsts"};
        auto seen = walk_map(v, keys, [&](std::string_view key, const at& value) {
            if (key == "bind") {
                read_binds(value, out.bind);
            } else if (key == "certificates") {
                read_list(value, "certificate", out.certificates,
                          [&](const at& item, certificate_files& c, std::size_t) {
                              read_certificate_files(item, c);
                          });
            } else if (key == "unknown_sni") {
                std::string text;
                if (read_string(value, text)) {
                    if (text == "default") {
                        out.on_unknown_sni = frontend_tls::unknown_sni::serve_default;
                    } else if (text == "refuse") {
                        out.on_unknown_sni = frontend_tls::unknown_sni::refuse;
                    } else {
                        error(value, "expected default or refuse, got '" + text + "'");
                    }
                }
            } else if (key == "min_version") {
                read_tls_version(value, out.min_version);
            } else if (key == "ciphers") {
                read_cipher_list(value, out.ciphers);
            } else if (key == "ciphersuites") {
                read_cipher_list(value, out.ciphersuites);
            } else if (key == "session_tickets") {
                read_bool(value, out.session_tickets);
            } else if (key == "session_timeout") {
                // The ticket keys rotate at this pace; TLS 1.3 caps a ticket's life at 7 days.
                duration timeout{};
                if (read_duration(value, false, timeout)) {
                    if (timeout < std::chrono::seconds(1) || timeout > std::chrono::hours(24 * 7)) {
                        error(value, "must be between 1s and 7d, got " + value.node.Scalar());
                    } else {
                        out.session_timeout = timeout;
                    }
                }
            } else {
                read_hsts(value, out.hsts.emplace());
            }
        });
        require(v, seen, "bind", "the addresses served over TLS");
        require(v, seen, "certificates");
    }

    // Opened and checked by tls/ (config/ links no OpenSSL), which reports at `origin`.
    void read_certificate_files(const at& v, certificate_files& out) {
        out.origin = {file_, line_of(v.mark), v.mark.column + 1, v.path};
        if (!expect_map(v)) {
            return;
        }
        auto seen = walk_map(v, {"cert", "key"}, [&](std::string_view key, const at& value) {
            std::string& path = key == "cert" ? out.cert : out.key;
            if (read_string(value, path) && path.empty()) {
                error(value, "expected a file name, got an empty string");
            }
        });
        require(v, seen, "cert", "a PEM file with the certificate and its chain");
    }

    void read_tls_version(const at& v, tls_version& out) {
        std::string text;
        if (!read_string(v, text)) {
            return;
        }
        if (text == "1.2") {
            out = tls_version::tls1_2;
        } else if (text == "1.3") {
            out = tls_version::tls1_3;
        } else {
            error(v, "expected \"1.2\" or \"1.3\" (TLS 1.0 and 1.1 are not offered), got '" + text +
                         "'");
        }
    }

    // OpenSSL's syntax, checked by tls/ when the context is built.
    void read_cipher_list(const at& v, std::string& out) {
        if (read_string(v, out) && out.empty()) {
            error(v, "expected a cipher list, got an empty string (leave the key out for the "
                     "default)");
        }
    }

    void read_hsts(const at& v, struct hsts& out) {
        if (!expect_map(v)) {
            return;
        }
        walk_map(v, {"max_age", "include_subdomains", "preload"},
                 [&](std::string_view key, const at& value) {
                     if (key == "max_age") {
                         read_integer(value, 0, 2 * 31536000, out.max_age_seconds);
                     } else if (key == "include_subdomains") {
                         read_bool(value, out.include_subdomains);
                     } else {
                         read_bool(value, out.preload);
                     }
                 });
        // The preload list takes only what it can keep (hstspreload.org's requirements).
        if (out.preload && (!out.include_subdomains || out.max_age_seconds < 31536000)) {
            error(v, "preload needs include_subdomains: true and max_age of at least 31536000 "
                     "(one year), as the HSTS preload list requires");
        }
    }

    void read_redirect(const at& v, struct redirect& out) {
        if (!expect_map(v)) {
            return;
        }
        auto seen =
            walk_map(v, {"scheme", "code", "port"}, [&](std::string_view key, const at& value) {
                if (key == "scheme") {
                    if (read_string(value, out.scheme) && out.scheme != "https") {
                        error(value, "only https is supported, got '" + out.scheme + "'");
                    }
                } else if (key == "code") {
                    std::uint64_t code = 0;
                    if (read_integer(value, 300, 399, code)) {
                        if (code != 301 && code != 302 && code != 303 && code != 307 &&
                            code != 308) {
                            error(value, "expected 301, 302, 303, 307 or 308, got " +
                                             std::to_string(code));
                        }
                        out.code = static_cast<int>(code);
                    }
                } else {
                    std::uint64_t port = 0;
                    if (read_integer(value, 1, 65535, port)) {
                        out.port = static_cast<std::uint16_t>(port);
                    }
                }
            });
        require(v, seen, "scheme");
    }

    // Ten million connections need twenty million descriptors, twenty times Linux's default
    // ceiling (fs.nr_open): beyond that a number is a typo.
    bool read_maxconn(const at& v, std::size_t& out) {
        std::uint64_t value = 0;
        if (!read_integer(v, 1, 10'000'000, value)) {
            return false;
        }
        out = static_cast<std::size_t>(value);
        return true;
    }

    // A frontend's share of the process's connections cannot be larger than the whole.
    void read_frontend_maxconn(const at& v, std::size_t& out) {
        std::size_t value = 0;
        if (!read_maxconn(v, value)) {
            return;
        }
        if (global_maxconn_ != 0 && value > global_maxconn_) {
            error(v, "must not be above global.maxconn (" + std::to_string(global_maxconn_) +
                         "), got " + std::to_string(value));
            return;
        }
        out = value;
    }

    // A single address is accepted as shorthand for a one-element list.
    void read_binds(const at& v, std::vector<endpoint>& out) {
        auto read_one = [&](const at& item) {
            endpoint address;
            if (read_endpoint(item, true, address)) {
                claim_bind(item, address);
                out.push_back(std::move(address));
            }
        };
        if (v.node.IsScalar()) {
            read_one(v);
            return;
        }
        if (!v.node.IsSequence()) {
            error(v, "expected an address or a list of addresses, got " + describe_kind(v.node));
            return;
        }
        if (v.node.size() == 0) {
            error(v, "expected at least one address");
            return;
        }
        std::size_t index = 0;
        for (const YAML::Node& item : v.node) {
            read_one(v.item(item, index++));
        }
    }

    // Returns false when the name is unknown. Does not report anything when no backend has a
    // valid name at all: that is already an error of its own, and every reference to a backend
    // would otherwise repeat it.
    bool resolve_backend(const at& v, std::size_t& out) {
        std::string name;
        if (!read_string(v, name)) {
            return false;
        }
        if (auto it = backend_index_.find(name); it != backend_index_.end()) {
            out = it->second.first;
            return true;
        }
        if (backend_index_.empty()) {
            return false;
        }
        if (auto guess = nearest(name, backend_names_)) {
            error(v, "unknown backend '" + name + "' (did you mean '" + *guess + "'?)");
        } else {
            error(v, "unknown backend '" + name + "' (defined backends: " + join(backend_names_) +
                         ")");
        }
        return false;
    }

    void read_route(const at& v, route& out, const std::vector<backend>& backends) {
        if (!expect_map(v)) {
            return;
        }
        bool resolved = false;
        auto seen = walk_map(
            v, {"host", "path_prefix", "backend", "service", "redirect"},
            [&](std::string_view key, const at& value) {
                if (key == "host") {
                    std::string text;
                    if (!read_string(value, text)) {
                        return;
                    }
                    if (!valid_host(text)) {
                        error(value, "invalid host '" + text +
                                         "' (expected an exact host name without a port, e.g. "
                                         "api.example.com)");
                        return;
                    }
                    // Host names are case-insensitive; one spelling lets the proxy compare
                    // against a lower-cased Host header without folding case per request.
                    out.host = lowercase(std::move(text));
                } else if (key == "path_prefix") {
                    std::string text;
                    if (!read_string(value, text)) {
                        return;
                    }
                    if (!text.starts_with('/')) {
                        error(value, "must start with '/', got '" + text + "'");
                        return;
                    }
                    out.path_prefix = std::move(text);
                } else if (key == "backend") {
                    resolved = resolve_backend(value, out.backend);
                } else if (key == "redirect") {
                    read_redirect(value, out.redirect.emplace());
                } else {
                    read_name(value, out.service);
                }
            });
        if (out.redirect && std::find(seen.begin(), seen.end(), "backend") == seen.end()) {
            out.backend = no_backend; // the frontend's default_backend, once it is known
        } else {
            require(v, seen, "backend");
        }
        if (std::find(seen.begin(), seen.end(), "host") == seen.end() &&
            std::find(seen.begin(), seen.end(), "path_prefix") == seen.end()) {
            error(v, "a route needs host, path_prefix or both (unmatched requests already go to "
                     "default_backend)");
        }
        if (out.service.empty() && resolved) {
            out.service = backends[out.backend].service;
        }
    }

    // Parsed YAML takes tens of times the size of its text: the bound keeps a check's memory
    // within a few tens of MiB. YAML allows no control character but tab and line breaks
    // (yaml-cpp would report a NUL byte as an unknown escape).
    bool check_text(std::string_view text) {
        if (text.size() > largest_file_bytes) {
            file_error("larger than " + std::to_string(largest_file_bytes) +
                       " bytes, the most a configuration file may be");
            return false;
        }
        const auto bad = find_control(text, true);
        if (bad == std::string_view::npos) {
            return true;
        }
        const auto line_start = text.rfind('\n', bad) + 1; // 0 on the first line
        diagnostics_.push_back(
            {file_, static_cast<int>(std::count(text.begin(), text.begin() + bad, '\n')) + 1,
             static_cast<int>(bad - line_start) + 1, "",
             "invalid YAML: control character " + printable(text.substr(bad, 1))});
        return false;
    }

    // Reports a second document, or a stray token yaml-cpp cannot start a document with. For the
    // latter yaml-cpp 0.7 returns the same empty document forever without consuming anything
    // (its own LoadAll then loops until memory runs out; fixed upstream in yaml-cpp#1319), so
    // documents are read one at a time here and an empty one that does not move on stops it.
    // Throws YAML::ParserException for ordinary syntax errors, as YAML::Load would.
    bool check_documents(std::string_view text) {
        std::istringstream input{std::string(text)};
        YAML::Parser parser(input);
        document_probe probe;
        std::optional<YAML::Mark> previous_empty;
        for (std::size_t index = 0; parser.HandleNextDocument(probe); ++index) {
            const YAML::Mark start = probe.start;
            if (probe.has_content && index > 0) {
                const bool marked = text.substr(start.pos).starts_with("---");
                diagnostics_.push_back(
                    {file_, line_of(start), start.column + 1, "",
                     marked ? "a second YAML document is not allowed (one configuration per file)"
                            : "invalid YAML: content after the end of the document (check the "
                              "indentation)"});
                return false;
            }
            if (!probe.has_content) {
                if (previous_empty && previous_empty->pos == start.pos) {
                    diagnostics_.push_back({file_, line_of(start), start.column + 1, "",
                                            "invalid YAML: unexpected '" +
                                                std::string(text.substr(start.pos, 1)) + "'"});
                    return false;
                }
                previous_empty = start;
            }
        }
        return true;
    }

    // "bind: *:80" is the natural way to write a wildcard bind, and YAML reads it as an alias.
    static std::string alias_hint(std::string_view text, const YAML::Exception& e) {
        if (e.msg != YAML::ErrorMsg::UNKNOWN_ANCHOR || e.mark.pos < 0) {
            return "";
        }
        std::string_view rest = text.substr(std::min<std::size_t>(e.mark.pos, text.size()));
        std::string_view token = rest.substr(0, rest.find_first_of(" \t\r\n,]}#"));
        if (!token.starts_with("*:")) {
            return "";
        }
        return " (write \"" + std::string(token) +
               "\" in quotes: a leading * is YAML alias syntax)";
    }

    std::string file_;
    std::vector<diagnostic> diagnostics_;
    defaults_section defaults_;
    std::map<std::string, std::pair<std::size_t, int>, std::less<>> backend_index_; // index, line
    std::vector<std::string> backend_names_; // in file order, for suggestions and listings
    std::map<std::string, int, std::less<>> frontend_names_;
    std::size_t global_maxconn_ = 0; // read before the frontends, which may not exceed it
    std::map<std::string, std::string, std::less<>> binds_; // address -> where it was first bound
};

} // namespace

std::vector<std::string> service_names(const config& c) {
    std::vector<std::string> out;
    const auto add = [&](const std::string& service) {
        if (!service.empty() && std::find(out.begin(), out.end(), service) == out.end()) {
            out.push_back(service);
        }
    };
    for (const auto& b : c.backends) {
        add(b.service);
    }
    for (const auto& f : c.frontends) {
        for (const auto& r : f.routes) {
            add(r.service);
        }
    }
    return out;
}

const objectives& slo::of(std::string_view service) const {
    const auto it = services.find(service);
    return it == services.end() ? defaults : it->second;
}

std::string endpoint::to_string() const {
    const std::string port_text = std::to_string(port);
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + port_text;
    }
    return host + ":" + port_text;
}

std::string diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    out += ": ";
    if (!path.empty()) {
        out += path + ": ";
    }
    out += message;
    return out;
}

namespace {

load_result cannot_read(const std::string& path) {
    load_result result;
    result.errors.push_back({path, 0, 0, "", std::string("cannot read: ") + std::strerror(errno)});
    return result;
}

} // namespace

load_result load_file(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) {
        return cannot_read(path);
    }
    // One byte past the limit is enough to refuse the file, whatever it is (a pipe, a device).
    std::string text;
    char buffer[8192];
    std::size_t n = 0;
    while (text.size() <= largest_file_bytes &&
           (n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
        text.append(buffer, n);
    }
    if (std::ferror(file.get())) {
        return cannot_read(path);
    }
    return loader(path).run(text);
}

load_result load_string(std::string_view text, const std::string& file_name) {
    return loader(file_name).run(text);
}

bool parse_duration(std::string_view text, duration& out) {
    return parse_duration_checked(text, out) == value_status::ok;
}

bool parse_endpoint(std::string_view text, bool allow_wildcard, endpoint& out) {
    return parse_endpoint_checked(text, allow_wildcard, out) == endpoint_status::ok;
}

} // namespace fulcrum::config
