#include "config/config.hpp"
#include "config_loading.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fulcrum::config {
namespace {

using namespace std::chrono_literals;
using namespace loading;

// ---- files that load

TEST(config_examples, tutorial_loads_without_errors) {
    load_result result = load_file(FULCRUM_SOURCE_DIR "/deploy/examples/tutorial.yaml");
    for (const diagnostic& d : result.errors) {
        ADD_FAILURE() << d.to_string();
    }
    const config& c = result.value;
    ASSERT_EQ(c.frontends.size(), 1u);
    EXPECT_EQ(c.frontends[0].name, "http");
    EXPECT_EQ(c.frontends[0].bind, (std::vector<endpoint>{{"10.17.1.18", 80}}));
    EXPECT_TRUE(c.frontends[0].forwardfor);
    ASSERT_EQ(c.backends.size(), 1u);
    EXPECT_EQ(c.backends[0].name, "app_pool");
    ASSERT_EQ(c.backends[0].servers.size(), 2u);
    EXPECT_EQ(c.backends[0].servers[0].name, "app-1");
    EXPECT_EQ(c.backends[0].servers[0].address, (endpoint{"10.132.20.236", 80}));
    EXPECT_EQ(c.backends[0].servers[1].name, "app-2");
    EXPECT_EQ(c.backends[0].servers[1].address, (endpoint{"10.132.20.237", 80}));
    EXPECT_EQ(c.admin.bind, (endpoint{"127.0.0.1", 9100}));
    EXPECT_EQ(c.admin.timeouts.http_request, 5s);
    EXPECT_EQ(c.admin.timeouts.keepalive, 10s);
    EXPECT_EQ(c.admin.timeouts.client, 10s);
    // HAProxy's `check`: TCP connects, inter 2s, fall 3, rise 2.
    for (const server& s : c.backends[0].servers) {
        EXPECT_TRUE(s.check.enabled);
        EXPECT_EQ(s.check.type, health_check::kind::tcp);
        EXPECT_EQ(s.check.interval, 2s);
        EXPECT_EQ(s.check.fall, 3u);
        EXPECT_EQ(s.check.rise, 2u);
    }
}

TEST(config_examples, full_loads_without_errors_and_uses_every_key) {
    load_result result = load_file(FULCRUM_SOURCE_DIR "/deploy/examples/full.yaml");
    for (const diagnostic& d : result.errors) {
        ADD_FAILURE() << d.to_string();
    }
    const config& c = result.value;
    EXPECT_EQ(c.global.threads, 4u);
    EXPECT_EQ(c.global.shutdown_grace, 15s);
    EXPECT_TRUE(c.global.metering);
    EXPECT_EQ(c.global.state_dir, "/var/lib/fulcrum");
    EXPECT_EQ(c.global.state_interval, 30s);
    EXPECT_EQ(c.global.maxconn, 100000u);
    ASSERT_EQ(c.frontends.size(), 2u);
    const frontend& http = c.frontends[0];
    EXPECT_EQ(http.bind, (std::vector<endpoint>{{"0.0.0.0", 80}, {"::", 80}}));
    EXPECT_EQ(http.client_timeout, 20s);
    EXPECT_EQ(http.http_request_timeout, 5s);
    EXPECT_EQ(http.keepalive_timeout, 30s);
    EXPECT_EQ(http.limits.max_head_bytes, 32u * 1024);
    EXPECT_EQ(http.limits.max_headers, 64u);
    EXPECT_EQ(http.limits.max_uri_bytes, 4u * 1024);
    EXPECT_EQ(http.limits.max_body_bytes, 100u * 1024 * 1024);
    ASSERT_TRUE(http.tls.has_value());
    const frontend_tls& tls = *http.tls;
    EXPECT_EQ(tls.bind, (std::vector<endpoint>{{"0.0.0.0", 443}, {"::", 443}}));
    ASSERT_EQ(tls.certificates.size(), 2u);
    EXPECT_EQ(tls.certificates[0].cert, "/etc/letsencrypt/live/example.com/fullchain.pem");
    EXPECT_EQ(tls.certificates[0].key, "/etc/letsencrypt/live/example.com/privkey.pem");
    EXPECT_EQ(tls.certificates[1].key, "");
    EXPECT_EQ(tls.certificates[1].origin.path, "frontends[0].tls.certificates[1]");
    EXPECT_EQ(tls.on_unknown_sni, frontend_tls::unknown_sni::serve_default);
    EXPECT_EQ(tls.min_version, tls_version::tls1_2);
    EXPECT_EQ(tls.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
    EXPECT_EQ(tls.ciphersuites, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384");
    EXPECT_TRUE(tls.session_tickets);
    EXPECT_EQ(tls.session_timeout, 10min);
    ASSERT_TRUE(tls.hsts.has_value());
    EXPECT_EQ(tls.hsts->max_age_seconds, 31536000u);
    EXPECT_TRUE(tls.hsts->include_subdomains);
    EXPECT_FALSE(tls.hsts->preload);
    EXPECT_EQ(http.redirect, (redirect{"https", 301, 443}));
    ASSERT_EQ(http.routes.size(), 4u);
    EXPECT_EQ(http.routes[2].redirect, (redirect{"https", 308, 0}));
    EXPECT_EQ(http.routes[2].backend, 0u); // the default backend's, for metering
    EXPECT_EQ(http.routes[2].service, "web");
    EXPECT_EQ(http.routes[0].host, "api.example.com");
    EXPECT_EQ(http.routes[0].path_prefix, "/v2/");
    EXPECT_EQ(http.routes[0].backend, 1u);
    EXPECT_EQ(http.routes[0].service, "public_api");
    EXPECT_EQ(http.routes[1].backend, 0u);
    EXPECT_EQ(http.routes[1].service, "web");
    EXPECT_EQ(c.slo.of("web"), (objectives{99.95, latency_objective{500ms, 99}}));
    EXPECT_EQ(c.slo.of("public_api"), (objectives{99.9, latency_objective{300ms, 99.5}}));
    EXPECT_EQ(c.slo.of("internal_api"), (objectives{99.5, latency_objective{500ms, 99}}));
    EXPECT_EQ(http.routes[3].service, "internal_api");
    const frontend& internal = c.frontends[1];
    EXPECT_EQ(internal.bind, (std::vector<endpoint>{{"10.132.20.10", 8080}}));
    EXPECT_EQ(internal.default_backend, 1u);
    EXPECT_FALSE(internal.forwardfor);
    EXPECT_EQ(internal.maxconn, 1000u);
    EXPECT_EQ(http.maxconn, 0u);
    EXPECT_EQ(internal.client_timeout, 30s);
    EXPECT_EQ(internal.limits.max_head_bytes, 16u * 1024);
    const backend& app = c.backends[0];
    EXPECT_EQ(app.service, "web");
    EXPECT_EQ(app.retries, 2u);
    EXPECT_EQ(app.connect_timeout, 2s);
    EXPECT_EQ(app.server_timeout, 60s);
    EXPECT_EQ(app.pool.max_idle_per_server, 32u);
    EXPECT_EQ(app.pool.idle_timeout, 3s);
    EXPECT_EQ(app.servers[1].weight, 2u);
    const backend& api = c.backends[1];
    EXPECT_EQ(api.service, "api_pool");
    EXPECT_EQ(api.connect_timeout, 3s);
    EXPECT_EQ(api.server_timeout, 45s);
    EXPECT_EQ(api.servers[0].address, (endpoint{"fd00::10", 8080}));
    EXPECT_EQ(api.servers[1].weight, 3u);

    EXPECT_EQ(c.admin.token_file, "/etc/fulcrum/admin.token");
    EXPECT_EQ(app.passive.connect_failures, 2u);
    EXPECT_EQ(app.passive.server_errors, 5u);
    EXPECT_EQ(app.passive.gateway_errors, 5u);
    const health_check& app1 = app.servers[0].check;
    EXPECT_TRUE(app1.enabled);
    EXPECT_EQ(app1.type, health_check::kind::http);
    EXPECT_EQ(app1.path, "/health");
    EXPECT_EQ(app1.method, "GET");
    EXPECT_EQ(app1.host, "app.example.com");
    EXPECT_EQ(app1.expect_status, (std::vector<status_range>{{200, 399}}));
    EXPECT_EQ(app1.expect_body, "ok");
    EXPECT_EQ(app1.interval, 10s);
    EXPECT_EQ(app1.timeout, 5s);
    EXPECT_EQ(app1.rise, 3u);
    EXPECT_EQ(app1.fall, 3u);
    EXPECT_EQ(app1.port, 8080u);
    EXPECT_EQ(app.servers[1].check.port, 8081u);
    EXPECT_EQ(app.servers[1].check.path, "/healthz");
    EXPECT_EQ(app.servers[1].check.expect_body, "ok");
    EXPECT_EQ(api.passive.connect_failures, 3u);
    EXPECT_EQ(api.passive.server_errors, 0u);
    const health_check& api1 = api.servers[0].check;
    EXPECT_EQ(api1.type, health_check::kind::http);
    EXPECT_EQ(api1.method, "HEAD");
    EXPECT_EQ(api1.expect_status, (std::vector<status_range>{{200, 200}, {204, 204}}));
    EXPECT_EQ(api1.interval, 2s);
    EXPECT_EQ(api1.timeout, 1s);
    EXPECT_FALSE(api.servers[1].check.enabled);

    ASSERT_TRUE(c.failover.has_value());
    const failover& f = *c.failover;
    EXPECT_EQ(f.node, "lb-1");
    EXPECT_EQ(f.priority, 150u);
    EXPECT_TRUE(f.preempt);
    EXPECT_EQ(f.preempt_delay, 30s);
    EXPECT_EQ(f.peer, (endpoint{"10.132.20.11", 9100}));
    EXPECT_EQ(f.interval, 1s);
    EXPECT_EQ(f.fall, 3u);
    EXPECT_EQ(f.rise, 2u);
    EXPECT_EQ(f.hold_down, 5s);
    EXPECT_EQ(f.hooks.on_active, (strings{"/usr/local/bin/notify", "--role", "active"}));
    EXPECT_EQ(f.hooks.on_passive, (strings{"/usr/local/bin/notify", "--role", "passive"}));
    EXPECT_EQ(f.hooks.on_fault, (strings{"/usr/local/bin/notify", "--role", "fault"}));
    EXPECT_EQ(f.hooks.timeout, 20s);
    ASSERT_TRUE(f.reserved_ip.has_value());
    EXPECT_EQ(f.reserved_ip->address, "203.0.113.10");
    EXPECT_EQ(f.reserved_ip->token_file, "/etc/fulcrum/do.token");
    EXPECT_EQ(f.reserved_ip->api_base, "https://api.digitalocean.com");
    EXPECT_EQ(f.reserved_ip->metadata_base, "http://169.254.169.254");
    EXPECT_EQ(f.reserved_ip->recheck, 10s);
}

TEST(config_defaults, built_in_defaults_apply_when_nothing_is_set) {
    config c = load_ok(minimal);
    EXPECT_EQ(c.global.threads, 0u);
    EXPECT_EQ(c.global.shutdown_grace, 10s);
    EXPECT_TRUE(c.global.metering);
    EXPECT_EQ(c.global.state_dir, "");
    EXPECT_EQ(c.global.state_interval, 60s);
    EXPECT_EQ(c.admin.bind, (endpoint{"127.0.0.1", 9100}));
    const frontend& f = c.frontends[0];
    EXPECT_TRUE(f.forwardfor);
    EXPECT_EQ(f.client_timeout, 30s);
    EXPECT_EQ(f.http_request_timeout, 10s);
    EXPECT_EQ(f.keepalive_timeout, 60s);
    EXPECT_EQ(f.limits.max_head_bytes, 16384u);
    EXPECT_EQ(f.limits.max_headers, 100u);
    EXPECT_EQ(f.limits.max_uri_bytes, 8192u);
    EXPECT_EQ(f.limits.max_body_bytes, 0u);
    EXPECT_TRUE(f.routes.empty());
    const backend& b = c.backends[0];
    EXPECT_EQ(b.service, "app_pool");
    EXPECT_EQ(b.connect_timeout, 5s);
    EXPECT_EQ(b.server_timeout, 30s);
    EXPECT_EQ(b.tunnel_timeout, 1h);
    EXPECT_EQ(b.retries, 1u);
    EXPECT_EQ(b.pool.max_idle_per_server, 1024u);
    EXPECT_EQ(b.pool.idle_timeout, 4s);
    EXPECT_EQ(b.servers[0].weight, 1u);
}

TEST(config_defaults, defaults_section_reaches_every_frontend_and_backend) {
    config c = load_ok(R"(defaults:
  timeouts: {connect: 1s, client: 2s, server: 3s, http_request: 4s, keepalive: 5s, tunnel: 6s}
  forwardfor: false
  limits: {max_head_bytes: 1k, max_headers: 10, max_uri_bytes: 512, max_body_bytes: 1g}
  retries: 3
  pool: {max_idle_per_server: 8, idle_timeout: 500ms}
frontends:
  - {name: a, bind: "*:80", default_backend: one}
  - {name: b, bind: "*:81", default_backend: two}
backends:
  - {name: one, servers: [{name: s, address: 10.0.0.1:80}]}
  - {name: two, servers: [{name: s, address: 10.0.0.2:80}]}
)");
    for (const frontend& f : c.frontends) {
        EXPECT_FALSE(f.forwardfor);
        EXPECT_EQ(f.client_timeout, 2s);
        EXPECT_EQ(f.http_request_timeout, 4s);
        EXPECT_EQ(f.keepalive_timeout, 5s);
        EXPECT_EQ(f.limits.max_head_bytes, 1024u);
        EXPECT_EQ(f.limits.max_headers, 10u);
        EXPECT_EQ(f.limits.max_uri_bytes, 512u);
        EXPECT_EQ(f.limits.max_body_bytes, 1024u * 1024 * 1024);
    }
    for (const backend& b : c.backends) {
        EXPECT_EQ(b.connect_timeout, 1s);
        EXPECT_EQ(b.server_timeout, 3s);
        EXPECT_EQ(b.tunnel_timeout, 6s);
        EXPECT_EQ(b.retries, 3u);
        EXPECT_EQ(b.pool.max_idle_per_server, 8u);
        EXPECT_EQ(b.pool.idle_timeout, 500ms);
    }
    EXPECT_EQ(c.frontends[1].default_backend, 1u);
}

TEST(config_defaults, overrides_replace_only_the_keys_they_name) {
    config c = load_ok(R"(defaults:
  timeouts: {client: 2s, connect: 1s}
  limits: {max_headers: 10, max_body_bytes: 1m}
  pool: {max_idle_per_server: 8}
frontends:
  - name: http
    bind: "*:80"
    default_backend: app
    timeouts: {keepalive: 9s}
    limits: {max_headers: 20}
backends:
  - name: app
    timeouts: {server: 7s, tunnel: 90s}
    pool: {idle_timeout: 2s}
    retries: 0
    servers: [{name: s, address: 10.0.0.1:80}]
)");
    const frontend& f = c.frontends[0];
    EXPECT_EQ(f.client_timeout, 2s);
    EXPECT_EQ(f.keepalive_timeout, 9s);
    EXPECT_EQ(f.http_request_timeout, 10s);
    EXPECT_EQ(f.limits.max_headers, 20u);
    EXPECT_EQ(f.limits.max_body_bytes, 1024u * 1024);
    const backend& b = c.backends[0];
    EXPECT_EQ(b.connect_timeout, 1s);
    EXPECT_EQ(b.server_timeout, 7s);
    EXPECT_EQ(b.tunnel_timeout, 90s);
    EXPECT_EQ(b.pool.max_idle_per_server, 8u);
    EXPECT_EQ(b.pool.idle_timeout, 2s);
    EXPECT_EQ(b.retries, 0u);
}

TEST(config_defaults, route_service_defaults_to_the_backend_service) {
    config c = load_ok(R"(frontends:
  - name: http
    bind: "*:80"
    default_backend: web
    routes:
      - {host: API.Example.com, backend: api}
      - {path_prefix: /admin/, backend: web, service: admin_ui}
      - {path_prefix: /, backend: web}
backends:
  - {name: web, servers: [{name: s, address: 10.0.0.1:80}]}
  - {name: api, service: public_api, servers: [{name: s, address: 10.0.0.2:80}]}
)");
    const std::vector<route>& routes = c.frontends[0].routes;
    ASSERT_EQ(routes.size(), 3u);
    EXPECT_EQ(routes[0].host, "api.example.com");
    EXPECT_EQ(routes[0].path_prefix, "");
    EXPECT_EQ(routes[0].backend, 1u);
    EXPECT_EQ(routes[0].service, "public_api");
    EXPECT_EQ(routes[1].service, "admin_ui");
    EXPECT_EQ(routes[2].backend, 0u);
    EXPECT_EQ(routes[2].service, "web");
}

TEST(config_defaults, binds_accept_a_single_string_wildcards_ipv6_and_port_zero) {
    config c = load_ok(R"(admin: {bind: "[::1]:0"}
global: {threads: 256}
frontends:
  - {name: a, bind: "*:0", default_backend: app}
  - {name: b, bind: ["[::]:443", 127.0.0.1:0], default_backend: app}
backends:
  - {name: app, servers: [{name: s, address: 10.0.0.1:80}]}
)");
    EXPECT_EQ(c.admin.bind, (endpoint{"::1", 0}));
    EXPECT_EQ(c.global.threads, 256u);
    EXPECT_EQ(c.frontends[0].bind, (std::vector<endpoint>{{"0.0.0.0", 0}}));
    EXPECT_EQ(c.frontends[1].bind, (std::vector<endpoint>{{"::", 443}, {"127.0.0.1", 0}}));
}

TEST(config_defaults, admin_timeouts_are_its_own_key_by_key) {
    config c = load_ok(R"(admin: {timeouts: {keepalive: 2s}}
defaults:
  timeouts: {http_request: 30s, keepalive: 5m}
frontends:
  - {name: a, bind: "*:80", default_backend: app}
backends:
  - {name: app, servers: [{name: s, address: 10.0.0.1:80}]}
)");
    EXPECT_EQ(c.admin.timeouts.keepalive, 2s);
    EXPECT_EQ(c.admin.timeouts.http_request, 5s) << "defaults.timeouts is the proxy's";
    EXPECT_EQ(c.admin.timeouts.client, 10s);
}

TEST(config_errors, admin_timeouts_are_those_of_a_frontend) {
    EXPECT_EQ(errors_of(with_defaults("admin: {timeouts: {connect: 1s, keepalive: 0s}}\n")),
              (strings{"t.yaml:1:20: admin.timeouts.connect: 'connect' applies to backends: set "
                       "it in a backend's timeouts or in defaults.timeouts",
                       "t.yaml:1:44: admin.timeouts.keepalive: must be greater than 0, got '0s'"}));
}

TEST(config_defaults, routes_may_be_empty_and_hosts_may_be_ipv6_literals) {
    config c = load_ok(R"(frontends:
  - {name: a, bind: "*:80", default_backend: app, routes: []}
  - name: b
    bind: "*:81"
    default_backend: app
    routes: [{host: "[::1]", backend: app}]
backends:
  - {name: app, servers: [{name: s, address: 10.0.0.1:80}]}
)");
    EXPECT_TRUE(c.frontends[0].routes.empty());
    ASSERT_EQ(c.frontends[1].routes.size(), 1u);
    EXPECT_EQ(c.frontends[1].routes[0].host, "[::1]");
}

// ---- unknown keys

TEST(config_errors, unknown_key_suggests_the_nearest_valid_key) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bnd: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80}
)"),
              (strings{
                  "t.yaml:2:5: frontends[0]: missing required key 'bind'",
                  "t.yaml:3:5: frontends[0].bnd: unknown key 'bnd' (did you mean 'bind'?)",
              }));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  timout: {connect: 1s}\n")),
              (strings{"t.yaml:2:3: defaults.timout: unknown key 'timout' (did you mean "
                       "'timeouts'?)"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  forwardedfor: true\n")),
              (strings{"t.yaml:2:3: defaults.forwardedfor: unknown key 'forwardedfor' (did you "
                       "mean 'forwardfor'?)"}));
    EXPECT_EQ(errors_of(with_defaults("global: {Threads: 2}\n")),
              (strings{"t.yaml:1:10: global.Threads: unknown key 'Threads' (did you mean "
                       "'threads'?)"}));
    EXPECT_EQ(errors_of(with_defaults("global: {treads: 2, shutdown_grase: 1s}\n")),
              (strings{
                  "t.yaml:1:10: global.treads: unknown key 'treads' (did you mean 'threads'?)",
                  "t.yaml:1:21: global.shutdown_grase: unknown key 'shutdown_grase' (did you "
                  "mean 'shutdown_grace'?)",
              }));
}

