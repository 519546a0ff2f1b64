#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fulcrum::testing {

namespace fs = std::filesystem;

temp_dir::temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "fulcrum-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::uint16_t unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

silent_listener::silent_listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("silent_listener: " + std::string(std::strerror(errno)));
    }
    port_ = ntohs(address.sin_port);
}

silent_listener::~silent_listener() {
    ::close(fd_);
}

process::process(const std::vector<std::string>& argv, const fs::path& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error("cannot start " + argv[0]);
    }
}

process::~process() {
    if (running()) {
        signal(SIGTERM);
        if (!wait(5s)) {
            signal(SIGKILL);
            wait(5s);
        }
    }
}

void process::signal(int sig) const {
    ::kill(pid_, sig);
}

bool process::running() {
    if (status_) {
        return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

std::optional<int> process::wait(clock::duration timeout) {
    eventually([this] { return !running(); }, timeout);
    return status_;
}

std::string process::log() const {
    return read_file(log_);
}

program::program(const std::vector<std::string>& argv) {
    proc_.emplace(argv, dir_.path() / "output.log");
}

bool program::printed(const std::string& text, clock::duration timeout) {
    const auto found = [&] { return output().find(text) != std::string::npos; };
    eventually([&] { return found() || !proc_->running(); }, timeout);
    return found();
}

helper_server::helper_server(const std::vector<std::string>& argv) : program(argv) {
    // The first line holding only digits: warnings on stderr may come before it.
    const std::regex first_line(R"((?:^|\n)(\d+)\n)");
    const bool up = eventually([&] {
        std::smatch m;
        const std::string text = output();
        if (std::regex_search(text, m, first_line)) {
            port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
            return true;
        }
        return !proc().running();
    });
    if (!up || port_ == 0) {
        throw std::runtime_error("helper server " + argv[argv.size() > 1 ? 1 : 0] +
                                 " printed no port:\n" + output());
    }
}

std::vector<std::string> support_script(const std::string& name,
                                        const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  std::string(FULCRUM_SOURCE_DIR) + "/tests/support/" + name};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

namespace {

std::uint64_t status_field_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(field + ":")) {
            return std::stoull(line.substr(field.size() + 1));
        }
    }
    return 0;
}

bool accepts_connections(std::uint16_t port) {
    raw_client probe(port);
    return probe.connected();
}

} // namespace

std::uint64_t rss_kib(pid_t pid) {
    return status_field_kib(pid, "VmRSS");
}
std::uint64_t peak_rss_kib(pid_t pid) {
    return status_field_kib(pid, "VmHWM");
}

nginx_backend::nginx_backend(std::string name, std::uint64_t big_file_bytes,
                             const std::string& http_directives)
    : name_(std::move(name)) {
    const auto dir = dir_.path();
    fs::create_directories(dir / "www" / "upload");
    fs::create_directories(dir / "tmp");
    write_file(dir / "www" / "big.bin", "");
    fs::resize_file(dir / "www" / "big.bin", big_file_bytes);
    // A port picked here can be taken by someone else before nginx binds it: retry then.
    for (int attempt = 0; attempt < 5 && !nginx_; ++attempt) {
        port_ = unused_port();
        const std::string d = dir.string();
        write_file(dir / "nginx.conf", R"(
daemon off;
master_process off;
worker_processes 1;
pid )" + d + R"(/nginx.pid;
error_log )" + d + R"(/error.log warn;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
events { worker_connections 4096; }
http {
    log_format conn '$connection $request_uri $status';
    access_log )" + d + R"(/access.log conn;
    client_body_temp_path )" + d + R"(/tmp;
    proxy_temp_path )" + d + R"(/tmp;
    fastcgi_temp_path )" + d + R"(/tmp;
    uwsgi_temp_path )" + d + R"(/tmp;
    scgi_temp_path )" + d + R"(/tmp;
    keepalive_requests 100000;
    )" + http_directives + R"(
    server {
        listen 127.0.0.1:)" + std::to_string(port_) +
                                           R"(;
        root )" + d + R"(/www;
        location / { return 200 ")" + name_ +
                                           R"(\n"; }
        location = /xff { return 200 "$http_x_forwarded_for|$http_x_forwarded_proto|$http_host|$http_connection|$http_upgrade\n"; }
        location /uri/ { return 200 ")" + name_ +
                                           R"( $request_uri\n"; }
        location = /sleep { echo_sleep 2; echo ")" +
                                           name_ + R"( slept"; }
        location = /empty { return 204; }
        location = /status/404 { return 404 "not here\n"; }
        location = /status/500 { return 500 "failed\n"; }
        location = /status/503 { return 503 "unavailable\n"; }
        location = /slow { echo_sleep 0.35; echo ")" +
                                           name_ + R"( slow"; }
        location = /nginx_status { stub_status; access_log off; }
        location = /big { try_files /big.bin =404; }
        location /upload/ { dav_methods PUT; client_max_body_size 0; create_full_put_path on; }
    }
}
)");
        launch();
    }
    if (!nginx_) {
        throw std::runtime_error("nginx backend " + name_ +
                                 " did not start: " + read_file(dir / "error.log"));
    }
}

