// The failover pair end to end, in network namespaces the test creates (it needs root, as CI
// runs): a client, two fulcrum nodes, two nginx app servers, and a "provider" namespace that
// routes between them and sends the reserved IP to whichever node the DigitalOcean stand-in
// (tests/support/do_stand_in.py: the API cannot exist here) last assigned it to. The built-in
// reserved-IP action of the fulcrum nodes really moves the traffic.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace fulcrum::testing {
namespace {

constexpr const char* reserved_ip = "192.0.2.10";
constexpr const char* metadata_ip = "169.254.169.254";
constexpr const char* api_ip = "10.77.2.1"; // the provider's side of lb-1's link

// Runs a command that must succeed.
void must(const std::string& command) {
    int code = -1;
    const auto out = run(command + " 2>&1", &code);
    if (code != 0) {
        throw std::runtime_error(command + ": exit " + std::to_string(code) + ": " + out);
    }
}

// The namespaces and links; removed when the test ends, passed or failed, and removed first
// too when a killed earlier run left them behind.
class topology {
public:
    // Subnet 10.77.<n>.0/24 links each namespace to the provider: .1 the provider, .2 the host.
    static constexpr std::array<std::pair<const char*, int>, 5> hosts{
        {{"client", 1}, {"lb1", 2}, {"lb2", 3}, {"app1", 4}, {"app2", 5}}};

    topology() {
        remove();
        must("ip netns add fe-prov");
        must("ip -n fe-prov link set lo up");
        must("ip netns exec fe-prov sysctl -qw net.ipv4.ip_forward=1");
        for (const auto& [name, n] : hosts) {
            const std::string ns = std::string("fe-") + name;
            const std::string subnet = "10.77." + std::to_string(n) + ".";
            must("ip netns add " + ns);
            must("ip -n " + ns + " link set lo up");
            must("ip link add " + ns + "-in netns " + ns + " type veth peer name " + ns +
                 "-out netns fe-prov");
            must("ip -n " + ns + " addr add " + subnet + "2/24 dev " + ns + "-in");
            must("ip -n " + ns + " link set " + ns + "-in up");
            must("ip -n fe-prov addr add " + subnet + "1/24 dev " + ns + "-out");
            must("ip -n fe-prov link set " + ns + "-out up");
            must("ip -n " + ns + " route add default via " + subnet + "1");
        }
        // Both nodes accept the reserved IP, as a Droplet accepts traffic for its anchor IP;
        // the provider's route decides which one gets it. Each has its own metadata service.
        for (const char* ns : {"fe-lb1", "fe-lb2"}) {
            must(std::string("ip -n ") + ns + " addr add " + reserved_ip + "/32 dev lo");
            must(std::string("ip -n ") + ns + " addr add " + metadata_ip + "/32 dev lo");
        }
    }
    ~topology() { remove(); }