TEST(config_errors, unknown_key_far_from_any_lists_the_valid_keys) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80, zzz: 1}
)"),
              (strings{"t.yaml:8:50: backends[0].servers[0].zzz: unknown key 'zzz' (valid keys: "
                       "name, address, weight, check)"}));
    EXPECT_EQ(errors_of(with_defaults("listen: x\n")),
              (strings{"t.yaml:1:1: listen: unknown key 'listen' (valid keys: global, admin, "
                       "defaults, frontends, backends, slo, failover)"}));
    EXPECT_EQ(errors_of(with_defaults("admin: {port: 9100}\n")),
              (strings{"t.yaml:1:9: admin.port: unknown key 'port' (valid keys: bind, "
                       "token_file, timeouts)"}));
}

TEST(config_errors, misspelt_top_level_section_is_both_unknown_and_missing) {
    EXPECT_EQ(errors_of(R"(frontend:
  - name: http
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:1:1: frontend: unknown key 'frontend' (did you mean 'frontends'?)",
                  "t.yaml:1:1: missing required key 'frontends'",
              }));
}

TEST(config_errors, duplicate_yaml_key_is_reported_at_the_second) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
    bind: [10.17.1.19:80]
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{"t.yaml:5:5: frontends[0].bind: duplicate key 'bind' (first defined at "
                       "line 3)"}));
}