nginx_backend::~nginx_backend() {
    stop();
}

void nginx_backend::launch() {
    const std::string d = dir_.path().string();
    nginx_.emplace(std::vector<std::string>{"nginx", "-c", d + "/nginx.conf", "-p", d},
                   dir_.path() / "nginx.out");
    if (!eventually([&] { return accepts_connections(port_) || !nginx_->running(); }) ||
        !nginx_->running()) {
        nginx_.reset();
    }
}

void nginx_backend::restart() {
    if (!nginx_) {
        launch();
    }
    if (!nginx_) {
        throw std::runtime_error("nginx backend " + name_ + " did not start again");
    }
}

void nginx_backend::stop(int sig) {
    if (nginx_) {
        nginx_->signal(sig);
        nginx_->wait(10s);
        nginx_.reset();
    }
}

int nginx_backend::requests_in_progress() const {
    const auto status = get(port_, "/nginx_status").body;
    const auto at = status.find("Writing: ");
    return at == std::string::npos ? -1 : std::stoi(status.substr(at + 9)) - 1;
}

std::vector<std::string> nginx_backend::access_log() const {
    std::vector<std::string> lines;
    std::istringstream in(read_file(dir_.path() / "access.log"));
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

fulcrum_process::fulcrum_process(const std::string& yaml,
                                 std::optional<unsigned> descriptor_limit) {
    write_file(dir_.path() / "fulcrum.yaml", yaml);
    std::vector<std::string> argv;
    if (descriptor_limit) {
        const auto n = std::to_string(*descriptor_limit);
        argv = {"prlimit", "--nofile=" + n + ":" + n, "--"};
    }
    argv.insert(argv.end(), {FULCRUM_BINARY, "-c", (dir_.path() / "fulcrum.yaml").string()});
    proc_.emplace(argv, dir_.path() / "fulcrum.log");
    const std::regex listening(R"(frontend (\S+) listening on [^ ]+:(\d+)( with TLS)?)");
    const std::regex admin(R"(admin listening on [^ ]+:(\d+))");
    const bool up = eventually([&] {
        const std::string text = proc_->log();
        std::smatch m;
        if (!std::regex_search(text, m, admin) || !proc_->running()) {
            return !proc_->running();
        }
        admin_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
        ports_.clear();
        for (auto it = std::sregex_iterator(text.begin(), text.end(), listening);
             it != std::sregex_iterator(); ++it) {
            ports_.push_back(
                {(*it)[1], static_cast<std::uint16_t>(std::stoi((*it)[2])), (*it)[3].matched});
        }
        return true;
    });
    if (!up || !proc_->running()) {
        throw std::runtime_error("fulcrum did not start:\n" + proc_->log());
    }
}

fulcrum_process::~fulcrum_process() = default;

std::uint16_t fulcrum_process::port(const std::string& frontend) const {
    return port_of(frontend, false);
}

std::uint16_t fulcrum_process::tls_port(const std::string& frontend) const {
    return port_of(frontend, true);
}

std::uint16_t fulcrum_process::port_of(const std::string& frontend, bool tls) const {
    for (const auto& l : ports_) {
        if (l.frontend == frontend && l.tls == tls) {
            return l.port;
        }
    }
    throw std::runtime_error("no " + std::string(tls ? "TLS " : "") + "listener of frontend " +
                             frontend);
}

std::string config_yaml(const std::vector<server_entry>& servers, const config_options& options) {
    std::string yaml =
        "global: {threads: " + std::to_string(options.threads) +
        ", shutdown_grace: " + options.shutdown_grace +
        (options.global_extra.empty() ? std::string() : ", " + options.global_extra) +
        "}\n"
        "admin: {bind: " +
        options.admin_bind +
        (options.admin_token_file.empty() ? std::string()
                                          : ", token_file: " + options.admin_token_file) +
        (options.admin_extra.empty() ? std::string() : ", " + options.admin_extra) +
        "}\n"
        "defaults:\n"
        "  timeouts: " +
        options.timeouts + "\n";
    if (!options.limits.empty()) {
        yaml += "  limits: " + options.limits + "\n";
    }
    yaml += "frontends:\n"
            "  - name: http\n"
            "    bind: 127.0.0.1:0\n"
            "    default_backend: app_pool\n" +
            options.frontend_extra +
            "backends:\n"
            "  - name: app_pool\n" +
            options.backend_extra + "    servers:\n";
    for (const auto& s : servers) {
        yaml += "      - {name: " + s.name + ", address: " + s.address + "}\n";
    }
    return yaml;
}

std::string run(const std::string& command, int* exit_code) {
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buffer[4096];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) {
        out.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    if (exit_code) {
        *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return out;
}

raw_client::raw_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

raw_client::~raw_client() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void raw_client::send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        sent += static_cast<std::size_t>(n);
    }
}