    static void remove() {
        run("ip netns del fe-prov 2>/dev/null");
        for (const auto& [name, n] : hosts) {
            run(std::string("ip netns del fe-") + name + " 2>/dev/null");
        }
    }
};

std::vector<std::string> in_ns(const std::string& ns, std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
    return argv;
}

std::string node_yaml(int n, const std::filesystem::path& dir, std::uint16_t api_port) {
    const std::string self = "10.77." + std::to_string(n + 1) + ".2";
    const std::string peer = "10.77." + std::to_string(n == 1 ? 3 : 2) + ".2";
    return "global: {threads: 1, shutdown_grace: 1s}\n"
           "admin: {bind: " +
           self +
           ":9100}\n"
           "frontends:\n"
           "  - {name: http, bind: \"" +
           std::string(reserved_ip) +
           ":80\", default_backend: app}\n"
           "backends:\n"
           "  - name: app\n"
           "    servers:\n"
           "      - {name: app-1, address: 10.77.4.2:80}\n"
           "      - {name: app-2, address: 10.77.5.2:80}\n"
           "failover:\n"
           "  node: lb-" +
           std::to_string(n) + "\n  priority: " + (n == 1 ? "150" : "100") +
           "\n"
           "  peer: " +
           peer +
           ":9100\n"
           "  reserved_ip:\n"
           "    address: " +
           reserved_ip + "\n    token_file: " + (dir / "do.token").string() +
           "\n"
           "    api_base: https://" +
           api_ip + ":" + std::to_string(api_port) +
           "\n"
           "    metadata_base: http://" +
           metadata_ip + "\n";
}

struct client_line {
    std::int64_t ms;
    int status;
};

std::vector<client_line> client_lines(const process& client) {
    std::vector<client_line> out;
    std::istringstream in(client.log());
    for (std::string line; std::getline(in, line);) {
        std::int64_t ms = 0;
        int status = 0;
        if (std::sscanf(line.c_str(), "%ld %d", &ms, &status) == 2) {
            out.push_back({ms, status});
        }
    }
    return out;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The role a node reports on its /healthz, or "" when it does not answer.
std::string role_of(int n) {
    const auto body = run("ip netns exec fe-client curl -s --max-time 1 http://10.77." +
                          std::to_string(n + 1) + ".2:9100/healthz");
    std::smatch m;
    static const std::regex role(R"re("role": ?"([A-Z]+)")re");
    return std::regex_search(body, m, role) ? m[1].str() : "";
}

int assign_posts(const std::filesystem::path& record) {
    std::ifstream in(record);
    int posts = 0;
    for (std::string line; std::getline(in, line);) {
        posts += line.find("\"method\": \"POST\"") != std::string::npos ? 1 : 0;
    }
    return posts;
}

TEST(failover, kill_9_of_the_active_node_moves_the_reserved_ip_and_the_traffic) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "network namespaces need root (CI runs as root)";
    }
    temp_dir dir;
    topology net;
    must(FULCRUM_SOURCE_DIR "/tests/support/test_certs " + dir.path().string() + " IP:" + api_ip);
    write_file(dir.path() / "do.token", "dop_v1_test_token\n");
    std::filesystem::permissions(dir.path() / "do.token", std::filesystem::perms::owner_read |
                                                              std::filesystem::perms::owner_write);
    // The provider: who holds the IP is where it routes.
    write_file(dir.path() / "route.sh", "#!/bin/sh\n"
                                        "case \"$2\" in 1001) via=10.77.2.2 ;; *) via=10.77.3.2 ;; "
                                        "esac\n"
                                        "exec ip route replace \"$1/32\" via \"$via\"\n");
    std::filesystem::permissions(dir.path() / "route.sh", std::filesystem::perms::owner_all);

    for (int n : {1, 2}) {
        write_file(dir.path() / ("app" + std::to_string(n) + ".conf"),
                   "daemon off; master_process off; worker_processes 1;\n"
                   "pid " +
                       (dir.path() / ("app" + std::to_string(n) + ".pid")).string() +
                       ";\nerror_log stderr;\n"
                       "events {}\n"
                       "http { access_log off; server { listen 10.77." +
                       std::to_string(n + 3) + ".2:80; location / { return 200 \"app-" +
                       std::to_string(n) + "\\n\"; } } }\n");
    }
    process app1(in_ns("fe-app1", {"nginx", "-c", (dir.path() / "app1.conf").string()}),
                 dir.path() / "app1.log");
    process app2(in_ns("fe-app2", {"nginx", "-c", (dir.path() / "app2.conf").string()}),
                 dir.path() / "app2.log");

    const std::string stand_in = FULCRUM_SOURCE_DIR "/tests/support/do_stand_in.py";
    process api(
        in_ns("fe-prov",
              {"python3", stand_in, "--cert", (dir.path() / "server.crt").string(), "--key",
               (dir.path() / "server.key").string(), "--token", "dop_v1_test_token",
               "--reserved-ip", reserved_ip, "--record", (dir.path() / "api.jsonl").string(),
               "--api-bind", "0.0.0.0:0", "--metadata-bind", "127.0.0.1:0", "--on-assign",
               (dir.path() / "route.sh").string()}),
        dir.path() / "api.log");
    std::uint16_t api_port = 0;
    ASSERT_TRUE(eventually([&] {
        std::smatch m;
        const auto log = api.log();
        static const std::regex ports(R"(api=(\d+))");
        if (std::regex_search(log, m, ports)) {
            api_port = static_cast<std::uint16_t>(std::stoi(m[1]));
        }
        return api_port != 0 || !api.running();
    })) << api.log();
    ASSERT_NE(api_port, 0) << api.log();
    std::vector<std::unique_ptr<process>> metadata;
    for (int n : {1, 2}) {
        metadata.push_back(std::make_unique<process>(
            in_ns("fe-lb" + std::to_string(n),
                  {"python3", stand_in, "--no-api", "--metadata-id", std::to_string(1000 + n),
                   "--metadata-bind", std::string(metadata_ip) + ":80"}),
            dir.path() / ("metadata" + std::to_string(n) + ".log")));
    }