// ---- wrong types

TEST(config_errors, wrong_node_kinds_name_what_was_expected_and_found) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers: app-1
)"),
              (strings{"t.yaml:7:14: backends[0].servers: expected a list, got a string"}));
    EXPECT_EQ(errors_of(R"(frontends:
  http: {bind: "*:80"}
backends:
  - name: app_pool
    servers:
)"),
              (strings{
                  "t.yaml:2:3: frontends: expected a list, got a map",
                  "t.yaml:5:5: backends[0].servers: expected a list, got an empty value",
              }));
    EXPECT_EQ(errors_of(with_defaults("global: [threads, 4]\n")),
              (strings{"t.yaml:1:9: global: expected a map, got a list"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  timeouts: 5s\n")),
              (strings{"t.yaml:2:13: defaults.timeouts: expected a map, got a string"}));
    EXPECT_EQ(errors_of("- frontends\n- backends\n"),
              (strings{"t.yaml:1:1: expected a map, got a list"}));
}

TEST(config_errors, scalars_of_the_wrong_type) {
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  retries: abc\n")),
              (strings{"t.yaml:2:12: defaults.retries: expected an integer, got 'abc'"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  retries: 1.5\n")),
              (strings{"t.yaml:2:12: defaults.retries: expected an integer, got '1.5'"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  retries: [1]\n")),
              (strings{"t.yaml:2:12: defaults.retries: expected an integer, got a list"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  forwardfor: yes\n")),
              (strings{"t.yaml:2:15: defaults.forwardfor: expected true or false, got 'yes'"}));
    EXPECT_EQ(
        errors_of(with_defaults("defaults:\n  forwardfor:\n")),
        (strings{"t.yaml:2:3: defaults.forwardfor: expected true or false, got an empty value"}));
    EXPECT_EQ(errors_of(with_defaults("global: {threads: many}\n")),
              (strings{"t.yaml:1:19: global.threads: expected auto or an integer, got 'many'"}));
    EXPECT_EQ(errors_of(R"(frontends:
  - name: {first: http}
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{"t.yaml:2:11: frontends[0].name: expected a string, got a map"}));
}

TEST(config_errors, integers_out_of_range) {
    EXPECT_EQ(errors_of(with_defaults("global: {threads: 0}\n")),
              (strings{"t.yaml:1:19: global.threads: must be between 1 and 256, got 0"}));
    EXPECT_EQ(errors_of(with_defaults("global: {threads: 257}\n")),
              (strings{"t.yaml:1:19: global.threads: must be between 1 and 256, got 257"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  retries: -1\n")),
              (strings{"t.yaml:2:12: defaults.retries: must be between 0 and 100, got -1"}));
    EXPECT_EQ(
        errors_of(with_defaults("defaults:\n  limits: {max_headers: 0}\n")),
        (strings{"t.yaml:2:25: defaults.limits.max_headers: must be between 1 and 1000, got 0"}));
    EXPECT_EQ(
        errors_of(
            with_defaults("defaults:\n  pool: {max_idle_per_server: 99999999999999999999}\n")),
        (strings{"t.yaml:2:31: defaults.pool.max_idle_per_server: must be between 0 and 65535, got "
                 "99999999999999999999"}));
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80, weight: 0}
      - {name: app-2, address: 10.132.20.237:80, weight: 257}
)"),
              (strings{
                  "t.yaml:8:58: backends[0].servers[0].weight: must be between 1 and 256, got 0",
                  "t.yaml:9:58: backends[0].servers[1].weight: must be between 1 and 256, got 257",
              }));
}

TEST(config_errors, maxconn_is_bounded_and_a_frontend_cannot_exceed_the_global_one) {
    EXPECT_EQ(errors_of(with_defaults("global: {maxconn: 0}\n")),
              (strings{"t.yaml:1:19: global.maxconn: must be between 1 and 10000000, got 0"}));
    EXPECT_EQ(errors_of(with_defaults("global: {maxconn: 10000001}\n")),
              (strings{"t.yaml:1:19: global.maxconn: must be between 1 and 10000000, got "
                       "10000001"}));
    const auto with_frontend_maxconn = [](std::string_view global, std::string_view maxconn) {
        return std::string(global) + R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
    maxconn: )" +
               std::string(maxconn) + "\n" + std::string(minimal.substr(minimal.find("backends:")));
    };
    EXPECT_EQ(errors_of(with_frontend_maxconn("global: {maxconn: 100}\n", "200")),
              (strings{"t.yaml:6:14: frontends[0].maxconn: must not be above global.maxconn "
                       "(100), got 200"}));
    EXPECT_EQ(
        load_ok(with_frontend_maxconn("global: {maxconn: 100}\n", "100")).frontends[0].maxconn,
        100u);
    // Without global.maxconn, the derived one caps it at start (with a warning).
    EXPECT_EQ(load_ok(with_frontend_maxconn("", "5000")).frontends[0].maxconn, 5000u);
}

TEST(config_errors, sizes) {
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  limits: {max_head_bytes: 16 KB}\n")),
              (strings{"t.yaml:2:28: defaults.limits.max_head_bytes: invalid size '16 KB' "
                       "(expected a number of bytes, optionally with k, m or g, e.g. 16k)"}));
    EXPECT_EQ(
        errors_of(with_defaults("defaults:\n  limits: {max_uri_bytes: 0k}\n")),
        (strings{"t.yaml:2:27: defaults.limits.max_uri_bytes: must be between 1 and 1m, got 0k"}));
    EXPECT_EQ(
        errors_of(with_defaults("defaults:\n  limits: {max_body_bytes: 99999999999g}\n")),
        (strings{"t.yaml:2:28: defaults.limits.max_body_bytes: must be between 0 and 1024g, got "
                 "99999999999g"}));
    config c = load_ok(with_defaults("defaults:\n  limits: {max_head_bytes: 2K, max_body_bytes: "
                                     "3M, max_uri_bytes: 100}\n"));
    EXPECT_EQ(c.frontends[0].limits.max_head_bytes, 2048u);
    EXPECT_EQ(c.frontends[0].limits.max_body_bytes, 3u * 1024 * 1024);
    EXPECT_EQ(c.frontends[0].limits.max_uri_bytes, 100u);
}

// ---- durations

TEST(config_errors, bad_durations) {
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  timeouts: {connect: 5 seconds}\n")),
              (strings{"t.yaml:2:23: defaults.timeouts.connect: invalid duration '5 seconds' "
                       "(expected a number with a unit: ms, s, m, h, d, e.g. 5s)"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  timeouts: {client: 1.5s}\n")),
              (strings{"t.yaml:2:22: defaults.timeouts.client: invalid duration '1.5s' "
                       "(expected a number with a unit: ms, s, m, h, d, e.g. 5s)"}));
    EXPECT_EQ(errors_of(with_defaults("global: {shutdown_grace: 10}\n")),
              (strings{"t.yaml:1:26: global.shutdown_grace: invalid duration '10' (missing unit: "
                       "add one of ms, s, m, h, d, e.g. 10s)"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  timeouts: {server: 0s}\n")),
              (strings{"t.yaml:2:22: defaults.timeouts.server: must be greater than 0, got '0s'"}));
    EXPECT_EQ(
        errors_of(with_defaults("defaults:\n  pool: {idle_timeout: 999999999999999999d}\n")),
        (strings{"t.yaml:2:24: defaults.pool.idle_timeout: duration '999999999999999999d' is too "
                 "large (at most 2147483647ms, about 24.8 days)"}));
    EXPECT_EQ(
        errors_of(with_defaults("defaults:\n  timeouts: {keepalive: {s: 1}}\n")),
        (strings{"t.yaml:2:25: defaults.timeouts.keepalive: expected a duration, got a map"}));
    EXPECT_EQ(load_ok(with_defaults("global: {shutdown_grace: 0s}\n")).global.shutdown_grace, 0s);
    EXPECT_FALSE(load_ok(with_defaults("global: {metering: false}\n")).global.metering);
    EXPECT_EQ(errors_of(with_defaults("global: {metering: off}\n")),
              (strings{"t.yaml:1:20: global.metering: expected true or false, got 'off'"}));
}

TEST(config_errors, state_dir_and_interval) {
    const config c =
        load_ok(with_defaults("global: {state_dir: /tmp/fulcrum-state, state_interval: 1s}\n"));
    EXPECT_EQ(c.global.state_dir, "/tmp/fulcrum-state");
    EXPECT_EQ(c.global.state_interval, 1s);
    EXPECT_EQ(errors_of(with_defaults("global: {state_dir: var/lib/fulcrum}\n")),
              (strings{"t.yaml:1:21: global.state_dir: must be an absolute path, got "
                       "'var/lib/fulcrum' (e.g. /var/lib/fulcrum; leave state_dir out to not "
                       "keep the windows)"}));
    EXPECT_EQ(errors_of(with_defaults("global: {state_dir: [/a]}\n")),
              (strings{"t.yaml:1:21: global.state_dir: expected a string, got a list"}));
    EXPECT_EQ(errors_of(with_defaults("global: {state_interval: 500ms}\n")),
              (strings{"t.yaml:1:26: global.state_interval: must be at least 1s (the windows "
                       "move once a second), got '500ms'"}));
    EXPECT_EQ(errors_of(with_defaults("global: {state_interval: 60}\n")),
              (strings{"t.yaml:1:26: global.state_interval: invalid duration '60' (missing unit: "
                       "add one of ms, s, m, h, d, e.g. 60s)"}));
    EXPECT_EQ(errors_of(with_defaults("global: {state_dri: /a}\n")),
              (strings{"t.yaml:1:10: global.state_dri: unknown key 'state_dri' (did you mean "
                       "'state_dir'?)"}));
}

TEST(config_errors, timeouts_on_the_wrong_side) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
    timeouts: {connect: 1s, client: 2s, server: 3s, tunnel: 1h}
backends:
  - name: app_pool
    timeouts: {keepalive: 1s, connect: 2s, http_request: 3s, client: 4s}
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:5:16: frontends[0].timeouts.connect: 'connect' applies to backends: "
                  "set it in a backend's timeouts or in defaults.timeouts",
                  "t.yaml:5:41: frontends[0].timeouts.server: 'server' applies to backends: set "
                  "it in a backend's timeouts or in defaults.timeouts",
                  "t.yaml:5:53: frontends[0].timeouts.tunnel: 'tunnel' applies to backends: set "
                  "it in a backend's timeouts or in defaults.timeouts",
                  "t.yaml:8:16: backends[0].timeouts.keepalive: 'keepalive' applies to "
                  "frontends: set it in a frontend's timeouts or in defaults.timeouts",
                  "t.yaml:8:44: backends[0].timeouts.http_request: 'http_request' applies to "
                  "frontends: set it in a frontend's timeouts or in defaults.timeouts",
                  "t.yaml:8:62: backends[0].timeouts.client: 'client' applies to frontends: set "
                  "it in a frontend's timeouts or in defaults.timeouts",
              }));
    EXPECT_EQ(
        errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
    timeouts: {kepalive: 1s, conect: 1s}
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
        (strings{
            "t.yaml:5:16: frontends[0].timeouts.kepalive: unknown key 'kepalive' (did you mean "
            "'keepalive'?)",
            "t.yaml:5:30: frontends[0].timeouts.conect: unknown key 'conect' (valid keys: client, "
            "http_request, keepalive)",
        }));
}

// ---- addresses

TEST(config_errors, bad_server_addresses) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers:
      - {name: a, address: app1.internal:80}
      - {name: b, address: 10.0.0.1}
      - {name: c, address: 10.0.0.1:0}
      - {name: d, address: 10.0.0.1:65536}
      - {name: e, address: "*:80"}
      - {name: f, address: "::1:80"}
      - {name: g, address: 10.0.0.256:80}
      - {name: h, address: 10.0.0.1:http}
)"),
              (strings{
                  "t.yaml:8:28: backends[0].servers[0].address: invalid address "
                  "'app1.internal:80' (expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host "
                  "names are not resolved)",
                  "t.yaml:9:28: backends[0].servers[1].address: invalid address '10.0.0.1' "
                  "(expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host names are not "
                  "resolved)",
                  "t.yaml:10:28: backends[0].servers[2].address: invalid port in '10.0.0.1:0' "
                  "(expected 1 to 65535)",
                  "t.yaml:11:28: backends[0].servers[3].address: invalid port in "
                  "'10.0.0.1:65536' (expected 1 to 65535)",
                  "t.yaml:12:28: backends[0].servers[4].address: invalid address '*:80' "
                  "(expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host names are not "
                  "resolved)",
                  "t.yaml:13:28: backends[0].servers[5].address: invalid address '::1:80' "
                  "(expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host names are not "
                  "resolved)",
                  "t.yaml:14:28: backends[0].servers[6].address: invalid address "
                  "'10.0.0.256:80' (expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host "
                  "names are not resolved)",
                  "t.yaml:15:28: backends[0].servers[7].address: invalid port in "
                  "'10.0.0.1:http' (expected 1 to 65535)",
              }));
}

