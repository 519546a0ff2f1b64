#pragma once

#include "config/config.hpp"
#include "http/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

// The DigitalOcean reserved-IP client: which droplet this is, who holds a reserved IP, and
// moving it here. What it implements, from DigitalOcean's API reference
// (https://docs.digitalocean.com/reference/api/api-reference/, the OpenAPI source in
// github.com/digitalocean/openapi, specification/resources/reserved_ips/):
//
//   GET  {metadata}/metadata/v1/id                 200, the droplet id as plain text
//        (docs.digitalocean.com/reference/api/metadata/droplet-properties)
//   GET  {api}/v2/reserved_ips/{ip}                200 {"reserved_ip": {"ip": ..., "droplet":
//        null or the Droplet object, with "id", "region": {...}, "locked": bool, ...}}
//        (operation get_reserved_ip; models/reserved_ip.yml: droplet is null when unassigned)
//   POST {api}/v2/reserved_ips/{ip}/actions        {"type": "assign", "droplet_id": N}
//        201 {"action": {"id": N, "status": "in-progress", "type": "assign_ip", ...}}
//        (operation reservedIPsActions_post)
//   GET  {api}/v2/reserved_ips/{ip}/actions/{id}   200 {"action": {...}}; status is
//        "in-progress", "completed" or "errored" (operation reservedIPsActions_get;
//        actions/models/action.yml)
//
// Every API request carries "Authorization: Bearer <token>" and "Content-Type:
// application/json". Errors are {"id": "...", "message": "..."}: 401 {"id": "unauthorized",
// "message": "Unable to authenticate you."}, 404 "not_found", 429 "too_many_requests", and 422
// "unprocessable_entity" when the droplet or the IP has a pending event ("The floating IP
// already has a pending event.", github.com/digitalocean/doctl/issues/493). Every response
// has ratelimit-limit, ratelimit-remaining and ratelimit-reset (Unix time of the reset); a
// 429 has Retry-After in seconds (docs.digitalocean.com/notes/2023/api-rate-limit).
//
// What it does with them:
//   - 422, 429 and 5xx are retried until the operation's deadline, after Retry-After when the
//     API gives one, else after ratelimit-reset when ratelimit-remaining is 0, else with
//     exponential backoff (backoff_initial doubling up to backoff_max). A retried assignment
//     asks who holds the IP again before it posts again, since a lost answer may hide a
//     success.
//   - 401 and 403 end the operation at once as `unauthorized`: a wrong or revoked token does
//     not heal by retrying, and the failover controller goes to FAULT on it.
//   - Any other status fails with the API's message.
//   - An action is polled until "completed"; "errored" fails, and any other status (known or
//     not) is not success: polling goes on until the deadline, then fails.
// The token is sent to the API only (never to the metadata service) and appears in no log
// line and no reason: any text that would contain it has it replaced by "<token>".
namespace fulcrum::failover {

struct reserved_ip_settings {
    std::string api_base = "https://api.digitalocean.com";
    std::string metadata_base = "http://169.254.169.254";
    std::string token;   // the API token (read it with http::read_token_file)
    std::string ca_file; // CAs trusted for the API; empty: the system's trust store
    config::duration request_timeout{10000}; // each HTTP exchange
    // How long one operation (holder, assign) keeps retrying and polling: no wait that would
    // end after it is begun, so the operation ends within deadline + request_timeout.
    config::duration deadline{60000};
    config::duration backoff_initial{1000};
    config::duration backoff_max{16000};
    config::duration poll_interval{1000}; // between polls of an assign action
};

struct api_result {
    enum class outcome {
        ok,
        unauthorized, // the API refused the token (401, 403)
        failed,
    };
    outcome result = outcome::failed;
    std::string reason; // in words when not ok

    bool ok() const { return result == outcome::ok; }
};

struct droplet_id_result : api_result {
    std::int64_t droplet_id = 0;
};

struct holder_result : api_result {
    std::optional<std::int64_t> droplet_id; // none: assigned to no droplet
};

struct assign_result : api_result {
    bool moved = false; // false when the IP was on the droplet already (nothing was posted)
};

// The operations run on the executor they are awaited on (the control thread's); the client
// must outlive them.
// The settings of `failover.reserved_ip`, with the token read from its token_file (which
// must not be readable by group or others: std::runtime_error saying why otherwise).
// Assignments are polled every 250 ms: the traffic moves when the action completes, and a
// failover waits for that, so a second-long poll would add up to a second to the gap.
reserved_ip_settings settings_from(const config::reserved_ip& configured);

class reserved_ip_client {
public:
    // Receives each step as one line without prefix or newline, e.g. "reserved IP
    // 203.0.113.10: held by droplet 3164444, assigning it to droplet 3164445".
    using log_function = std::function<void(const std::string& line)>;

    // Throws std::runtime_error at start-up for a base that is not an http(s) URL, an empty
    // token or one with a line break, or a CA file that cannot be loaded.
    reserved_ip_client(reserved_ip_settings settings, log_function log);

    // This droplet's id, from the metadata service (one request, no retry, no token).
    boost::asio::awaitable<droplet_id_result> this_droplet();

    // The droplet that holds `ip` now. Logs only retries.
    boost::asio::awaitable<holder_result> holder(std::string ip);

    // Moves `ip` to `droplet_id` unless it is there already, and waits for the action to
    // complete. Idempotent: run it again after any failure.
    boost::asio::awaitable<assign_result> assign(std::string ip, std::int64_t droplet_id);

private:
    struct reply;
    class backoff;
    using time_point = std::chrono::steady_clock::time_point;

    boost::asio::awaitable<reply> call(std::string method, std::string path, std::string body,
                                       int expected_status);
    boost::asio::awaitable<reply> call_retrying(const std::string& ip, std::string path,
                                                backoff& delays, time_point deadline);
    boost::asio::awaitable<bool> pause_before_retry(const std::string& ip, const reply& r,
                                                    backoff& delays, time_point deadline);
    boost::asio::awaitable<holder_result> holder_until(const std::string& ip, backoff& delays,
                                                       time_point deadline);
    boost::asio::awaitable<assign_result> poll_action(const std::string& ip, std::int64_t action_id,
                                                      std::int64_t droplet_id, backoff& delays,
                                                      time_point deadline);
    void log(const std::string& line) const;
    std::string scrub(std::string text) const;

    reserved_ip_settings settings_;
    log_function log_;
    http::http_client client_;
};

} // namespace fulcrum::failover
