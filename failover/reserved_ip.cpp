#include "failover/reserved_ip.hpp"

#include "http/token_file.hpp"

#include "http/json.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace fulcrum::failover {

namespace asio = boost::asio;
namespace json = http::json;
using steady = std::chrono::steady_clock;
using outcome = api_result::outcome;

namespace {

// Longer API messages are cut: they go into single log lines.
constexpr std::size_t max_message_chars = 300;

std::string ms(config::duration d) {
    return std::to_string(d.count()) + "ms";
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t n = 0;
    const auto parsed = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || parsed.ec != std::errc{} || parsed.ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return n;
}

// The API's own words from an error body {"id": "...", "message": "..."}; "" without them.
std::string api_message(const std::string& body) {
    const auto document = json::parse(body);
    const json::value* message = document ? document->find("message") : nullptr;
    if (message == nullptr || message->as_string() == nullptr) {
        return "";
    }
    return message->as_string()->substr(0, max_message_chars);
}

// How long the API asks us to wait before the next request: Retry-After in seconds, else
// until ratelimit-reset (Unix time) once ratelimit-remaining is 0.
std::optional<config::duration> asked_wait(const http::http_response& response) {
    if (const auto seconds = parse_int(response.header("Retry-After")); seconds && *seconds >= 0) {
        return std::chrono::seconds(*seconds);
    }
    if (response.header("ratelimit-remaining") == "0") {
        if (const auto reset = parse_int(response.header("ratelimit-reset"))) {
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            return std::chrono::seconds(std::max<std::int64_t>(*reset - now, 0));
        }
    }
    return std::nullopt;
}

std::string without_trailing_slashes(std::string base) {
    while (base.ends_with('/')) {
        base.pop_back();
    }
    return base;
}

std::string checked_base(std::string base, const char* setting) {
    base = without_trailing_slashes(std::move(base));
    const auto u = http::parse_url(base);
    if (!u || u->target != "/" || base.find('?') != std::string::npos) {
        throw std::runtime_error(std::string(setting) + " '" + base +
                                 "' is not an http:// or https:// URL without a path");
    }
    return base;
}

bool is_ipv4(const std::string& ip) {
    boost::system::error_code ec;
    asio::ip::make_address_v4(ip, ec);
    return !ec;
}

asio::awaitable<void> sleep_for(config::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(d);
    co_await timer.async_wait(asio::use_awaitable);
}

template <typename Result> Result failure(outcome why, std::string reason) {
    Result r;
    r.result = why;
    r.reason = std::move(reason);
    return r;
}

} // namespace

// One API exchange, judged.
struct reserved_ip_client::reply {
    outcome result = outcome::failed;
    bool retry = false;                   // 422, 429, 5xx: worth asking again
    std::optional<json::value> body;      // when ok
    std::optional<config::duration> wait; // what the API asked before a retry
    std::string reason;
};

class reserved_ip_client::backoff {
public:
    backoff(config::duration initial, config::duration max) : next_(initial), max_(max) {}
    config::duration next() {
        const auto current = next_;
        next_ = std::min(next_ * 2, max_);
        return current;
    }

private:
    config::duration next_;
    config::duration max_;
};

reserved_ip_client::reserved_ip_client(reserved_ip_settings settings, log_function log)
    : settings_(std::move(settings)), log_(std::move(log)),
      client_(http::http_client_settings{settings_.ca_file}) {
    settings_.api_base = checked_base(settings_.api_base, "failover.reserved_ip.api_base");
    settings_.metadata_base =
        checked_base(settings_.metadata_base, "failover.reserved_ip.metadata_base");
    if (settings_.token.empty()) {
        throw std::runtime_error("reserved_ip: the API token is empty");
    }
    if (settings_.token.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        throw std::runtime_error("reserved_ip: the API token contains a line break");
    }
}

std::string reserved_ip_client::scrub(std::string text) const {
    constexpr std::string_view placeholder = "<token>";
    for (std::size_t at = text.find(settings_.token); at != std::string::npos;
         at = text.find(settings_.token, at + placeholder.size())) {
        text.replace(at, settings_.token.size(), placeholder);
    }
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = ' ';
        }
    }
    return text;
}

void reserved_ip_client::log(const std::string& line) const {
    if (log_) {
        log_(scrub(line));
    }
}