TEST(config_errors, bad_bind_addresses) {
    EXPECT_EQ(errors_of(R"(admin: {bind: localhost:9100}
frontends:
  - name: http
    bind: ["*:70000", "*", 10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:1:15: admin.bind: invalid bind address 'localhost:9100' (expected "
                  "IP:port or *:port, e.g. *:80, 10.0.0.1:80 or [::1]:80; host names are not "
                  "resolved)",
                  "t.yaml:4:12: frontends[0].bind[0]: invalid port in '*:70000' (expected 0 to "
                  "65535)",
                  "t.yaml:4:23: frontends[0].bind[1]: invalid bind address '*' (expected IP:port "
                  "or *:port, e.g. *:80, 10.0.0.1:80 or [::1]:80; host names are not resolved)",
              }));
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: []
    default_backend: app_pool
  - name: other
    bind: {address: "*:80"}
    default_backend: app_pool
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:3:11: frontends[0].bind: expected at least one address",
                  "t.yaml:6:11: frontends[1].bind: expected an address or a list of addresses, "
                  "got a map",
              }));
}

TEST(config_errors, unquoted_wildcard_bind_gets_a_hint) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: *:80
)"),
              (strings{"t.yaml:3:11: invalid YAML: the referenced anchor is not defined (write "
                       "\"*:80\" in quotes: a leading * is YAML alias syntax)"}));
}

TEST(config_errors, the_same_address_bound_twice) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: ["*:80", "0.0.0.0:80", "*:0", "*:0"]
    default_backend: app_pool
  - name: again
    bind: ["[::]:80", "[0::0]:80", 127.0.0.1:9100]
    default_backend: app_pool
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:3:20: frontends[0].bind[1]: duplicate bind address '0.0.0.0:80' "
                  "(first defined at line 3)",
                  "t.yaml:6:23: frontends[1].bind[1]: duplicate bind address '[0::0]:80' (first "
                  "defined at line 6)",
                  "t.yaml:6:36: frontends[1].bind[2]: duplicate bind address '127.0.0.1:9100' "
                  "(already used by the admin listener; set admin.bind to move it)",
              }));
    EXPECT_EQ(errors_of(with_defaults("admin: {bind: 10.17.1.18:80}\n")),
              (strings{"t.yaml:4:12: frontends[0].bind[0]: duplicate bind address "
                       "'10.17.1.18:80' (first defined at line 1)"}));
}

// ---- names and references

TEST(config_errors, unknown_backend_references) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pol
    routes:
      - {host: api.example.com, backend: API_pool}
      - {path_prefix: /x/, backend: payments}
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
  - name: api_pool
    servers: [{name: api-1, address: 10.132.20.237:80}]
)"),
              (strings{
                  "t.yaml:4:22: frontends[0].default_backend: unknown backend 'app_pol' (did you "
                  "mean 'app_pool'?)",
                  "t.yaml:6:42: frontends[0].routes[0].backend: unknown backend 'API_pool' (did "
                  "you mean 'api_pool'?)",
                  "t.yaml:7:37: frontends[0].routes[1].backend: unknown backend 'payments' "
                  "(defined backends: app_pool, api_pool)",
              }));
}

TEST(config_errors, duplicate_names) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: ["*:80"]
    default_backend: app_pool
  - name: http
    bind: ["*:81"]
    default_backend: app_pool
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80}
      - {name: app-1, address: 10.132.20.237:80}
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.238:80}
)"),
              (strings{
                  "t.yaml:5:11: frontends[1].name: duplicate frontend name 'http' (first defined "
                  "at line 2)",
                  "t.yaml:12:16: backends[0].servers[1].name: duplicate server name 'app-1' "
                  "(first defined at line 11)",
                  "t.yaml:13:11: backends[1].name: duplicate backend name 'app_pool' (first "
                  "defined at line 9)",
              }));
}

TEST(config_errors, invalid_names) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: my frontend
    bind: ["*:80"]
    default_backend: app_pool
backends:
  - name: app_pool
    service: "web/api"
    servers: [{name: "app:1", address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:2:11: frontends[0].name: invalid name 'my frontend' (use letters, "
                  "digits, '_', '.' and '-')",
                  "t.yaml:7:14: backends[0].service: invalid name 'web/api' (use letters, "
                  "digits, '_', '.' and '-')",
                  "t.yaml:8:22: backends[0].servers[0].name: invalid name 'app:1' (use letters, "
                  "digits, '_', '.' and '-')",
              }));
}

// ---- missing keys and structure

TEST(config_errors, missing_required_keys) {
    EXPECT_EQ(errors_of(R"(frontends:
  - bind: ["*:80"]
  - name: b
    bind: ["*:81"]
    routes:
      - {host: example.com, backend: app_pool}
backends:
  - name: app_pool
    servers:
      - {name: app-1}
      - {address: 10.132.20.237:80}
  - balance: roundrobin
)"),
              (strings{
                  "t.yaml:2:5: frontends[0]: missing required key 'name'",
                  "t.yaml:2:5: frontends[0]: missing required key 'default_backend' (requests "
                  "that match no route are sent there)",
                  "t.yaml:3:5: frontends[1]: missing required key 'default_backend' (requests "
                  "that match no route are sent there)",
                  "t.yaml:10:9: backends[0].servers[0]: missing required key 'address'",
                  "t.yaml:11:9: backends[0].servers[1]: missing required key 'name'",
                  "t.yaml:12:5: backends[1]: missing required key 'name'",
                  "t.yaml:12:5: backends[1]: missing required key 'servers'",
              }));
    EXPECT_EQ(errors_of("global: {threads: 2}\n"),
              (strings{
                  "t.yaml:1:1: missing required key 'frontends'",
                  "t.yaml:1:1: missing required key 'backends'",
              }));
}

