#pragma once

// Real processes on loopback for the integration tests: nginx backends, the fulcrum binary,
// curl, a raw-socket client and helper programs (the Python servers and clients in
// tests/support). Everything waits by polling with a deadline, never by sleeping a fixed time.

#include "eventually.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fulcrum::testing {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);

// A port that was free a moment ago, for programs that cannot bind port 0 and report it
// (nginx). fulcrum itself binds port 0 and logs the port it got.
std::uint16_t unused_port();

// A loopback port that accepts connections in the kernel's backlog and never reads from
// them: what a hung server looks like from outside.
class silent_listener {
public:
    silent_listener();
    ~silent_listener();
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A child process with stdout and stderr going to a file.
class process {
public:
    process(const std::vector<std::string>& argv, const std::filesystem::path& log);
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig) const;
    // The exit status (or 128 + signal) once the process has ended within `timeout`.
    std::optional<int> wait(clock::duration timeout);
    bool running();
    std::string log() const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path log_;
};

// A program whose output (stdout and stderr) goes to a file of its own, read back as it runs.
class program {
public:
    explicit program(const std::vector<std::string>& argv);
    process& proc() { return *proc_; }
    std::string output() const { return proc_->log(); }
    // Waits until the program has printed `text`; false when it has not within `timeout`, or
    // has ended without printing it.
    bool printed(const std::string& text, clock::duration timeout = 10s);

private:
    temp_dir dir_;
    std::optional<process> proc_;
};

// A server program that binds 127.0.0.1 port 0 and prints the port it got on a line of its own
// (the Python servers in tests/support): started, and its port read back. Throws when no port
// is printed within 10 s.
class helper_server : public program {
public:
    explicit helper_server(const std::vector<std::string>& argv);
    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    std::uint16_t port_ = 0;
};

// The command line running tests/support/<name> with Debian's /usr/bin/python3, the Python
// that has python3-websockets (the `python3` on PATH may not).
std::vector<std::string> support_script(const std::string& name,
                                        const std::vector<std::string>& args = {});

// Resident memory of a process in KiB: current (VmRSS) and peak (VmHWM).
std::uint64_t rss_kib(pid_t pid);
std::uint64_t peak_rss_kib(pid_t pid);

// One nginx on 127.0.0.1 as an app server. Every response says which server answered:
//   /            "<name>\n"                        (and any path not listed below)
//   /xff         "<X-Forwarded-For>|<X-Forwarded-Proto>|<Host>|<Connection>|<Upgrade>\n"
//   /uri/...     "<name> <request uri>\n"
//   /sleep       waits 2 s (echo_sleep), then "<name> slept\n"
//   /empty       204
//   /status/404, /status/500, /status/503   that status
//   /slow        waits 350 ms, then "<name> slow\n"
//   /big         the file big.bin of size `big_file_bytes` (sparse)
//   /upload/...  PUT stores the body (WebDAV), so the test can check what arrived
// The access log records "$connection $request_uri $status" per request.
class nginx_backend {
public:
    // `http_directives` go into nginx's http block, e.g. "keepalive_timeout 300ms;".
    explicit nginx_backend(std::string name, std::uint64_t big_file_bytes = 1024 * 1024,
                           const std::string& http_directives = "");
    ~nginx_backend();

    const std::string& name() const { return name_; }
    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::filesystem::path upload_dir() const { return dir_.path() / "www" / "upload"; }
    std::vector<std::string> access_log() const;
    // Requests nginx is answering right now (stub_status "Writing", less the status request).
    int requests_in_progress() const;
    // SIGTERM lets nginx finish; SIGKILL is a crash, cutting requests in flight.
    void stop(int sig = 15);
    // Starts nginx again, on the same port.
    void restart();

private:
    void launch();

    std::string name_;
    temp_dir dir_;
    std::uint16_t port_ = 0;
    std::optional<process> nginx_;
};

