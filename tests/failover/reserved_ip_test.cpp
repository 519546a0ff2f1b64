// The DigitalOcean reserved-IP client against tests/support/do_stand_in.py, over real TLS with
// a test CA made for the run.

#include "failover/reserved_ip.hpp"
#include "http/head.hpp"
#include "http/json.hpp"

#include "harness.hpp"
#include "run_awaitable.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = fulcrum::http::json;
using namespace std::chrono_literals;
using fulcrum::failover::api_result;
using fulcrum::failover::reserved_ip_client;
using fulcrum::failover::reserved_ip_settings;
using fulcrum::testing::eventually;
using fulcrum::testing::process;
using fulcrum::testing::run_awaitable;
using fulcrum::testing::temp_dir;

const std::string token = "dop_v1_fulcrum_test_token_5f2c";
const std::string ip = "203.0.113.10";
constexpr std::int64_t this_id = 3164445;
constexpr std::int64_t other_id = 3164444;
constexpr std::int64_t first_action = 2000000001; // the stand-in's first action id

// The test CA and certificates, made once for the run (tests/support/test_certs).
const fs::path& certificates() {
    static const struct made {
        made() {
            int status = -1;
            fulcrum::testing::run(std::string(FULCRUM_SOURCE_DIR) + "/tests/support/test_certs " +
                                      dir.path().string(),
                                  &status);
            if (status != 0) {
                throw std::runtime_error("tests/support/test_certs failed");
            }
        }
        temp_dir dir;
    } once;
    return once.dir.path();
}

struct stand_in_options {
    std::string certificate = "server"; // or "rogue" (another CA), "wrong_host"
    std::string scenario = "{}";
    std::optional<std::int64_t> holder = other_id; // none: the IP is assigned to no droplet
    std::string token = ::token;
    std::vector<std::string> on_assign = {}; // --on-assign PROGRAM ARG...
};

// tests/support/do_stand_in.py as a child process, with the requests it records.
class stand_in {
public:
    explicit stand_in(const stand_in_options& options = {}) {
        const auto& certs = certificates();
        fulcrum::testing::write_file(dir_.path() / "scenario.json", options.scenario);
        std::vector<std::string> argv = {
            "python3",       std::string(FULCRUM_SOURCE_DIR) + "/tests/support/do_stand_in.py",
            "--cert",        (certs / (options.certificate + ".crt")).string(),
            "--key",         (certs / (options.certificate + ".key")).string(),
            "--token",       options.token,
            "--reserved-ip", ip + (options.holder ? "=" + std::to_string(*options.holder) : ""),
            "--metadata-id", std::to_string(this_id),
            "--scenario",    (dir_.path() / "scenario.json").string(),
            "--record",      (dir_.path() / "requests.jsonl").string(),
        };
        if (!options.on_assign.empty()) {
            argv.push_back("--on-assign");
            argv.insert(argv.end(), options.on_assign.begin(), options.on_assign.end());
        }
        proc_.emplace(argv, dir_.path() / "log");
        const std::regex ports(R"(api=(\d+) metadata=(\d+))");
        std::smatch found;
        std::string log;
        const bool up = eventually([&] {
            log = proc_->log();
            return std::regex_search(log, found, ports);
        });
        if (!up) {
            throw std::runtime_error("the stand-in did not start: " + log);
        }
        api_port_ = std::stoi(found[1]);
        metadata_port_ = std::stoi(found[2]);
    }

    std::string log() const { return proc_->log(); }
    int api_port() const { return api_port_; }
    std::string api_url(const std::string& host = "localhost") const {
        return "https://" + host + ":" + std::to_string(api_port_);
    }
    std::string metadata_url() const {
        return "http://127.0.0.1:" + std::to_string(metadata_port_);
    }

    // Every request received so far, in order.
    std::vector<json::value> requests() const {
        std::vector<json::value> out;
        std::istringstream lines(fulcrum::testing::read_file(dir_.path() / "requests.jsonl"));
        for (std::string line; std::getline(lines, line);) {
            auto request = json::parse(line);
            if (!request) {
                ADD_FAILURE() << "unreadable record: " << line;
                continue;
            }
            out.push_back(std::move(*request));
        }
        return out;
    }

private:
    temp_dir dir_;
    std::optional<process> proc_;
    int api_port_ = 0;
    int metadata_port_ = 0;
};