TEST(config_errors, empty_lists) {
    EXPECT_EQ(errors_of(R"(frontends: []
backends:
  - name: app_pool
    servers: []
)"),
              (strings{
                  "t.yaml:1:12: frontends: expected at least one frontend",
                  "t.yaml:4:14: backends[0].servers: expected at least one server",
              }));
}

TEST(config_errors, routes) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
    routes:
      - {backend: app_pool}
      - {path_prefix: v2/, backend: app_pool}
      - {host: "api.example.com:8080", backend: app_pool}
      - {host: "*.example.com"}
      - {host: example.com, backend: app_pool, weight: 2}
backends:
  - name: app_pool
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{
                  "t.yaml:6:9: frontends[0].routes[0]: a route needs host, path_prefix or both "
                  "(unmatched requests already go to default_backend)",
                  "t.yaml:7:23: frontends[0].routes[1].path_prefix: must start with '/', got "
                  "'v2/'",
                  "t.yaml:8:16: frontends[0].routes[2].host: invalid host "
                  "'api.example.com:8080' (expected an exact host name without a port, e.g. "
                  "api.example.com)",
                  "t.yaml:9:9: frontends[0].routes[3]: missing required key 'backend'",
                  "t.yaml:9:16: frontends[0].routes[3].host: invalid host '*.example.com' "
                  "(expected an exact host name without a port, e.g. api.example.com)",
                  "t.yaml:10:48: frontends[0].routes[4].weight: unknown key 'weight' (valid "
                  "keys: host, path_prefix, backend, service, redirect)",
              }));
}

TEST(config_errors, unknown_balance_lists_the_valid_values) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
backends:
  - name: app_pool
    balance: leastconn
    servers: [{name: app-1, address: 10.132.20.236:80}]
)"),
              (strings{"t.yaml:7:14: backends[0].balance: unknown balance algorithm 'leastconn' "
                       "(valid values: roundrobin)"}));
}

// ---- several errors at once

TEST(config_errors, every_error_in_the_file_is_reported_in_document_order) {
    // The reference on line 4 is checked after the backends are read; it must still come first.
    EXPECT_EQ(errors_of(R"(global: {threads: lots}
frontends:
  - name: http
    bind: [10.17.1.18:80, "*:99999"]
    default_backend: app_pol
    forwardfor: maybe
    timeouts: {client: 30}
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: app1:80}
      - {name: app-2, address: 10.132.20.237:80, wieght: 2}
  - name: app_pool
    servers: {}
)"),
              (strings{
                  "t.yaml:1:19: global.threads: expected auto or an integer, got 'lots'",
                  "t.yaml:4:27: frontends[0].bind[1]: invalid port in '*:99999' (expected 0 to "
                  "65535)",
                  "t.yaml:5:22: frontends[0].default_backend: unknown backend 'app_pol' (did you "
                  "mean 'app_pool'?)",
                  "t.yaml:6:17: frontends[0].forwardfor: expected true or false, got 'maybe'",
                  "t.yaml:7:24: frontends[0].timeouts.client: invalid duration '30' (missing "
                  "unit: add one of ms, s, m, h, d, e.g. 30s)",
                  "t.yaml:11:32: backends[0].servers[0].address: invalid address 'app1:80' "
                  "(expected IP:port, e.g. 10.0.0.1:80 or [fd00::1]:80; host names are not "
                  "resolved)",
                  "t.yaml:12:50: backends[0].servers[1].wieght: unknown key 'wieght' (did you "
                  "mean 'weight'?)",
                  "t.yaml:13:11: backends[1].name: duplicate backend name 'app_pool' (first "
                  "defined at line 9)",
                  "t.yaml:14:14: backends[1].servers: expected a list, got a map",
              }));
}

// ---- whole-file problems

TEST(config_errors, yaml_syntax_error_is_one_diagnostic_at_its_position) {
    EXPECT_EQ(errors_of("frontends: [a, b\nbackends: []\n"),
              (strings{"t.yaml:2:9: invalid YAML: end of sequence flow not found"}));
    EXPECT_EQ(errors_of("frontends:\n  - name: http\n   bind: x\n"),
              (strings{"t.yaml:3:4: invalid YAML: end of sequence not found"}));
}

TEST(config_errors, empty_file_and_extra_documents) {
    EXPECT_EQ(errors_of(""),
              (strings{"t.yaml: empty configuration (expected a map with 'frontends' and "
                       "'backends')"}));
    EXPECT_EQ(errors_of("# nothing yet\n"),
              (strings{"t.yaml: empty configuration (expected a map with 'frontends' and "
                       "'backends')"}));
    EXPECT_EQ(errors_of(std::string(minimal) + "---\nfrontends: []\n"),
              (strings{"t.yaml:9:1: a second YAML document is not allowed (one configuration "
                       "per file)"}));
    // A trailing document marker with nothing after it is harmless.
    load_ok(std::string(minimal) + "---\n");
}

TEST(config_errors, input_that_stalls_the_yaml_parser_is_a_syntax_error) {
    // yaml-cpp 0.7 cannot start a node with a stray ',' and would return empty documents
    // forever; this must end, with an error.
    EXPECT_EQ(errors_of(",\n"), (strings{"t.yaml:1:1: invalid YAML: unexpected ','"}));
    EXPECT_EQ(errors_of(",global:\n  threads: 4\n"),
              (strings{"t.yaml:1:1: invalid YAML: unexpected ','"}));
    // yaml-cpp ends a top-level list at a less indented line and starts another document.
    EXPECT_EQ(errors_of("- a\nb: 1\n"),
              (strings{"t.yaml:2:1: invalid YAML: content after the end of the document (check "
                       "the indentation)"}));
}

TEST(config_errors, unreadable_files) {
    EXPECT_EQ(load_file("/nonexistent/fulcrum.yaml").errors.at(0).to_string(),
              "/nonexistent/fulcrum.yaml: cannot read: No such file or directory");
    EXPECT_EQ(load_file("/").errors.at(0).to_string(), "/: cannot read: Is a directory");
}

// ---- health checks

TEST(config_health, built_in_defaults_are_tcp_checks_and_passive_connect_and_gateway_errors) {
    config c = load_ok(minimal);
    const health_check& h = c.backends[0].servers[0].check;
    EXPECT_TRUE(h.enabled);
    EXPECT_EQ(h.type, health_check::kind::tcp);
    EXPECT_EQ(h.path, "/");
    EXPECT_EQ(h.method, "GET");
    EXPECT_EQ(h.host, "");
    EXPECT_EQ(h.expect_status, (std::vector<status_range>{{200, 399}}));
    EXPECT_EQ(h.expect_body, "");
    EXPECT_EQ(h.interval, 2s);
    EXPECT_EQ(h.timeout, 1s);
    EXPECT_EQ(h.rise, 2u);
    EXPECT_EQ(h.fall, 3u);
    EXPECT_EQ(h.port, 0u);
    EXPECT_EQ(c.backends[0].passive.connect_failures, 3u);
    EXPECT_EQ(c.backends[0].passive.server_errors, 0u);
    EXPECT_EQ(c.backends[0].passive.gateway_errors, 5u);
    EXPECT_EQ(c.admin.token_file, "");
}

TEST(config_health, defaults_backend_and_server_override_key_by_key) {
    config c = load_ok(R"(admin: {token_file: /etc/fulcrum/admin.token}
defaults:
  health_check: {type: http, path: /health, interval: 10s, timeout: 2s}
  passive: {connect_failures: 5, gateway_errors: 7}
frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    servers:
      - {name: s1, address: 10.0.0.1:80}
      - {name: s2, address: 10.0.0.2:80, check: false}
      - {name: s3, address: 10.0.0.3:80, check: {port: 8081, path: /healthz}}
      - {name: s4, address: 10.0.0.4:80, check: true}
      - {name: s5, address: 10.0.0.5:80, check: {type: tcp}}
    health_check:
      rise: 3
      expect_status: [200, 300-302]
      method: HEAD
      host: app.example.com:8080
    passive: {server_errors: 2, gateway_errors: 0}
  - name: other
    servers: [{name: s1, address: 10.0.1.1:80}]
)");
    EXPECT_EQ(c.admin.token_file, "/etc/fulcrum/admin.token");
    const auto& app = c.backends[0];
    EXPECT_EQ(app.passive.connect_failures, 5u);
    EXPECT_EQ(app.passive.server_errors, 2u);
    EXPECT_EQ(app.passive.gateway_errors, 0u);
    // s1: the backend's keys over the defaults' (health_check is read before the servers
    // wherever it is written).
    const health_check& s1 = app.servers[0].check;
    EXPECT_TRUE(s1.enabled);
    EXPECT_EQ(s1.type, health_check::kind::http);
    EXPECT_EQ(s1.path, "/health");
    EXPECT_EQ(s1.method, "HEAD");
    EXPECT_EQ(s1.host, "app.example.com:8080");
    EXPECT_EQ(s1.expect_status, (std::vector<status_range>{{200, 200}, {300, 302}}));
    EXPECT_EQ(s1.interval, 10s);
    EXPECT_EQ(s1.timeout, 2s);
    EXPECT_EQ(s1.rise, 3u);
    EXPECT_EQ(s1.fall, 3u);
    EXPECT_EQ(s1.port, 0u);
    // s2: off, with the rest still resolved.
    EXPECT_FALSE(app.servers[1].check.enabled);
    EXPECT_EQ(app.servers[1].check.interval, 10s);
    // s3: two keys of its own.
    const health_check& s3 = app.servers[2].check;
    EXPECT_TRUE(s3.enabled);
    EXPECT_EQ(s3.port, 8081u);
    EXPECT_EQ(s3.path, "/healthz");
    EXPECT_EQ(s3.method, "HEAD");
    EXPECT_EQ(s3.rise, 3u);
    EXPECT_TRUE(app.servers[3].check.enabled);
    EXPECT_EQ(app.servers[3].check.path, "/health");
    // s5: a plain connect, although path and the others are inherited.
    EXPECT_EQ(app.servers[4].check.type, health_check::kind::tcp);
    // The other backend has the defaults only.
    const auto& other = c.backends[1];
    EXPECT_EQ(other.passive.connect_failures, 5u);
    EXPECT_EQ(other.passive.server_errors, 0u);
    EXPECT_EQ(other.passive.gateway_errors, 7u);
    const health_check& o = other.servers[0].check;
    EXPECT_EQ(o.type, health_check::kind::http);
    EXPECT_EQ(o.method, "GET");
    EXPECT_EQ(o.rise, 2u);
    EXPECT_EQ(o.expect_status, (std::vector<status_range>{{200, 399}}));
}