// The real fulcrum binary with a YAML config. `{backend_servers}`-style substitution is the
// caller's business; fulcrum binds 127.0.0.1:0 and reports its ports on stderr, read back
// here.
class fulcrum_process {
public:
    // `descriptor_limit`: the child's RLIMIT_NOFILE, soft and hard (set by util-linux's
    // prlimit before fulcrum starts); none: the test's own.
    explicit fulcrum_process(const std::string& yaml,
                             std::optional<unsigned> descriptor_limit = std::nullopt);
    ~fulcrum_process();

    // The first plain-HTTP port of the frontend, and the first of its tls.bind.
    std::uint16_t port(const std::string& frontend = "http") const;
    std::uint16_t tls_port(const std::string& frontend = "http") const;
    std::uint16_t admin_port() const { return admin_port_; }
    pid_t pid() const { return proc_->pid(); }
    process& proc() { return *proc_; }
    std::string log() const { return proc_->log(); }

private:
    temp_dir dir_;
    std::optional<process> proc_;
    struct listener {
        std::string frontend;
        std::uint16_t port;
        bool tls;
    };
    std::uint16_t port_of(const std::string& frontend, bool tls) const;

    std::vector<listener> ports_;
    std::uint16_t admin_port_ = 0;
};

struct server_entry {
    std::string name;
    std::string address;
};
struct config_options {
    std::string timeouts = "{connect: 1s, client: 5s, server: 5s, http_request: 5s, keepalive: 5s}";
    std::string limits;           // YAML map for defaults.limits, empty for the defaults
    std::string frontend_extra;   // further keys of the frontend, indented 4 spaces
    std::string backend_extra;    // further keys of the backend, indented 4 spaces
    std::string admin_token_file; // admin.token_file, empty for none
    std::string admin_bind = "127.0.0.1:0";
    std::string admin_extra; // further keys of admin, e.g. "timeouts: {keepalive: 1s}"
    std::string shutdown_grace = "5s";
    std::string global_extra; // further keys of global, e.g. "state_dir: /tmp/x"
    int threads = 2;
};
// A config with one frontend "http" on 127.0.0.1:0 and one backend "app_pool".
std::string config_yaml(const std::vector<server_entry>& servers,
                        const config_options& options = {});

// Runs a command, returns its stdout; `exit_code` receives its status.
std::string run(const std::string& command, int* exit_code = nullptr);

// A blocking TCP client for raw bytes, every read bounded by a deadline.
class raw_client {
public:
    explicit raw_client(std::uint16_t port);
    ~raw_client();
    bool connected() const { return fd_ >= 0; }
    void send(const std::string& bytes);
    // Reads until `done(received)` holds, the peer closes, or the timeout passes.
    std::string receive_until(const std::function<bool(const std::string&)>& done,
                              clock::duration timeout = 10s);
    // Reads until the peer closes the connection.
    std::string receive_all(clock::duration timeout = 10s);
    // What has arrived so far, without waiting.
    std::string receive_available();
    // Reads one complete response (Content-Length or chunked framing, or up to close).
    std::string receive_response(clock::duration timeout = 10s);
    bool closed_by_peer(clock::duration timeout = 5s);
    // Half-closes: shutdown(SHUT_WR) sends a FIN, and the client can still read.
    void shut_write();
    // Closes the socket as a program exiting does: a FIN (or an RST if received bytes are
    // still unread, as the kernel decides).
    void close();
    // Closes with an RST (SO_LINGER {1, 0}), as a crashed or impatient client may.
    void reset();

private:
    int fd_ = -1;
    std::string pending_;
};

struct response {
    int status = 0;
    std::string head;
    std::string body;
};
// Splits one response; status 0 when `raw` holds none.
response parse_response(const std::string& raw);

// Every sample of fulcrum's GET /metrics on the admin port, "name{labels}" -> value.
std::map<std::string, double> scrape_metrics(std::uint16_t admin_port);
// One sample of a scrape, 0 when it has no such line (a labelled counter such as
// fulcrum_http_requests_total{code} appears with its first count).
double sample(const std::map<std::string, double>& metrics, const std::string& name);

// One request on a fresh connection ("Connection: close"), returning the parsed response.
response get(std::uint16_t port, const std::string& path, const std::string& extra_headers = "");

} // namespace fulcrum::testing