std::string text(const json::value& record, std::string_view field) {
    const json::value* v = record.find(field);
    return v != nullptr && v->as_string() != nullptr ? *v->as_string() : "";
}

std::string method_and_path(const json::value& record) {
    return text(record, "method") + " " + text(record, "path");
}

// The first value of header `name` in a record, "" when absent.
std::string header(const json::value& record, std::string_view name) {
    for (const auto& h : *record.find("headers")->as_array()) {
        const auto& pair = *h.as_array();
        if (fulcrum::http::iequals(*pair[0].as_string(), name)) {
            return *pair[1].as_string();
        }
    }
    return "";
}

std::vector<std::string> methods_and_paths(const std::vector<json::value>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) {
        out.push_back(method_and_path(r));
    }
    return out;
}

class reserved_ip : public ::testing::Test {
protected:
    reserved_ip_settings settings_for(const stand_in& api, const std::string& host = "localhost") {
        reserved_ip_settings settings;
        settings.api_base = api.api_url(host);
        settings.metadata_base = api.metadata_url();
        settings.token = token;
        settings.ca_file = (certificates() / "ca.crt").string();
        settings.request_timeout = 5s;
        settings.deadline = 5s;
        settings.backoff_initial = 50ms;
        settings.backoff_max = 200ms;
        settings.poll_interval = 20ms;
        return settings;
    }

    reserved_ip_client client(const reserved_ip_settings& settings) {
        return reserved_ip_client(settings,
                                  [this](const std::string& line) { lines_.push_back(line); });
    }

    bool logged(const std::string& words) const {
        return std::any_of(lines_.begin(), lines_.end(), [&](const std::string& line) {
            return line.find(words) != std::string::npos;
        });
    }

    std::string log() const {
        std::string all;
        for (const auto& line : lines_) {
            all += line + "\n";
        }
        return all;
    }

    // Whatever a test did, the token is in none of the lines logged.
    void TearDown() override {
        for (const auto& line : lines_) {
            EXPECT_EQ(line.find(token), std::string::npos) << line;
            EXPECT_EQ(line.find('\n'), std::string::npos) << line;
        }
    }

    std::vector<std::string> lines_;
};

TEST_F(reserved_ip, assign_sends_the_documented_requests) {
    stand_in api;
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_TRUE(result.moved);

    const auto requests = api.requests();
    const std::string actions = "/v2/reserved_ips/" + ip + "/actions";
    EXPECT_EQ(methods_and_paths(requests),
              (std::vector<std::string>{"GET /v2/reserved_ips/" + ip, "POST " + actions,
                                        "GET " + actions + "/" + std::to_string(first_action)}));
    for (const auto& r : requests) {
        EXPECT_EQ(header(r, "Authorization"), "Bearer " + token) << method_and_path(r);
        EXPECT_EQ(header(r, "Content-Type"), "application/json") << method_and_path(r);
        EXPECT_EQ(header(r, "Host"), "localhost:" + std::to_string(api.api_port()));
        EXPECT_EQ(text(r, "sni"), "localhost");
    }
    EXPECT_EQ(text(requests[1], "body"), R"({"type":"assign","droplet_id":3164445})");
    EXPECT_EQ(header(requests[1], "Content-Length"), "38");

    EXPECT_TRUE(logged("reserved IP 203.0.113.10: held by droplet 3164444, assigning it to "
                       "droplet 3164445"))
        << log();
    EXPECT_TRUE(logged("assign action 2000000001 started")) << log();
    EXPECT_TRUE(logged("assign action 2000000001 completed, the IP is on droplet 3164445"))
        << log();

    const auto now = run_awaitable(c.holder(ip));
    ASSERT_TRUE(now.ok()) << now.reason;
    EXPECT_EQ(now.droplet_id, this_id);
}

TEST_F(reserved_ip, the_stand_in_runs_on_assign_when_the_ip_has_moved) {
    temp_dir out;
    const auto moved = out.path() / "moved";
    stand_in api({.on_assign = {"sh", "-c", "echo \"$1 $2\" > " + moved.string(), "sh"}});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    // The program has run by the time the client learns that the action completed.
    EXPECT_EQ(fulcrum::testing::read_file(moved), "203.0.113.10 3164445\n") << api.log();
}

TEST_F(reserved_ip, an_ip_already_here_is_not_assigned_again) {
    stand_in api({.holder = this_id});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_FALSE(result.moved);
    EXPECT_EQ(methods_and_paths(api.requests()),
              std::vector<std::string>{"GET /v2/reserved_ips/" + ip});
    EXPECT_EQ(lines_, std::vector<std::string>{
                          "reserved IP 203.0.113.10: already assigned to droplet 3164445, "
                          "nothing to do"});
}