TEST(config_health, expect_status_takes_a_code_a_range_or_a_list) {
    config c = load_ok(R"(frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    health_check: {type: http, expect_body: '"status":"ok"', fall: 100, rise: 1, port: 65535}
    servers:
      - {name: s1, address: 10.0.0.1:80, check: {expect_status: 204}}
      - {name: s2, address: 10.0.0.2:80, check: {expect_status: 100-599}}
      - {name: s3, address: 10.0.0.3:80, check: {expect_status: [200-299, 418]}}
)");
    const auto& servers = c.backends[0].servers;
    EXPECT_EQ(servers[0].check.expect_status, (std::vector<status_range>{{204, 204}}));
    EXPECT_EQ(servers[1].check.expect_status, (std::vector<status_range>{{100, 599}}));
    EXPECT_EQ(servers[2].check.expect_status, (std::vector<status_range>{{200, 299}, {418, 418}}));
    EXPECT_EQ(servers[0].check.expect_body, "\"status\":\"ok\"");
    EXPECT_EQ(servers[0].check.fall, 100u);
    EXPECT_EQ(servers[0].check.rise, 1u);
    EXPECT_EQ(servers[0].check.port, 65535u);
}

TEST(config_health, timeout_equal_to_interval_and_passive_off_are_valid) {
    config c = load_ok(R"(defaults:
  health_check: {interval: 1s, timeout: 1s}
  passive: {connect_failures: 0, server_errors: 0, gateway_errors: 0}
frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - {name: app, servers: [{name: s1, address: 10.0.0.1:80}]}
)");
    EXPECT_EQ(c.backends[0].servers[0].check.timeout, 1s);
    EXPECT_EQ(c.backends[0].passive.connect_failures, 0u);
    EXPECT_EQ(c.backends[0].passive.gateway_errors, 0u);
}

TEST(config_health_errors, gateway_errors_past_100) {
    EXPECT_EQ(
        errors_of(R"(frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    passive: {gateway_errors: 101}
    servers: [{name: s1, address: 10.0.0.1:80}]
)"),
        (strings{"t.yaml:5:31: backends[0].passive.gateway_errors: must be between 0 and 100, "
                 "got 101"}));
}

TEST(config_health_errors, bad_type_method_rise_fall_port_and_path) {
    EXPECT_EQ(errors_of(R"(frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    health_check: {type: udp, rise: 0, fall: 101}
    servers:
      - {name: s1, address: 10.0.0.1:80, check: {type: http, method: POST}}
      - {name: s2, address: 10.0.0.2:80, check: {type: http, path: health}}
      - {name: s3, address: 10.0.0.3:80, check: {port: 0}}
      - {name: s4, address: 10.0.0.4:80, check: {type: http, path: "/a b"}}
)"),
              (strings{
                  "t.yaml:5:26: backends[0].health_check.type: unknown check type 'udp' (valid "
                  "values: tcp, http)",
                  "t.yaml:5:37: backends[0].health_check.rise: must be between 1 and 100, got 0",
                  "t.yaml:5:46: backends[0].health_check.fall: must be between 1 and 100, got 101",
                  "t.yaml:7:70: backends[0].servers[0].check.method: unknown check method 'POST' "
                  "(valid values: GET, HEAD)",
                  "t.yaml:8:68: backends[0].servers[1].check.path: must start with '/', got "
                  "'health'",
                  "t.yaml:9:56: backends[0].servers[2].check.port: must be between 1 and 65535, "
                  "got 0",
                  "t.yaml:10:68: backends[0].servers[3].check.path: invalid path '/a b' (no spaces "
                  "or control characters: percent-encode them, e.g. %20)",
              }));
}

TEST(config_health_errors, bad_status_ranges) {
    EXPECT_EQ(errors_of(R"(frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    health_check:
      type: http
      expect_status: 600-700
    servers:
      - {name: s1, address: 10.0.0.1:80, check: {expect_status: 300-200}}
      - {name: s2, address: 10.0.0.2:80, check: {expect_status: [200, abc, 2000, 250-]}}
      - {name: s3, address: 10.0.0.3:80, check: {expect_status: {low: 200}}}
      - {name: s4, address: 10.0.0.4:80, check: {expect_status: []}}
      - {name: s5, address: 10.0.0.5:80, check: {expect_status: 99}}
)"),
              (strings{
                  "t.yaml:7:22: backends[0].health_check.expect_status: invalid status range "
                  "'600-700' (status codes are 100 to 599)",
                  "t.yaml:9:65: backends[0].servers[0].check.expect_status: invalid status range "
                  "'300-200' (the lower code comes first, e.g. 200-399)",
                  "t.yaml:10:71: backends[0].servers[1].check.expect_status[1]: invalid status "
                  "'abc' (expected a code such as 200 or a range such as 200-399)",
                  "t.yaml:10:76: backends[0].servers[1].check.expect_status[2]: invalid status "
                  "'2000' (status codes are 100 to 599)",
                  "t.yaml:10:82: backends[0].servers[1].check.expect_status[3]: invalid status "
                  "'250-' (expected a code such as 200 or a range such as 200-399)",
                  "t.yaml:11:65: backends[0].servers[2].check.expect_status: expected a status, a "
                  "range of statuses or a list of them, got a map",
                  "t.yaml:12:65: backends[0].servers[3].check.expect_status: expected at least one "
                  "status",
                  "t.yaml:13:65: backends[0].servers[4].check.expect_status: invalid status '99' "
                  "(status codes are 100 to 599)",
              }));
}

TEST(config_health_errors, timeout_longer_than_interval_is_reported_where_it_happens) {
    EXPECT_EQ(errors_of(R"(defaults:
  health_check: {timeout: 3s, interval: 10s}
frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    health_check: {interval: 2s}
    servers:
      - {name: s1, address: 10.0.0.1:80, check: {timeout: 5s, interval: 4s}}
      - {name: s2, address: 10.0.0.2:80, check: {timeout: 1500ms}}
)"),
              (strings{
                  "t.yaml:7:30: backends[0].health_check.interval: must not be shorter than "
                  "timeout (3s), got '2s'",
                  "t.yaml:9:59: backends[0].servers[0].check.timeout: must not be longer than "
                  "interval (4s), got '5s'",
              }));
    // The built-in timeout is 1 s.
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  health_check: {interval: 500ms}\n")),
              (strings{"t.yaml:2:28: defaults.health_check.interval: must not be shorter than "
                       "timeout (1s), got '500ms'"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  health_check: {timeout: 2500ms}\n")),
              (strings{"t.yaml:2:27: defaults.health_check.timeout: must not be longer than "
                       "interval (2s), got '2500ms'"}));
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  health_check: {interval: 0s}\n")),
              (strings{"t.yaml:2:28: defaults.health_check.interval: must be greater than 0, "
                       "got '0s'"}));
}

TEST(config_health_errors, check_must_be_a_boolean_or_a_map) {
    EXPECT_EQ(errors_of(R"(frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    servers:
      - {name: s1, address: 10.0.0.1:80, check: maybe}
      - {name: s2, address: 10.0.0.2:80, check: [port]}
      - {name: s3, address: 10.0.0.3:80, check: {prot: 8080}}
)"),
              (strings{
                  "t.yaml:6:49: backends[0].servers[0].check: expected true, false or a map of "
                  "check settings, got 'maybe'",
                  "t.yaml:7:49: backends[0].servers[1].check: expected true, false or a map of "
                  "check settings, got a list",
                  "t.yaml:8:50: backends[0].servers[2].check.prot: unknown key 'prot' (did you "
                  "mean 'port'?)",
              }));
}

TEST(config_health_errors, http_keys_on_a_tcp_check_and_head_with_a_body_match) {
    EXPECT_EQ(errors_of(R"(frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    health_check: {path: /health, expect_body: ok}
    servers:
      - {name: s1, address: 10.0.0.1:80, check: {type: http, method: HEAD, expect_body: ok}}
      - {name: s2, address: 10.0.0.2:80, check: {type: http, expect_body: ""}}
      - {name: s3, address: 10.0.0.3:80, check: {type: http, host: "a b"}}
)"),
              (strings{
                  "t.yaml:5:26: backends[0].health_check.path: 'path' applies to http checks: add "
                  "type: http",
                  "t.yaml:5:48: backends[0].health_check.expect_body: 'expect_body' applies to "
                  "http checks: add type: http",
                  "t.yaml:7:89: backends[0].servers[0].check.expect_body: a HEAD response has no "
                  "body for expect_body to match: use method: GET",
                  "t.yaml:8:75: backends[0].servers[1].check.expect_body: must not be empty "
                  "(leave expect_body out to accept any body)",
                  "t.yaml:9:68: backends[0].servers[2].check.host: invalid host 'a b' (expected a "
                  "host name, optionally with a port, e.g. app.example.com or "
                  "app.example.com:8080)",
              }));
}

TEST(config_health_errors, keys_in_the_wrong_place_and_passive) {
    EXPECT_EQ(errors_of(R"(admin: {token_file: ""}
frontends:
  - {name: http, bind: "*:80", default_backend: app}
backends:
  - name: app
    check: false
    passive: {connect_failure: 3, server_errors: -1}
    servers:
      - {name: s1, address: 10.0.0.1:80, health_check: {type: http}}
)"),
              (strings{
                  "t.yaml:1:21: admin.token_file: must not be empty (leave token_file out to keep "
                  "the admin API read-only)",
                  "t.yaml:6:5: backends[0].check: 'check' applies to servers: set health_check on "
                  "the backend for all its servers, or check on one server",
                  "t.yaml:7:15: backends[0].passive.connect_failure: unknown key "
                  "'connect_failure' (did you mean 'connect_failures'?)",
                  "t.yaml:7:50: backends[0].passive.server_errors: must be between 0 and 100, got "
                  "-1",
                  "t.yaml:9:42: backends[0].servers[0].health_check: 'health_check' applies to "
                  "backends and defaults: on a server, write check: {...} (or check: false)",
              }));
}