asio::awaitable<reserved_ip_client::reply> reserved_ip_client::call(std::string method,
                                                                    std::string path,
                                                                    std::string body,
                                                                    int expected_status) {
    reply out;
    const std::string what = method + " " + path;
    http::http_request request;
    request.method = std::move(method);
    request.url = settings_.api_base + path;
    request.headers = {{"Authorization", "Bearer " + settings_.token},
                       {"Content-Type", "application/json"}};
    request.body = std::move(body);
    request.timeout = settings_.request_timeout;
    const http::http_result sent = co_await client_.send(std::move(request));
    if (!sent.ok()) {
        out.reason = what + ": " + sent.error;
        co_return out;
    }
    const auto& response = sent.response;
    const int status = response.status;
    if (status == expected_status) {
        out.body = json::parse(response.body);
        if (!out.body) {
            out.reason = what + " answered " + std::to_string(status) + " but not with JSON";
        } else {
            out.result = outcome::ok;
        }
        co_return out;
    }
    const std::string message = api_message(response.body);
    const std::string answered = what + " answered " + std::to_string(status) +
                                 (message.empty() ? "" : " (" + message + ")");
    if (status == 401 || status == 403) {
        out.result = outcome::unauthorized;
        out.reason = "the API refused the token: " + answered +
                     "; check that the token is valid and may read and write reserved IPs";
    } else {
        out.retry = status == 422 || status == 429 || status >= 500;
        out.wait = asked_wait(response);
        out.reason = answered;
    }
    co_return out;
}

asio::awaitable<bool> reserved_ip_client::pause_before_retry(const std::string& ip, const reply& r,
                                                             backoff& delays, time_point deadline) {
    const config::duration wait = r.wait ? *r.wait : delays.next();
    if (steady::now() + wait >= deadline) {
        co_return false;
    }
    log("reserved IP " + ip + ": " + r.reason + ", retrying in " + ms(wait) +
        (r.wait ? " as the API asks" : ""));
    co_await sleep_for(wait);
    co_return true;
}

asio::awaitable<reserved_ip_client::reply> reserved_ip_client::call_retrying(const std::string& ip,
                                                                             std::string path,
                                                                             backoff& delays,
                                                                             time_point deadline) {
    for (;;) {
        reply r = co_await call("GET", path, "", 200);
        if (!r.retry) {
            co_return r;
        }
        if (!co_await pause_before_retry(ip, r, delays, deadline)) {
            r.reason = "gave up after " + ms(settings_.deadline) + ": " + r.reason;
            co_return r;
        }
    }
}

asio::awaitable<holder_result>
reserved_ip_client::holder_until(const std::string& ip, backoff& delays, time_point deadline) {
    const reply r = co_await call_retrying(ip, "/v2/reserved_ips/" + ip, delays, deadline);
    if (r.result != outcome::ok) {
        co_return failure<holder_result>(r.result, scrub(r.reason));
    }
    const json::value* reserved = r.body->find("reserved_ip");
    const json::value* droplet = reserved != nullptr ? reserved->find("droplet") : nullptr;
    if (droplet == nullptr) {
        // The API leaves the droplet out for a token without the droplet:read scope.
        co_return failure<holder_result>(
            outcome::failed, "the API's answer for " + ip +
                                 " does not say which droplet holds it (reserved_ip.droplet is "
                                 "missing; does the token have the droplet:read scope?)");
    }
    holder_result out;
    if (!droplet->is_null()) {
        const json::value* id = droplet->find("id");
        out.droplet_id = id != nullptr ? id->as_int() : std::nullopt;
        if (!out.droplet_id) {
            co_return failure<holder_result>(outcome::failed,
                                             "the API's answer for " + ip +
                                                 " names a droplet without an integer id");
        }
    }
    out.result = outcome::ok;
    co_return out;
}

asio::awaitable<droplet_id_result> reserved_ip_client::this_droplet() {
    http::http_request request;
    request.url = settings_.metadata_base + "/metadata/v1/id";
    request.timeout = settings_.request_timeout;
    const http::http_result sent = co_await client_.send(std::move(request));
    const std::string what =
        "metadata service (GET " + settings_.metadata_base + "/metadata/v1/id)";
    if (!sent.ok()) {
        co_return failure<droplet_id_result>(outcome::failed, scrub(what + ": " + sent.error));
    }
    if (sent.response.status != 200) {
        co_return failure<droplet_id_result>(
            outcome::failed, what + " answered " + std::to_string(sent.response.status));
    }
    std::string_view text = sent.response.body;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    const auto id = parse_int(text);
    if (!id || *id <= 0) {
        co_return failure<droplet_id_result>(
            outcome::failed,
            scrub(what + " answered '" + std::string(text.substr(0, 40)) + "', not a droplet id"));
    }
    droplet_id_result out;
    out.result = outcome::ok;
    out.droplet_id = *id;
    co_return out;
}