std::string raw_client::receive_until(const std::function<bool(const std::string&)>& done,
                                      clock::duration timeout) {
    const auto deadline = clock::now() + timeout;
    std::string received = std::move(pending_);
    pending_.clear();
    char buffer[65536];
    while (!done(received)) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) {
            break;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            break;
        }
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) {
            break;
        }
        received.append(buffer, static_cast<std::size_t>(n));
    }
    return received;
}

std::string raw_client::receive_all(clock::duration timeout) {
    return receive_until([](const std::string&) { return false; }, timeout);
}

std::string raw_client::receive_available() {
    std::string received = std::move(pending_);
    pending_.clear();
    char buffer[65536];
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) {
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) {
            break;
        }
        received.append(buffer, static_cast<std::size_t>(n));
    }
    return received;
}

namespace {

// Length of the first complete response in `raw`, or 0 while it is incomplete.
std::size_t complete_response_length(const std::string& raw) {
    const auto end_of_head = raw.find("\r\n\r\n");
    if (end_of_head == std::string::npos) {
        return 0;
    }
    const std::string head = raw.substr(0, end_of_head);
    std::smatch m;
    // Test bodies carry no trailers: a chunked body ends at its last, empty chunk.
    static const std::regex chunked(R"(\r\n[Tt]ransfer-[Ee]ncoding: *chunked)");
    if (std::regex_search(head, m, chunked)) {
        const auto last_chunk = raw.find("\r\n0\r\n\r\n", end_of_head + 2);
        return last_chunk == std::string::npos ? 0 : last_chunk + 7;
    }
    static const std::regex content_length(R"(\r\n[Cc]ontent-[Ll]ength: *(\d+))");
    const bool no_body = head.starts_with("HTTP/1.1 204") || head.starts_with("HTTP/1.1 304") ||
                         head.starts_with("HTTP/1.1 1");
    const std::size_t body =
        no_body
            ? 0
            : (std::regex_search(head, m, content_length) ? std::stoull(m[1]) : std::string::npos);
    if (body == std::string::npos) {
        return 0;
    }
    const std::size_t total = end_of_head + 4 + body;
    return raw.size() >= total ? total : 0;
}

} // namespace

std::string raw_client::receive_response(clock::duration timeout) {
    std::string raw = receive_until(
        [](const std::string& r) { return complete_response_length(r) > 0; }, timeout);
    const std::size_t length = complete_response_length(raw);
    if (length > 0 && length < raw.size()) {
        pending_ = raw.substr(length);
        raw.resize(length);
    }
    return raw;
}

bool raw_client::closed_by_peer(clock::duration timeout) {
    const auto deadline = clock::now() + timeout;
    char buffer[4096];
    while (clock::now() < deadline) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                return true;
            }
        }
    }
    return false;
}

void raw_client::shut_write() {
    ::shutdown(fd_, SHUT_WR);
}

void raw_client::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void raw_client::reset() {
    if (fd_ >= 0) {
        const linger abortive{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
        close();
    }
}

std::map<std::string, double> scrape_metrics(std::uint16_t admin_port) {
    std::map<std::string, double> samples;
    std::istringstream lines(get(admin_port, "/metrics").body);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto space = line.rfind(' ');
        samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return samples;
}

double sample(const std::map<std::string, double>& metrics, const std::string& name) {
    const auto it = metrics.find(name);
    return it == metrics.end() ? 0 : it->second;
}

response parse_response(const std::string& raw) {
    response r;
    const auto end_of_head = raw.find("\r\n\r\n");
    if (!raw.starts_with("HTTP/1.") || raw.size() < 12 || end_of_head == std::string::npos) {
        return r;
    }
    r.status = std::stoi(raw.substr(9, 3));
    r.head = raw.substr(0, end_of_head + 2);
    r.body = raw.substr(end_of_head + 4);
    return r;
}

response get(std::uint16_t port, const std::string& path, const std::string& extra_headers) {
    raw_client client(port);
    client.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers +
                "Connection: close\r\n\r\n");
    return parse_response(client.receive_all());
}

} // namespace fulcrum::testing