// ---- failover

TEST(config_failover, absent_unless_written) {
    EXPECT_FALSE(load_ok(minimal).failover.has_value());
}

TEST(config_failover, defaults_with_the_built_in_reserved_ip) {
    config c = load_ok(with_defaults(R"(failover:
  node: lb-2
  peer: 10.132.20.10:9100
  reserved_ip: {address: 203.0.113.10, token_file: /etc/fulcrum/do.token}
)"));
    ASSERT_TRUE(c.failover.has_value());
    const failover& f = *c.failover;
    EXPECT_EQ(f.node, "lb-2");
    EXPECT_EQ(f.priority, 100u);
    EXPECT_FALSE(f.preempt);
    EXPECT_EQ(f.preempt_delay, 0s);
    EXPECT_EQ(f.peer, (endpoint{"10.132.20.10", 9100}));
    EXPECT_EQ(f.interval, 1s);
    EXPECT_EQ(f.fall, 3u);
    EXPECT_EQ(f.rise, 2u);
    EXPECT_EQ(f.hold_down, 5s);
    // on_active may be left out: the built-in action assigns the IP.
    EXPECT_TRUE(f.hooks.on_active.empty());
    EXPECT_TRUE(f.hooks.on_passive.empty());
    EXPECT_TRUE(f.hooks.on_fault.empty());
    EXPECT_EQ(f.hooks.timeout, 30s);
    ASSERT_TRUE(f.reserved_ip.has_value());
    EXPECT_EQ(f.reserved_ip->api_base, "https://api.digitalocean.com");
    EXPECT_EQ(f.reserved_ip->metadata_base, "http://169.254.169.254");
    EXPECT_EQ(f.reserved_ip->recheck, 10s);
}

TEST(config_failover, hooks_alone_urls_and_zero_delays) {
    config c = load_ok(with_defaults(R"(admin: {bind: "*:9100"}
failover:
  node: lb_1.example
  priority: 255
  preempt: true
  preempt_delay: 0s
  hold_down: 0s
  peer: "[fd00::11]:9100"
  fall: 1
  rise: 100
  hooks:
    on_active: ["/usr/local/bin/move ip", "--to", "", "$HOME; rm -rf /"]
)"));
    const failover& f = *c.failover;
    EXPECT_EQ(f.node, "lb_1.example");
    EXPECT_EQ(f.priority, 255u);
    EXPECT_EQ(f.peer, (endpoint{"fd00::11", 9100}));
    EXPECT_EQ(f.fall, 1u);
    EXPECT_EQ(f.rise, 100u);
    EXPECT_EQ(f.hold_down, 0s);
    // Arguments are kept exactly as written: nothing is split, expanded or quoted.
    EXPECT_EQ(f.hooks.on_active,
              (strings{"/usr/local/bin/move ip", "--to", "", "$HOME; rm -rf /"}));
    EXPECT_FALSE(f.reserved_ip.has_value());

    c = load_ok(with_defaults(R"(failover:
  node: a
  peer: 127.0.0.1:9101
  reserved_ip:
    address: 203.0.113.10
    token_file: t
    api_base: "http://127.0.0.1:8443/"
    metadata_base: "https://[::1]:9000/prefix/"
)"));
    EXPECT_EQ(c.failover->reserved_ip->api_base, "http://127.0.0.1:8443");
    EXPECT_EQ(c.failover->reserved_ip->metadata_base, "https://[::1]:9000/prefix");
}

TEST(config_failover, without_the_controller_only_reserved_ip_is_needed) {
    const config c = load_ok(with_defaults(R"(failover:
  controller: false
  reserved_ip: {address: 203.0.113.10, token_file: /etc/fulcrum/do.token}
)"));
    ASSERT_TRUE(c.failover.has_value());
    EXPECT_FALSE(c.failover->controller);
    EXPECT_EQ(c.failover->reserved_ip->address, "203.0.113.10");
    EXPECT_EQ(errors_of(with_defaults("failover: {controller: false}\n")),
              (strings{"t.yaml:1:11: failover: missing required key 'reserved_ip' (with "
                       "controller: false the section gives `fulcrum reserved-ip` its "
                       "settings)"}));
}

TEST(config_failover_errors, required_keys_and_something_to_move) {
    EXPECT_EQ(errors_of(with_defaults("failover: {priority: 10}\n")),
              (strings{
                  "t.yaml:1:11: failover: missing required key 'node'",
                  "t.yaml:1:11: failover: missing required key 'peer' (the peer's admin address, "
                  "e.g. 10.132.20.11:9100)",
                  "t.yaml:1:11: failover: missing required key 'reserved_ip' or 'hooks' "
                  "(becoming ACTIVE must move something: the built-in reserved IP, or an "
                  "on_active hook)",
              }));
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  hooks: {on_passive: [/bin/true]}
)")),
              (strings{"t.yaml:4:10: failover.hooks: missing required key 'on_active' (without "
                       "failover.reserved_ip, becoming ACTIVE must run a hook that moves the "
                       "address)"}));
    // reserved_ip may come after hooks in the file.
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  hooks: {on_fault: [/bin/true]}
  reserved_ip: {address: 203.0.113.10}
)")),
              (strings{"t.yaml:5:16: failover.reserved_ip: missing required key 'token_file' "
                       "(the file that holds the DigitalOcean API token)"}));
    EXPECT_EQ(errors_of(with_defaults("failover: [node]\n")),
              (strings{"t.yaml:1:11: failover: expected a map, got a list"}));
}

TEST(config_failover_errors, bad_scalars) {
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: "lb 1"
  priority: 0
  preempt: yes
  preempt_delay: 30
  peer: "*:9100"
  interval: 0s
  fall: 0
  rise: 101
  hold_down: -1s
  hooks: {on_active: [/bin/true], timeout: 0ms}
)")),
              (strings{
                  "t.yaml:2:9: failover.node: invalid name 'lb 1' (use letters, digits, '_', '.' "
                  "and '-')",
                  "t.yaml:3:13: failover.priority: must be between 1 and 255, got 0",
                  "t.yaml:4:12: failover.preempt: expected true or false, got 'yes'",
                  "t.yaml:5:18: failover.preempt_delay: invalid duration '30' (missing unit: add "
                  "one of ms, s, m, h, d, e.g. 30s)",
                  "t.yaml:6:9: failover.peer: invalid address '*:9100' (expected IP:port, e.g. "
                  "10.0.0.1:80 or [fd00::1]:80; host names are not resolved)",
                  "t.yaml:7:13: failover.interval: must be greater than 0, got '0s'",
                  "t.yaml:8:9: failover.fall: must be between 1 and 100, got 0",
                  "t.yaml:9:9: failover.rise: must be between 1 and 100, got 101",
                  "t.yaml:10:14: failover.hold_down: invalid duration '-1s' (expected a number "
                  "with a unit: ms, s, m, h, d, e.g. 5s)",
                  "t.yaml:11:44: failover.hooks.timeout: must be greater than 0, got '0ms'",
              }));
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node:
  peer: 10.0.0.2:0
  hooks: {on_active: [/bin/true]}
)")),
              (strings{
                  "t.yaml:2:3: failover.node: expected a string, got an empty value",
                  "t.yaml:3:9: failover.peer: invalid port in '10.0.0.2:0' (expected 1 to 65535)",
              }));
}

TEST(config_failover_errors, peer_must_not_be_this_nodes_admin_address) {
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 127.0.0.1:9100
  hooks: {on_active: [/bin/true]}
)")),
              (strings{"t.yaml:3:9: failover.peer: '127.0.0.1:9100' is this node's own admin "
                       "address (admin.bind): peer is the other node's"}));
}

TEST(config_failover_errors, hooks_are_argv_lists_starting_with_an_absolute_path) {
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  hooks:
    on_active: /usr/local/bin/move-ip --to me
    on_passive: []
    on_fault: [move-ip, {to: me}, "a\0b"]
    on_falt: [/bin/true]
)")),
              (strings{
                  "t.yaml:5:16: failover.hooks.on_active: expected a list of arguments, got a "
                  "string (write [\"/path/to/program\", \"arg\", ...]: hooks run without a "
                  "shell)",
                  "t.yaml:6:17: failover.hooks.on_passive: expected at least one argument (the "
                  "program to run)",
                  "t.yaml:7:16: failover.hooks.on_fault[0]: must be an absolute path (hooks run "
                  "without a shell or PATH lookup), got 'move-ip'",
                  "t.yaml:7:25: failover.hooks.on_fault[1]: expected a string, got a map",
                  "t.yaml:7:35: failover.hooks.on_fault[2]: must not contain control characters "
                  "(found \\x00 at position 2)",
                  "t.yaml:8:5: failover.hooks.on_falt: unknown key 'on_falt' (did you mean "
                  "'on_fault'?)",
              }));
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  hooks: {on_active: {program: /bin/true}}
)")),
              (strings{"t.yaml:4:22: failover.hooks.on_active: expected a list of arguments, got "
                       "a map"}));
}