asio::awaitable<holder_result> reserved_ip_client::holder(std::string ip) {
    if (!is_ipv4(ip)) {
        co_return failure<holder_result>(outcome::failed,
                                         "'" + scrub(ip) + "' is not an IPv4 address");
    }
    backoff delays(settings_.backoff_initial, settings_.backoff_max);
    co_return co_await holder_until(ip, delays, steady::now() + settings_.deadline);
}

asio::awaitable<assign_result> reserved_ip_client::assign(std::string ip, std::int64_t droplet_id) {
    if (!is_ipv4(ip)) {
        co_return failure<assign_result>(outcome::failed,
                                         "'" + scrub(ip) + "' is not an IPv4 address");
    }
    if (droplet_id <= 0) {
        co_return failure<assign_result>(
            outcome::failed, "droplet id " + std::to_string(droplet_id) + " is not a droplet id");
    }
    const auto deadline = steady::now() + settings_.deadline;
    backoff delays(settings_.backoff_initial, settings_.backoff_max);
    const std::string self = std::to_string(droplet_id);
    for (;;) {
        const holder_result held = co_await holder_until(ip, delays, deadline);
        if (!held.ok()) {
            co_return failure<assign_result>(held.result, held.reason);
        }
        if (held.droplet_id == droplet_id) {
            log("reserved IP " + ip + ": already assigned to droplet " + self + ", nothing to do");
            assign_result out;
            out.result = outcome::ok;
            co_return out;
        }
        log("reserved IP " + ip + ": " +
            (held.droplet_id ? "held by droplet " + std::to_string(*held.droplet_id)
                             : std::string("assigned to no droplet")) +
            ", assigning it to droplet " + self);
        const std::string path = "/v2/reserved_ips/" + ip + "/actions";
        const reply r =
            co_await call("POST", path, R"({"type":"assign","droplet_id":)" + self + "}", 201);
        if (r.result == outcome::ok) {
            const json::value* action = r.body->find("action");
            const json::value* id = action != nullptr ? action->find("id") : nullptr;
            const auto action_id = id != nullptr ? id->as_int() : std::nullopt;
            if (!action_id) {
                co_return failure<assign_result>(
                    outcome::failed, "POST " + path + " answered 201 without an action id");
            }
            co_return co_await poll_action(ip, *action_id, droplet_id, delays, deadline);
        }
        if (!r.retry) {
            co_return failure<assign_result>(r.result, scrub(r.reason));
        }
        if (!co_await pause_before_retry(ip, r, delays, deadline)) {
            co_return failure<assign_result>(
                outcome::failed,
                scrub("gave up after " + ms(settings_.deadline) + ": " + r.reason));
        }
    }
}

asio::awaitable<assign_result>
reserved_ip_client::poll_action(const std::string& ip, std::int64_t action_id,
                                std::int64_t droplet_id, backoff& delays, time_point deadline) {
    const std::string name = "assign action " + std::to_string(action_id);
    log("reserved IP " + ip + ": " + name + " started");
    const std::string path = "/v2/reserved_ips/" + ip + "/actions/" + std::to_string(action_id);
    std::string last = "in-progress";
    for (;;) {
        if (steady::now() + settings_.poll_interval >= deadline) {
            co_return failure<assign_result>(outcome::failed,
                                             scrub(name + " still '" + last + "' after " +
                                                   ms(settings_.deadline) + ", giving up"));
        }
        co_await sleep_for(settings_.poll_interval);
        const reply r = co_await call_retrying(ip, path, delays, deadline);
        if (r.result != outcome::ok) {
            co_return failure<assign_result>(r.result, scrub(r.reason));
        }
        const json::value* action = r.body->find("action");
        const json::value* status = action != nullptr ? action->find("status") : nullptr;
        const std::string now =
            status != nullptr && status->as_string() != nullptr ? *status->as_string() : "";
        if (now == "completed") {
            log("reserved IP " + ip + ": " + name + " completed, the IP is on droplet " +
                std::to_string(droplet_id));
            assign_result out;
            out.result = outcome::ok;
            out.moved = true;
            co_return out;
        }
        if (now == "errored") {
            co_return failure<assign_result>(outcome::failed,
                                             name + " errored: DigitalOcean did not move the IP");
        }
        if (now != last) {
            last = now;
            log("reserved IP " + ip + ": " + name + " is '" + now + "'" +
                (now == "in-progress" ? "" : ", which is not success; still waiting"));
        }
    }
}

reserved_ip_settings settings_from(const config::reserved_ip& configured) {
    reserved_ip_settings out;
    out.api_base = configured.api_base;
    out.metadata_base = configured.metadata_base;
    out.token = http::read_token_file(configured.token_file, "failover.reserved_ip.token_file");
    out.poll_interval = std::chrono::milliseconds(250);
    return out;
}

} // namespace fulcrum::failover
