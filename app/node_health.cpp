#include "app/node_health.hpp"

#include "http/json.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace fulcrum {

namespace json = http::json;

bool node_health::healthy() const {
    return !draining && std::all_of(frontends.begin(), frontends.end(),
                                    [](const auto& f) { return f.listening && f.servers_up > 0; });
}

std::string_view node_health::status() const {
    if (draining) {
        return "draining";
    }
    return healthy() ? "ok" : "unhealthy";
}

node_health assess_health(const config::config& cfg, const health::server_states& states,
                          bool draining) {
    node_health out{draining, {}, std::nullopt};
    for (const auto& frontend : cfg.frontends) {
        std::set<std::size_t> backends{frontend.default_backend};
        for (const auto& route : frontend.routes) {
            backends.insert(route.backend);
        }
        std::size_t up = 0;
        for (const std::size_t b : backends) {
            for (std::size_t s = 0; s < cfg.backends[b].servers.size(); ++s) {
                up += states.available(b, s) ? 1 : 0;
            }
        }
        out.frontends.push_back({frontend.name, !draining, up});
    }
    return out;
}

std::string to_json(const node_health& health) {
    std::string out = "{\"status\": " + json::quote(health.status()) +
                      ", \"healthy\": " + (health.healthy() ? "true" : "false") +
                      ", \"frontends\": [";
    for (std::size_t i = 0; i < health.frontends.size(); ++i) {
        const auto& f = health.frontends[i];
        out += (i == 0 ? "{\"name\": " : ", {\"name\": ") + json::quote(f.name) +
               ", \"listening\": " + (f.listening ? "true" : "false") +
               ", \"servers_up\": " + std::to_string(f.servers_up) + "}";
    }
    out += "]";
    if (health.failover) {
        out += ", \"node\": " + json::quote(health.failover->node) +
               ", \"role\": " + json::quote(health.failover->role) +
               ", \"priority\": " + std::to_string(health.failover->priority);
    }
    out += "}\n";
    return out;
}

std::optional<node_health> parse_node_health(std::string_view text) {
    const auto document = json::parse(text);
    const auto* status = document ? document->find("status") : nullptr;
    const auto* status_text = status ? status->as_string() : nullptr;
    const auto* frontends = document ? document->find("frontends") : nullptr;
    const auto* list = frontends ? frontends->as_array() : nullptr;
    if (!status_text || !list) {
        return std::nullopt;
    }
    node_health out{*status_text == "draining", {}, std::nullopt};
    for (const auto& entry : *list) {
        const auto* name = entry.find("name");
        const auto* listening = entry.find("listening");
        const auto* up = entry.find("servers_up");
        const auto* name_text = name ? name->as_string() : nullptr;
        const auto is_listening = listening ? listening->as_bool() : std::nullopt;
        const std::int64_t servers_up = up ? up->as_int().value_or(-1) : -1;
        if (!name_text || !is_listening || servers_up < 0) {
            return std::nullopt;
        }
        out.frontends.push_back({*name_text, *is_listening, static_cast<std::size_t>(servers_up)});
    }
    const auto* node = document->find("node");
    const auto* role = document->find("role");
    const auto* priority = document->find("priority");
    if (node && role && priority) {
        const auto* node_text = node->as_string();
        const auto* role_text = role->as_string();
        const std::int64_t rank = priority->as_int().value_or(-1);
        if (!node_text || !role_text || rank < 0) {
            return std::nullopt;
        }
        out.failover = failover_status{*node_text, *role_text, static_cast<unsigned>(rank)};
    }
    return out;
}

namespace {

std::string servers(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " server" : " servers");
}

} // namespace

std::string summary(const node_health& health) {
    if (health.draining) {
        return "draining: not accepting connections";
    }
    if (!health.healthy()) {
        std::string out = "unhealthy:";
        for (const auto& f : health.frontends) {
            if (!f.listening) {
                out += (out.back() == ':' ? " frontend " : ", frontend ") + f.name +
                       " is not listening";
            } else if (f.servers_up == 0) {
                out += (out.back() == ':' ? " frontend " : ", frontend ") + f.name +
                       " has no server up";
            }
        }
        return out;
    }
    if (health.frontends.size() == 1) {
        return "healthy: frontend " + health.frontends[0].name + " has " +
               servers(health.frontends[0].servers_up) + " up";
    }
    std::string out = "healthy: " + std::to_string(health.frontends.size()) + " frontends";
    for (std::size_t i = 0; i < health.frontends.size(); ++i) {
        out += (i == 0 ? ": " : ", ") + health.frontends[i].name + " has " +
               servers(health.frontends[i].servers_up) + " up";
    }
    return out;
}

} // namespace fulcrum