TEST(config_failover_errors, reserved_ip_address_urls_and_token_file) {
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  prempt: true
  reserved_ip:
    address: "2001:db8::1"
    token_file: ""
    api_base: ftp://api.digitalocean.com
    metadata_base: "http://169.254.169.254?x=1"
    recheck: 0s
)")),
              (strings{
                  "t.yaml:4:3: failover.prempt: unknown key 'prempt' (did you mean 'preempt'?)",
                  "t.yaml:6:14: failover.reserved_ip.address: invalid reserved IP '2001:db8::1' "
                  "(expected an IPv4 address, e.g. 203.0.113.10)",
                  "t.yaml:7:17: failover.reserved_ip.token_file: must not be empty (the file that "
                  "holds the DigitalOcean API token)",
                  "t.yaml:8:15: failover.reserved_ip.api_base: invalid URL "
                  "'ftp://api.digitalocean.com' (expected http:// or https://, a host and an "
                  "optional port and path, e.g. https://api.digitalocean.com)",
                  "t.yaml:9:20: failover.reserved_ip.metadata_base: invalid URL "
                  "'http://169.254.169.254?x=1' (expected http:// or https://, a host and an "
                  "optional port and path, e.g. https://api.digitalocean.com)",
                  "t.yaml:10:14: failover.reserved_ip.recheck: must be greater than 0, got '0s'",
              }));
    for (const char* url : {"https://", "https://host:0", "https://host:99999", "https://a b",
                            "https://user@host", "https://host/a b", "https://host#x", "host"}) {
        const std::string yaml =
            with_defaults(std::string("failover:\n  node: a\n  peer: 10.0.0.2:9100\n  reserved_ip: "
                                      "{address: 203.0.113.10, token_file: t, api_base: \"") +
                          url + "\"}\n");
        EXPECT_EQ(errors_of(yaml).size(), 1u) << url;
    }
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  reserved_ip: {address: reserved.example.com, token_file: t}
)")),
              (strings{"t.yaml:4:26: failover.reserved_ip.address: invalid reserved IP "
                       "'reserved.example.com' (expected an IPv4 address, e.g. 203.0.113.10)"}));
}

TEST(config_diagnostic, to_string_formats) {
    EXPECT_EQ((diagnostic{"f.yaml", 3, 7, "a.b", "bad"}).to_string(), "f.yaml:3:7: a.b: bad");
    EXPECT_EQ((diagnostic{"f.yaml", 1, 1, "", "bad"}).to_string(), "f.yaml:1:1: bad");
    EXPECT_EQ((diagnostic{"f.yaml", 0, 0, "", "cannot read: x"}).to_string(),
              "f.yaml: cannot read: x");
}

// ---- parse_duration / parse_endpoint

TEST(config_parse_duration, accepts_every_unit) {
    duration d{};
    EXPECT_TRUE(parse_duration("500ms", d));
    EXPECT_EQ(d, 500ms);
    EXPECT_TRUE(parse_duration("10s", d));
    EXPECT_EQ(d, 10s);
    EXPECT_TRUE(parse_duration("2m", d));
    EXPECT_EQ(d, 2min);
    EXPECT_TRUE(parse_duration("1h", d));
    EXPECT_EQ(d, 1h);
    EXPECT_TRUE(parse_duration("1d", d));
    EXPECT_EQ(d, 24h);
    EXPECT_TRUE(parse_duration("0s", d));
    EXPECT_EQ(d, 0s);
    EXPECT_TRUE(parse_duration("007s", d));
    EXPECT_EQ(d, 7s);
}

TEST(config_parse_duration, rejects_everything_else_and_leaves_out_untouched) {
    for (std::string_view text :
         {"", "10", "s", "ms", "-5s", "+5s", "1.5s", "5 s", " 5s", "5s ", "5S", "5sec", "5us",
          "1m30s", "99999999999999999999s", "9999999999999999d"}) {
        duration d{42};
        EXPECT_FALSE(parse_duration(text, d)) << text;
        EXPECT_EQ(d, duration{42}) << text;
    }
}

TEST(config_parse_endpoint, ipv4_ipv6_and_wildcard) {
    endpoint e;
    EXPECT_TRUE(parse_endpoint("10.0.0.1:80", false, e));
    EXPECT_EQ(e, (endpoint{"10.0.0.1", 80}));
    EXPECT_TRUE(parse_endpoint("[::1]:8080", false, e));
    EXPECT_EQ(e, (endpoint{"::1", 8080}));
    EXPECT_TRUE(parse_endpoint("[FD00:0::1]:65535", false, e));
    EXPECT_EQ(e, (endpoint{"fd00::1", 65535}));
    EXPECT_TRUE(parse_endpoint("*:443", true, e));
    EXPECT_EQ(e, (endpoint{"0.0.0.0", 443}));
    EXPECT_TRUE(parse_endpoint("127.0.0.1:0", true, e));
    EXPECT_EQ(e, (endpoint{"127.0.0.1", 0}));
}

TEST(config_parse_endpoint, rejects_and_leaves_out_untouched) {
    const endpoint before{"1.1.1.1", 1};
    for (std::string_view text :
         {"", "10.0.0.1", "10.0.0.1:", ":80", "10.0.0.1:-1", "10.0.0.1:+80", "10.0.0.1:65536",
          "10.0.0.1:080000", "10.0.0.1:8 0", "example.com:80", "localhost:80", "::1:80", "[::1]",
          "[::1]80", "[10.0.0.1]:80", "1.2.3:80", "*:80", "10.0.0.1:0"}) {
        endpoint e = before;
        EXPECT_FALSE(parse_endpoint(text, false, e)) << text;
        EXPECT_EQ(e, before) << text;
    }
    endpoint e = before;
    EXPECT_FALSE(parse_endpoint("*", true, e));
    EXPECT_FALSE(parse_endpoint("[*]:80", true, e));
    EXPECT_EQ(e, before);
}

TEST(config_endpoint, to_string_brackets_ipv6) {
    EXPECT_EQ((endpoint{"10.0.0.1", 80}).to_string(), "10.0.0.1:80");
    EXPECT_EQ((endpoint{"::1", 80}).to_string(), "[::1]:80");
    EXPECT_EQ((endpoint{"0.0.0.0", 0}).to_string(), "0.0.0.0:0");
}

// ---- service level objectives

TEST(config_slo, objectives_default_to_99_95_without_latency) {
    const auto c = load_ok(minimal);
    EXPECT_EQ(c.slo.of("app_pool").availability_percent, 99.95);
    EXPECT_FALSE(c.slo.of("app_pool").latency.has_value());
}

TEST(config_slo, a_service_overrides_the_defaults_key_by_key) {
    const auto c = load_ok(std::string(minimal) + R"(  - name: api
    service: checkout
    servers:
      - {name: api-1, address: 10.132.20.237:80}
slo:
  objective: 99.9
  latency: {threshold: 250ms, objective: 99.5}
  services:
    checkout: {objective: 99.99}
    app_pool:
      latency: {threshold: 1s}
)");
    EXPECT_EQ(c.slo.of("checkout").availability_percent, 99.99);
    EXPECT_EQ(c.slo.of("checkout").latency, (latency_objective{250ms, 99.5}));
    EXPECT_EQ(c.slo.of("app_pool").availability_percent, 99.9);
    EXPECT_EQ(c.slo.of("app_pool").latency, (latency_objective{1000ms, 99.5}));
}

TEST(config_slo, bad_objectives_and_unknown_services_are_located) {
    EXPECT_EQ(
        errors_of(std::string(minimal) + R"(slo:
  objective: 100
  latency: {objective: 99}
  services:
    app_pol: {objective: abc}
    web: {objective: 99}
)"),
        (strings{"t.yaml:10:14: slo.objective: must be above 0 and below 100 (a percentage "
                 "such as 99.95), got 100",
                 "t.yaml:11:12: slo.latency: missing required key 'threshold' (a latency objective "
                 "counts responses faster than it)",
                 "t.yaml:13:5: slo.services: unknown service 'app_pol' (did you mean "
                 "'app_pool'?)",
                 "t.yaml:14:5: slo.services: unknown service 'web' (services are named by "
                 "backends' and routes' 'service', else the backend name: app_pool)"}));
}

TEST(config_errors, tls_and_redirect) {
    EXPECT_EQ(errors_of(R"(frontends:
  - name: http
    default_backend: app_pool
    redirect: {scheme: http, code: 200}
    tls:
      certificates:
        - {key: k.pem}
        - {cert: ""}
      unknown_sni: drop
      session_timeout: 500ms
      min_version: 1.1
      ciphers: ""
      hsts: {max_age: 600, preload: true}
      session_ticket: true
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80}
)"),
              (strings{
                  "t.yaml:2:5: frontends[0]: missing required key 'bind'",
                  "t.yaml:4:24: frontends[0].redirect.scheme: only https is supported, got 'http'",
                  "t.yaml:4:36: frontends[0].redirect.code: must be between 300 and 399, got 200",
                  "t.yaml:6:7: frontends[0].tls: missing required key 'bind' (the addresses "
                  "served over TLS)",
                  "t.yaml:7:11: frontends[0].tls.certificates[0]: missing required key 'cert' (a "
                  "PEM file with the certificate and its chain)",
                  "t.yaml:8:18: frontends[0].tls.certificates[1].cert: expected a file name, got "
                  "an empty string",
                  "t.yaml:9:20: frontends[0].tls.unknown_sni: expected default or refuse, got "
                  "'drop'",
                  "t.yaml:10:24: frontends[0].tls.session_timeout: must be between 1s and 7d, "
                  "got 500ms",
                  "t.yaml:11:20: frontends[0].tls.min_version: expected \"1.2\" or \"1.3\" (TLS "
                  "1.0 and 1.1 are not offered), got '1.1'",
                  "t.yaml:12:16: frontends[0].tls.ciphers: expected a cipher list, got an empty "
                  "string (leave the key out for the default)",
                  "t.yaml:13:13: frontends[0].tls.hsts: preload needs include_subdomains: true "
                  "and max_age of at least 31536000 (one year), as the HSTS preload list requires",
                  "t.yaml:14:7: frontends[0].tls.session_ticket: unknown key 'session_ticket' (did "
                  "you mean 'session_tickets'?)",
              }));
}

TEST(config_defaults, tls_only_frontend_needs_no_plain_bind) {
    const config c = load_ok(R"(frontends:
  - name: https
    default_backend: app_pool
    tls:
      bind: 127.0.0.1:0
      certificates: [{cert: /c.pem, key: /k.pem}]
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.132.20.236:80}
)");
    ASSERT_TRUE(c.frontends[0].tls.has_value());
    EXPECT_TRUE(c.frontends[0].bind.empty());
    EXPECT_EQ(c.frontends[0].tls->bind, (std::vector<endpoint>{{"127.0.0.1", 0}}));
    EXPECT_EQ(c.frontends[0].tls->session_timeout, 5min);
    EXPECT_TRUE(c.frontends[0].tls->session_tickets);
    EXPECT_FALSE(c.frontends[0].tls->hsts.has_value());
}

} // namespace
} // namespace fulcrum::config