TEST_F(reserved_ip, an_unassigned_ip_has_no_holder_and_is_assigned) {
    stand_in api({.holder = std::nullopt});
    auto c = client(settings_for(api));
    const auto before = run_awaitable(c.holder(ip));
    ASSERT_TRUE(before.ok()) << before.reason;
    EXPECT_FALSE(before.droplet_id.has_value());
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_TRUE(result.moved);
    EXPECT_TRUE(logged("assigned to no droplet, assigning it to droplet 3164445")) << log();
}

TEST_F(reserved_ip, this_droplet_comes_from_the_metadata_service_without_the_token) {
    stand_in api;
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.this_droplet());
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_EQ(result.droplet_id, this_id);
    const auto requests = api.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(text(requests[0], "service"), "metadata");
    EXPECT_EQ(method_and_path(requests[0]), "GET /metadata/v1/id");
    EXPECT_EQ(header(requests[0], "Authorization"), "");
}

TEST_F(reserved_ip, pending_events_422_are_retried_with_backoff_until_201) {
    stand_in api({.scenario = R"({"post_422": 2})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_TRUE(result.moved);
    const auto requests = methods_and_paths(api.requests());
    EXPECT_EQ(
        std::count(requests.begin(), requests.end(), "POST /v2/reserved_ips/" + ip + "/actions"),
        3);
    const std::string answered = "POST /v2/reserved_ips/203.0.113.10/actions answered 422 "
                                 "(Droplet already has a pending event.), retrying in ";
    EXPECT_TRUE(logged(answered + "50ms")) << log();
    EXPECT_TRUE(logged(answered + "100ms")) << log();
}

TEST_F(reserved_ip, a_422_that_lasts_past_the_deadline_fails) {
    stand_in api({.scenario = R"({"post_422": 1000})"});
    auto settings = settings_for(api);
    settings.deadline = 400ms;
    auto c = client(settings);
    const auto result = run_awaitable(c.assign(ip, this_id));
    EXPECT_EQ(result.result, api_result::outcome::failed);
    EXPECT_EQ(result.reason, "gave up after 400ms: POST /v2/reserved_ips/203.0.113.10/actions "
                             "answered 422 (Droplet already has a pending event.)");
}

TEST_F(reserved_ip, a_429_waits_as_long_as_retry_after_says) {
    stand_in api({.scenario = R"({"rate_limit": 1, "retry_after": 1})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    const auto requests = api.requests();
    ASSERT_GE(requests.size(), 2u);
    EXPECT_EQ(method_and_path(requests[0]), method_and_path(requests[1]));
    // The backoff alone would have retried after 50 ms.
    const double waited =
        *requests[1].find("at")->as_double() - *requests[0].find("at")->as_double();
    EXPECT_GE(waited, 0.95);
    EXPECT_TRUE(logged("GET /v2/reserved_ips/203.0.113.10 answered 429 (API Rate limit "
                       "exceeded.), retrying in 1000ms as the API asks"))
        << log();
}

TEST_F(reserved_ip, a_429_without_retry_after_waits_for_the_rate_limit_reset) {
    stand_in api({.scenario = R"({"rate_limit": 1, "retry_after": null})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.holder(ip));
    ASSERT_TRUE(result.ok()) << result.reason;
    // ratelimit-reset is in whole seconds: the wait is what is left of the current one or the
    // next, as the API asks, not the backoff's 50 ms.
    EXPECT_TRUE(logged("answered 429 (API Rate limit exceeded.), retrying in ")) << log();
    EXPECT_TRUE(logged("ms as the API asks")) << log();
}

TEST_F(reserved_ip, a_server_error_is_retried) {
    stand_in api({.scenario = R"({"server_error": 1})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_TRUE(logged("answered 500 (Server was unable to give you a response.), retrying in "
                       "50ms"))
        << log();
}

TEST_F(reserved_ip, a_refused_token_is_unauthorized_at_once) {
    stand_in api({.token = "dop_v1_some_other_token"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    EXPECT_EQ(result.result, api_result::outcome::unauthorized);
    EXPECT_EQ(result.reason, "the API refused the token: GET /v2/reserved_ips/203.0.113.10 "
                             "answered 401 (Unable to authenticate you.); check that the token "
                             "is valid and may read and write reserved IPs");
    EXPECT_EQ(api.requests().size(), 1u);
}

TEST_F(reserved_ip, the_token_is_kept_out_of_what_the_api_says_back) {
    stand_in api({.scenario = R"({"unauthorized": 1, "unauthorized_message": "token )" + token +
                              R"( was revoked"})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.holder(ip));
    EXPECT_EQ(result.result, api_result::outcome::unauthorized);
    EXPECT_NE(result.reason.find("(token <token> was revoked)"), std::string::npos)
        << result.reason;
    EXPECT_EQ(result.reason.find(token), std::string::npos) << result.reason;
}

TEST_F(reserved_ip, an_action_is_polled_until_it_completes) {
    stand_in api({.scenario = R"({"action_in_progress_polls": 3})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    ASSERT_TRUE(result.ok()) << result.reason;
    const auto requests = methods_and_paths(api.requests());
    EXPECT_EQ(std::count(requests.begin(), requests.end(),
                         "GET /v2/reserved_ips/" + ip + "/actions/" + std::to_string(first_action)),
              4);
}

TEST_F(reserved_ip, an_action_that_errors_is_a_failure) {
    stand_in api({.scenario = R"({"action_end": "errored"})"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign(ip, this_id));
    EXPECT_EQ(result.result, api_result::outcome::failed);
    EXPECT_EQ(result.reason, "assign action 2000000001 errored: DigitalOcean did not move the IP");
    const auto now = run_awaitable(c.holder(ip));
    EXPECT_EQ(now.droplet_id, other_id);
}

TEST_F(reserved_ip, an_unknown_action_status_is_not_success) {
    stand_in api({.scenario = R"({"action_end": "queued"})"});
    auto settings = settings_for(api);
    settings.deadline = 500ms;
    auto c = client(settings);
    const auto result = run_awaitable(c.assign(ip, this_id));
    EXPECT_EQ(result.result, api_result::outcome::failed);
    EXPECT_EQ(result.reason, "assign action 2000000001 still 'queued' after 500ms, giving up");
    EXPECT_TRUE(logged("assign action 2000000001 is 'queued', which is not success; still "
                       "waiting"))
        << log();
}

TEST_F(reserved_ip, other_statuses_fail_with_the_apis_message) {
    stand_in api;
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.assign("198.51.100.7", this_id));
    EXPECT_EQ(result.result, api_result::outcome::failed);
    EXPECT_EQ(result.reason, "GET /v2/reserved_ips/198.51.100.7 answered 404 (The resource you "
                             "were accessing could not be found.)");
}

TEST_F(reserved_ip, only_ipv4_addresses_go_into_a_path) {
    stand_in api;
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.holder("203.0.113.10/actions"));
    EXPECT_EQ(result.reason, "'203.0.113.10/actions' is not an IPv4 address");
    EXPECT_TRUE(api.requests().empty());
}

TEST_F(reserved_ip, a_certificate_from_another_ca_is_refused) {
    stand_in api({.certificate = "rogue"});
    auto c = client(settings_for(api));
    const auto result = run_awaitable(c.holder(ip));
    EXPECT_EQ(result.result, api_result::outcome::failed);
    EXPECT_EQ(result.reason, "GET /v2/reserved_ips/203.0.113.10: TLS: the certificate of "
                             "localhost was not accepted: unable to get local issuer certificate");
    EXPECT_TRUE(api.requests().empty());
}

TEST_F(reserved_ip, the_test_ca_is_not_trusted_by_default) {
    stand_in api;
    auto settings = settings_for(api);
    settings.ca_file.clear(); // the system's trust store
    auto c = client(settings);
    const auto result = run_awaitable(c.holder(ip));
    EXPECT_EQ(result.result, api_result::outcome::failed);
    EXPECT_NE(result.reason.find("not accepted: unable to get local issuer certificate"),
              std::string::npos)
        << result.reason;
}

TEST_F(reserved_ip, a_certificate_for_another_host_is_refused) {
    stand_in api({.certificate = "wrong_host"});
    auto by_name = client(settings_for(api));
    const auto named = run_awaitable(by_name.holder(ip));
    EXPECT_EQ(named.reason, "GET /v2/reserved_ips/203.0.113.10: TLS: the certificate of localhost "
                            "was not accepted: hostname mismatch");
    auto by_address = client(settings_for(api, "127.0.0.1"));
    const auto addressed = run_awaitable(by_address.holder(ip));
    EXPECT_EQ(addressed.reason, "GET /v2/reserved_ips/203.0.113.10: TLS: the certificate of "
                                "127.0.0.1 was not accepted: IP address mismatch");
    EXPECT_TRUE(api.requests().empty());
}

TEST_F(reserved_ip, an_ip_address_is_checked_against_the_certificate_and_sent_without_sni) {
    stand_in api;
    auto c = client(settings_for(api, "127.0.0.1"));
    const auto result = run_awaitable(c.holder(ip));
    ASSERT_TRUE(result.ok()) << result.reason;
    const auto requests = api.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_TRUE(requests[0].find("sni")->is_null());
}

TEST_F(reserved_ip, bad_settings_are_refused_at_start) {
    reserved_ip_settings settings;
    settings.token = token;
    settings.api_base = "ftp://api.digitalocean.com";
    EXPECT_THROW(client(settings), std::runtime_error);
    settings.api_base = "https://api.digitalocean.com/v2";
    EXPECT_THROW(client(settings), std::runtime_error);
    settings.api_base = "https://api.digitalocean.com/";
    settings.token = "";
    EXPECT_THROW(client(settings), std::runtime_error);
    settings.token = "a\nb";
    EXPECT_THROW(client(settings), std::runtime_error);
}

// ---- `fulcrum reserved-ip status|assign`, the real binary with the same client

struct command_result {
    int code = -1;
    std::string out;
};

command_result reserved_ip_command(const stand_in& api, const std::string& action,
                                   const std::string& token_text = token) {
    temp_dir dir;
    fulcrum::testing::write_file(dir.path() / "do.token", token_text + "\n");
    fs::permissions(dir.path() / "do.token", fs::perms::owner_read | fs::perms::owner_write);
    fulcrum::testing::write_file(
        dir.path() / "fulcrum.yaml",
        "frontends: [{name: http, bind: 127.0.0.1:0, default_backend: app}]\n"
        "backends: [{name: app, servers: [{name: a, address: 127.0.0.1:9}]}]\n"
        "failover:\n"
        "  node: lb-1\n"
        "  peer: 127.0.0.1:9101\n"
        "  reserved_ip:\n"
        "    address: " +
            ip + "\n    token_file: " + (dir.path() / "do.token").string() + "\n    api_base: " +
            api.api_url() + "\n    metadata_base: " + api.metadata_url() + "\n");
    command_result r;
    // The system trust store is OpenSSL's default paths, which SSL_CERT_FILE overrides.
    r.out = fulcrum::testing::run("SSL_CERT_FILE=" + (certificates() / "ca.crt").string() + " " +
                                      FULCRUM_BINARY + " reserved-ip " + action + " -c " +
                                      (dir.path() / "fulcrum.yaml").string() + " 2>&1",
                                  &r.code);
    return r;
}

TEST(reserved_ip_command, status_and_assign_say_where_the_ip_is_and_exit_accordingly) {
    stand_in api({.holder = std::nullopt});
    auto status = reserved_ip_command(api, "status");
    EXPECT_EQ(status.code, 1) << status.out;
    EXPECT_NE(status.out.find(ip + " is assigned to no droplet (this droplet is " +
                              std::to_string(this_id) + ")"),
              std::string::npos)
        << status.out;

    const auto assigned = reserved_ip_command(api, "assign");
    EXPECT_EQ(assigned.code, 0) << assigned.out;
    EXPECT_NE(assigned.out.find(ip + " assigned to droplet " + std::to_string(this_id)),
              std::string::npos)
        << assigned.out;

    status = reserved_ip_command(api, "status");
    EXPECT_EQ(status.code, 0) << status.out;
    EXPECT_NE(status.out.find("(this droplet)"), std::string::npos) << status.out;

    const auto again = reserved_ip_command(api, "assign");
    EXPECT_EQ(again.code, 0) << again.out;
    EXPECT_NE(again.out.find("already on droplet"), std::string::npos) << again.out;
}

TEST(reserved_ip_command, a_refused_token_exits_4_without_showing_it) {
    stand_in api;
    const std::string wrong = "dop_v1_not_the_right_one";
    const auto refused = reserved_ip_command(api, "assign", wrong);
    EXPECT_EQ(refused.code, 4) << refused.out;
    EXPECT_EQ(refused.out.find(wrong), std::string::npos) << refused.out;
}

} // namespace