    const auto start_node = [&](int n) {
        const auto config = dir.path() / ("lb" + std::to_string(n) + ".yaml");
        write_file(config, node_yaml(n, dir.path(), api_port));
        return std::make_unique<process>(
            in_ns("fe-lb" + std::to_string(n),
                  {"env", "SSL_CERT_FILE=" + (dir.path() / "ca.crt").string(), FULCRUM_BINARY, "-c",
                   config.string()}),
            dir.path() / ("lb" + std::to_string(n) + ".log"));
    };
    auto lb1 = start_node(1);
    auto lb2 = start_node(2);
    ASSERT_TRUE(eventually([&] { return role_of(1) == "ACTIVE" && role_of(2) == "PASSIVE"; }, 30s))
        << lb1->log() << lb2->log();

    process client(
        in_ns("fe-client", {"sh", "-c",
                            std::string("while :; do c=$(curl -s -o /dev/null -w '%{http_code}' "
                                        "--max-time 1 http://") +
                                reserved_ip + "/); echo \"$(date +%s%3N) $c\"; sleep 0.05; done"}),
        dir.path() / "client.log");
    ASSERT_TRUE(eventually(
        [&] {
            const auto lines = client_lines(client);
            return lines.size() >= 20 && lines.back().status == 200;
        },
        20s))
        << client.log() << api.log() << lb1->log();

    const auto killed_at = now_ms();
    lb1->signal(SIGKILL);
    lb1->wait(5s);
    ASSERT_TRUE(eventually(
        [&] {
            const auto lines = client_lines(client);
            return !lines.empty() && lines.back().ms > killed_at && lines.back().status == 200 &&
                   role_of(2) == "ACTIVE";
        },
        30s))
        << lb2->log() << api.log();

    // The gap: from the last success before the kill to the first one after it.
    const auto lines = client_lines(client);
    std::int64_t last_before = 0;
    std::int64_t first_after = 0;
    int failed = 0;
    for (const auto& l : lines) {
        if (l.ms <= killed_at && l.status == 200) {
            last_before = l.ms;
        } else if (l.ms > killed_at && l.status == 200 && first_after == 0) {
            first_after = l.ms;
        } else if (l.ms > killed_at && first_after == 0) {
            ++failed;
        }
    }
    const auto gap = first_after - last_before;
    std::printf("failover after kill -9: %lld ms without a successful response, %d failed "
                "requests (one every 50 ms)\n",
                static_cast<long long>(gap), failed);
    // The figure is reported, not asserted: timing targets belong to measurements (the
    // closing note and docs/failover.md), not to pass/fail.
    EXPECT_GT(first_after, killed_at);

    const auto metrics =
        run("ip netns exec fe-client curl -s --max-time 2 http://10.77.3.2:9100/metrics");
    for (const auto* line :
         {"fulcrum_failover_role{role=\"active\"} 1", "fulcrum_failover_peer_up 0",
          "fulcrum_failover_transitions_total{from=\"passive\",to=\"active\"} 1",
          "fulcrum_reserved_ip_holder_is_self 1"}) {
        EXPECT_NE(metrics.find(std::string(line) + "\n"), std::string::npos) << line << metrics;
    }

    // The primary comes back: with preemption off the IP stays on lb-2, and nothing moves
    // while 100 more requests (5 s, five intervals) go through.
    const int posts_before = assign_posts(dir.path() / "api.jsonl");
    lb1 = start_node(1);
    ASSERT_TRUE(eventually([&] { return role_of(1) == "PASSIVE"; }, 30s)) << lb1->log();
    const auto seen = client_lines(client).size();
    ASSERT_TRUE(eventually([&] { return client_lines(client).size() >= seen + 100; }, 30s));
    const auto after = client_lines(client);
    for (auto i = seen; i < after.size(); ++i) {
        EXPECT_EQ(after[i].status, 200) << "request at " << after[i].ms;
    }
    EXPECT_EQ(role_of(2), "ACTIVE");
    EXPECT_EQ(role_of(1), "PASSIVE");
    EXPECT_EQ(assign_posts(dir.path() / "api.jsonl"), posts_before)
        << "no assign after the primary came back";
    client.signal(SIGKILL);
}

} // namespace
} // namespace fulcrum::testing
