#include "app/admin_api.hpp"

#include "app/node_health.hpp"
#include "base/log.hpp"
#include "base/number_text.hpp"
#include "base/utc_text.hpp"
#include "http/json.hpp"
#include "http/token_file.hpp"

#include <prometheus/text_serializer.h>

#include <ctime>

namespace fulcrum {

namespace json = http::json;

namespace {

admin_reply text(int status, std::string body) {
    return {status, "text/plain", std::move(body)};
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    return base::utc_text(t, "%Y-%m-%dT%H:%M:%SZ");
}

// Compares without stopping at the first difference, so that timing does not reveal how much
// of a guessed token was right.
bool same_secret(std::string_view given, std::string_view secret) {
    if (given.size() != secret.size()) {
        return false;
    }
    unsigned char difference = 0;
    for (std::size_t i = 0; i < given.size(); ++i) {
        difference |= static_cast<unsigned char>(given[i] ^ secret[i]);
    }
    return difference == 0;
}

// "/admin/backends/{backend}/servers/{server}/state" -> backend, server.
bool split_state_path(std::string_view path, std::string_view& backend, std::string_view& server) {
    constexpr std::string_view prefix = "/admin/backends/";
    constexpr std::string_view middle = "/servers/";
    constexpr std::string_view suffix = "/state";
    // The prefix and the suffix must not overlap: "/admin/backends/state" has both.
    if (path.size() < prefix.size() + suffix.size() || !path.starts_with(prefix) ||
        !path.ends_with(suffix)) {
        return false;
    }
    path.remove_prefix(prefix.size());
    path.remove_suffix(suffix.size());
    const auto at = path.find(middle);
    if (at == std::string_view::npos) {
        return false;
    }
    backend = path.substr(0, at);
    server = path.substr(at + middle.size());
    return !backend.empty() && !server.empty() && server.find('/') == std::string_view::npos;
}

using base::shortest_text;

template <typename T> std::string number_or_null(const std::optional<T>& value) {
    return value ? shortest_text(*value) : "null";
}

// One SLI of a service as JSON; `bad_name` says what its bad events are ("errors", "slow").
std::string sli_json(const sli::sli_report& r, std::string_view bad_name,
                     std::optional<std::chrono::milliseconds> threshold = std::nullopt) {
    std::string out = "{";
    if (threshold) {
        out += "\"threshold_seconds\": " +
               shortest_text(std::chrono::duration<double>(*threshold).count()) + ", ";
    }
    out += "\"objective\": " + shortest_text(r.target.target) +
           ", \"error_budget_remaining\": " + number_or_null(r.budget_remaining) +
           ", \"budget_zone\": " +
           (r.budget_zone ? json::quote(sli::name(*r.budget_zone)) : std::string("null")) +
           ",\n    \"windows\": {";
    for (std::size_t i = 0; i < r.windows.size(); ++i) {
        const auto& w = r.windows[i];
        out += (i == 0 ? "\n     " : ",\n     ") + json::quote(sli::name(w.w)) +
               ": {\"requests\": " + std::to_string(w.c.total) + ", " + json::quote(bad_name) +
               ": " + std::to_string(w.c.total - w.c.good) +
               ", \"ratio\": " + number_or_null(w.ratio) +
               ", \"burn_rate\": " + number_or_null(w.burn) +
               ", \"coverage_seconds\": " + std::to_string(r.coverage[i].count()) + "}";
    }
    out += "},\n    \"error_budget_exhaustion_seconds\": {";
    for (std::size_t i = 0; i < sli::exhaustion_windows.size(); ++i) {
        out += (i == 0 ? "" : ", ") + json::quote(sli::name(sli::exhaustion_windows[i])) + ": " +
               number_or_null(r.exhaustion_seconds[i]);
    }
    out += "},\n    \"alerts\": [";
    for (std::size_t i = 0; i < sli::alert_rules.size(); ++i) {
        const auto& rule = sli::alert_rules[i];
        out += (i == 0 ? "\n     " : ",\n     ") + std::string("{\"severity\": ") +
               json::quote(sli::name(rule.sev)) +
               ", \"long_window\": " + json::quote(sli::name(rule.long_window)) +
               ", \"short_window\": " + json::quote(sli::name(rule.short_window)) +
               ", \"burn_rate\": " + shortest_text(rule.burn) +
               ", \"firing\": " + (r.firing[i] ? "true" : "false") + "}";
    }
    return out + "]}";
}

} // namespace

admin_api::admin_api(const config::config& cfg, health::server_states& states,
                     const health::checker& checker, const sli::meter& meter,
                     const sli::service_windows& windows, std::string token,
                     std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
    : cfg_(cfg), states_(states), checker_(checker), meter_(meter), windows_(windows),
      token_(std::move(token)), collectables_(std::move(collectables)) {}

admin_reply admin_api::handle(std::string_view method, std::string_view path,
                              std::string_view authorization, std::string_view body) const {
    if (path.starts_with("/admin/backends/")) {
        if (method != "POST") {
            return text(405, "use POST with {\"state\": \"ready|drain|maint\"}\n");
        }
        return set_state(path, authorization, body);
    }
    if (method != "GET" && method != "HEAD") {
        return text(405, "only GET is served here\n");
    }
    if (path == "/healthz") {
        auto health = assess_health(cfg_, states_, draining_);
        if (failover_status_) {
            health.failover = failover_status_();
        }
        return {health.healthy() ? 200 : 503, "application/json", to_json(health)};
    }
    if (path == "/metrics") {
        return metrics();
    }
    if (path == "/admin/servers") {
        return servers();
    }
    if (path == "/sli") {
        return sli();
    }
    return text(404, "not found; try /healthz, /metrics, /sli or /admin/servers\n");
}

admin_reply admin_api::metrics() const {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& c : collectables_) {
        auto more = c->Collect();
        families.insert(families.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
    }
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            prometheus::TextSerializer().Serialize(families)};
}

admin_reply admin_api::servers() const {
    std::string out = "[";
    for (std::size_t b = 0; b < cfg_.backends.size(); ++b) {
        const auto& backend = cfg_.backends[b];
        for (std::size_t s = 0; s < backend.servers.size(); ++s) {
            const auto report = checker_.server_report(b, s);
            out += out.size() > 1 ? ",\n " : "\n ";
            out += "{\"backend\": " + json::quote(backend.name) +
                   ", \"server\": " + json::quote(backend.servers[s].name) +
                   ", \"address\": " + json::quote(backend.servers[s].address.to_string()) +
                   ", \"state\": " + json::quote(states_.up(b, s) ? "up" : "down") +
                   ", \"admin_state\": " + json::quote(to_string(states_.admin(b, s))) +
                   ", \"last_check\": " + json::quote(report.last_check) +
                   ", \"last_change\": " + json::quote(rfc3339(report.last_change)) + "}";
        }
    }
    out += "\n]\n";
    return {200, "application/json", std::move(out)};
}

admin_reply admin_api::sli() const {
    const auto now = sli::wall_clock::now();
    std::string out = "{\"time\": " + json::quote(rfc3339(now)) + ", \"services\": [";
    for (std::size_t s = 0; s < windows_.size(); ++s) {
        out += s == 0 ? "\n  {" : ",\n  {";
        out += "\"service\": " + json::quote(meter_.services()[s]) +
               ", \"aborted_requests\": " + std::to_string(meter_.aborted_total(s)) +
               ",\n   \"availability\": " +
               sli_json(sli::report(windows_.counter(s), windows_.availability_objective(s), now),
                        "errors") +
               ",\n   \"latency\": ";
        if (const auto* latency = windows_.latency(s)) {
            out += sli_json(sli::report(latency->counter, latency->target, now), "slow",
                            latency->threshold);
        } else {
            out += "null";
        }
        out += "}";
    }
    out += "\n]}\n";
    return {200, "application/json", std::move(out)};
}

admin_reply admin_api::set_state(std::string_view path, std::string_view authorization,
                                 std::string_view body) const {
    if (token_.empty()) {
        return text(403, "the admin API is read-only: set admin.token_file to enable changes\n");
    }
    constexpr std::string_view bearer = "Bearer ";
    if (!authorization.starts_with(bearer) ||
        !same_secret(authorization.substr(bearer.size()), token_)) {
        return text(401, "a valid 'Authorization: Bearer <token>' header is required\n");
    }
    std::string_view backend_name;
    std::string_view server_name;
    if (!split_state_path(path, backend_name, server_name)) {
        return text(404, "expected /admin/backends/{backend}/servers/{server}/state\n");
    }
    std::size_t b = 0;
    while (b < cfg_.backends.size() && cfg_.backends[b].name != backend_name) {
        ++b;
    }
    if (b == cfg_.backends.size()) {
        return text(404, "no backend '" + std::string(backend_name) + "'\n");
    }
    const auto& servers = cfg_.backends[b].servers;
    std::size_t s = 0;
    while (s < servers.size() && servers[s].name != server_name) {
        ++s;
    }
    if (s == servers.size()) {
        return text(404, "no server '" + std::string(server_name) + "' in backend '" +
                             std::string(backend_name) + "'\n");
    }
    const auto request = json::parse_string_object(body);
    const auto state = request && request->contains("state")
                           ? health::parse_admin_state(request->at("state"))
                           : std::nullopt;
    if (!state) {
        return text(400, "expected a JSON body {\"state\": \"ready\"}, \"drain\" or \"maint\"\n");
    }
    states_.set_admin(b, s, *state);
    base::logf("server %s/%s admin state %s (admin API)", std::string(backend_name).c_str(),
               std::string(server_name).c_str(), std::string(to_string(*state)).c_str());
    return text(200, "server " + std::string(backend_name) + "/" + std::string(server_name) +
                         " is now " + std::string(to_string(*state)) + "\n");
}

std::string read_admin_token(const std::string& path) {
    return http::read_token_file(path, "admin.token_file");
}

} // namespace fulcrum
