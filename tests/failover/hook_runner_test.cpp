#include "failover/hook_runner.hpp"

#include "eventually.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace fulcrum::failover {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

hook_request hook(strings argv, config::duration timeout = 30s, config::duration kill_grace = 2s) {
    hook_request request;
    request.name = "on_active";
    request.argv = std::move(argv);
    request.environment = {"PATH=/usr/bin:/bin"};
    request.timeout = timeout;
    request.kill_grace = kill_grace;
    return request;
}

// A temporary directory for the scripts a test writes, removed afterwards.
class hook_runner_test : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fulcrum-hooks-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    std::string script(const std::string& name, const std::string& body,
                       std::filesystem::perms mode = std::filesystem::perms::owner_all) {
        const std::string file = path(name);
        std::ofstream(file) << "#!/bin/sh\n" << body;
        std::filesystem::permissions(file, mode);
        return file;
    }

    // Runs the hook on an io_context of its own until everything it started is done.
    hook_result run(hook_request request) {
        std::optional<hook_result> result;
        asio::co_spawn(context_,
                       run_hook(std::move(request),
                                [this](const std::string& line) { lines_.push_back(line); }),
                       [&](std::exception_ptr e, hook_result r) {
                           if (e) {
                               std::rethrow_exception(e);
                           }
                           result = std::move(r);
                       });
        context_.run();
        context_.restart();
        EXPECT_TRUE(result.has_value());
        return result.value_or(hook_result{});
    }

    // The hook's own output, without the prefix, and without the final line about its end.
    strings output() const {
        strings out;
        const std::string prefix = "hook on_active: ";
        for (const std::string& line : lines_) {
            if (line.starts_with(prefix)) {
                out.push_back(line.substr(prefix.size()));
            }
        }
        return out;
    }

    std::filesystem::path dir_;
    asio::io_context context_;
    strings lines_;
};

TEST_F(hook_runner_test, exit_status_and_output_are_logged) {
    const std::string hook_file = script("fails", "echo moving 203.0.113.10\n"
                                                  "echo 'no route' >&2\n"
                                                  "printf 'no newline at the end'\n"
                                                  "exit 3\n");
    hook_result r = run(hook({hook_file}));
    EXPECT_EQ(r.how, hook_result::status::exited);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(output(), (strings{"moving 203.0.113.10", "no route", "no newline at the end"}));
    ASSERT_FALSE(lines_.empty());
    EXPECT_TRUE(std::regex_match(lines_.back(), std::regex("hook on_active exited 3 in [0-9]+ms")))
        << lines_.back();
    EXPECT_EQ("hook on_active " + r.text, lines_.back());

    lines_.clear();
    r = run(hook({script("works", "exit 0\n")}));
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(std::regex_match(r.text, std::regex("exited 0 in [0-9]+ms"))) << r.text;
    EXPECT_EQ(lines_.size(), 1u);
}

TEST_F(hook_runner_test, arguments_are_passed_as_written_without_a_shell) {
    hook_result r = run(hook({"/usr/bin/printf", "[%s]\\n", "a b", "$HOME; echo x", "", "*"}));
    EXPECT_TRUE(r.ok()) << r.text;
    EXPECT_EQ(output(), (strings{"[a b]", "[$HOME; echo x]", "[]", "[*]"}));
}

TEST_F(hook_runner_test, the_hook_sees_exactly_the_documented_environment) {
    config::failover settings;
    settings.node = "lb-2";
    settings.hooks.on_active = {"/usr/bin/env"};
    settings.hooks.on_fault = {"/usr/bin/env"};
    settings.hooks.timeout = 20s;
    settings.reserved_ip = config::reserved_ip{};
    settings.reserved_ip->address = "203.0.113.10";
    action a{.what = action::kind::run_hook, .hook = hook::on_active, .previous = role::passive};
    hook_request request = make_hook_request(settings, a);
    EXPECT_EQ(request.name, "on_active");
    EXPECT_EQ(request.argv, strings{"/usr/bin/env"});
    EXPECT_EQ(request.timeout, 20s);

    // Not even what this test process has (HOME, the test runner's own variables).
    ::setenv("FULCRUM_TEST_LEAK", "1", 1);
    EXPECT_TRUE(run(request).ok());
    strings seen = output();
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (strings{
                        "FULCRUM_NODE=lb-2",
                        "FULCRUM_PREVIOUS_ROLE=PASSIVE",
                        "FULCRUM_RESERVED_IP=203.0.113.10",
                        "FULCRUM_ROLE=ACTIVE",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    }));

    settings.reserved_ip.reset();
    a.hook = hook::on_fault;
    a.previous = role::active;
    request = make_hook_request(settings, a);
    EXPECT_EQ(request.name, "on_fault");
    request.name = "on_active"; // output() reads the on_active prefix
    lines_.clear();
    EXPECT_TRUE(run(request).ok());
    seen = output();
    EXPECT_NE(std::find(seen.begin(), seen.end(), "FULCRUM_ROLE=FAULT"), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), "FULCRUM_PREVIOUS_ROLE=ACTIVE"), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), "FULCRUM_RESERVED_IP="), seen.end());
}

TEST_F(hook_runner_test, runs_in_the_root_directory_with_no_stdin_and_none_of_our_files) {
    // A descriptor that is not close-on-exec, as Asio's sockets are.
    const std::string held = path("held");
    std::ofstream(held) << "x";
    const int fd = ::open(held.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    hook_result r = run(hook({script("where", "pwd\n"
                                              "cat\n" // stdin: /dev/null, so at once
                                              "ls /proc/self/fd\n")}));
    ::close(fd);
    EXPECT_TRUE(r.ok()) << r.text;
    // pwd; then ls lists 0, 1, 2 and its own directory handle, nothing more.
    const strings out = output();
    ASSERT_GE(out.size(), 4u);
    EXPECT_EQ(out[0], "/");
    EXPECT_EQ(strings(out.begin() + 1, out.begin() + 4), (strings{"0", "1", "2"}));
    EXPECT_LE(out.size(), 5u);
}

TEST_F(hook_runner_test, the_hook_gets_default_signal_handling_whatever_we_ignore) {
    // Servers ignore SIGPIPE; a hook that inherited that would see `yes | head -1` fail with
    // "Broken pipe" instead of ending quietly.
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);
    hook_result r = run(hook({script("pipeline", "yes | head -n 1\n")}));
    ::sigaction(SIGPIPE, &previous, nullptr);
    EXPECT_TRUE(r.ok()) << r.text;
    EXPECT_EQ(output(), strings{"y"});
}

TEST_F(hook_runner_test, a_hook_past_its_timeout_is_killed_with_its_children) {
    const std::string pid_file = path("child.pid");
    const std::string hook_file = script("hangs", "sleep 300 &\n"
                                                  "echo $! > " +
                                                      pid_file +
                                                      "\n"
                                                      "echo waiting\n"
                                                      "wait\n");
    hook_result r = run(hook({hook_file}, 300ms));
    EXPECT_EQ(r.how, hook_result::status::timed_out);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.text, "killed after timeout 300ms");
    EXPECT_EQ(lines_.back(), "hook on_active killed after timeout 300ms");
    EXPECT_EQ(output(), strings{"waiting"});
    EXPECT_GE(r.elapsed, 300ms);
    // The sleep it started was in its process group: gone too (or a zombie until init reaps).
    std::ifstream pid_in(pid_file);
    pid_t child = 0;
    ASSERT_TRUE(pid_in >> child);
    EXPECT_TRUE(testing::eventually([&] {
        std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
        std::string pid_text, name, state;
        return !(stat >> pid_text >> name >> state) || state == "Z";
    })) << "sleep "
        << child << " survived";
}

TEST_F(hook_runner_test, a_hook_that_ignores_sigterm_gets_sigkill_after_the_grace) {
    const std::string hook_file = script("stubborn", "trap '' TERM\n"
                                                     "echo ignoring\n"
                                                     "while :; do sleep 1; done\n");
    hook_result r = run(hook({hook_file}, 200ms, 300ms));
    EXPECT_EQ(r.how, hook_result::status::timed_out);
    EXPECT_EQ(r.text, "killed after timeout 200ms");
    EXPECT_GE(r.elapsed, 500ms);
}

TEST_F(hook_runner_test, a_program_that_cannot_start_is_reported) {
    hook_result r = run(hook({path("missing")}));
    EXPECT_EQ(r.how, hook_result::status::not_started);
    EXPECT_EQ(r.text, "could not start: No such file or directory");
    EXPECT_EQ(lines_, strings{"hook on_active could not start: No such file or "
                              "directory"});

    lines_.clear();
    r = run(
        hook({script("not-executable", "exit 0\n",
                     std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)}));
    EXPECT_EQ(r.text, "could not start: Permission denied");
}

TEST_F(hook_runner_test, a_hook_killed_by_a_signal_says_which) {
    hook_result r = run(hook({script("crashes", "kill -KILL $$\n")}));
    EXPECT_EQ(r.how, hook_result::status::signalled);
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_TRUE(
        std::regex_match(r.text, std::regex("killed by signal 9 \\(Killed\\) after [0-9]+ms")))
        << r.text;
}

TEST_F(hook_runner_test, output_is_bounded) {
    hook_result r = run(hook({script("chatty", "head -c 5000 /dev/zero | tr '\\0' x\n"
                                               "echo\n"
                                               "printf 'a\\tb\\033[31mred\\n'\n"
                                               "seq 1 200\n")}));
    EXPECT_TRUE(r.ok()) << r.text;
    const strings out = output();
    ASSERT_EQ(out.size(), 101u);
    EXPECT_EQ(out[0], std::string(1000, 'x') + " [cut at 1000 bytes]");
    EXPECT_EQ(out[1], "a\tb?[31mred");
    EXPECT_EQ(out[2], "1");
    EXPECT_EQ(out[99], "98");
    EXPECT_EQ(out[100], "[more than 100 lines: the rest is not logged]");
}

TEST_F(hook_runner_test, a_child_left_holding_the_output_does_not_hold_the_result) {
    const std::string pid_file = path("child.pid");
    const std::string hook_file = script("daemonises", "sleep 300 &\n"
                                                       "echo $! > " +
                                                           pid_file + "\necho started\nexit 0\n");
    const auto began = std::chrono::steady_clock::now();
    hook_result r = run(hook({hook_file}, 60s));
    EXPECT_TRUE(r.ok()) << r.text;
    EXPECT_EQ(output(), strings{"started"});
    // Well before the 300 s sleep ends, or the 60 s timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - began, 30s);
    std::ifstream pid_in(pid_file);
    pid_t child = 0;
    ASSERT_TRUE(pid_in >> child);
    ::kill(child, SIGKILL);
}

TEST_F(hook_runner_test, the_io_context_keeps_running_while_a_hook_runs) {
    // The hook waits for a file that only a timer on the same io_context creates: if waiting
    // for the hook blocked the io_context, the hook would run into its timeout.
    const std::string flag = path("flag");
    const std::string hook_file =
        script("waits", "while [ ! -e " + flag + " ]; do sleep 0.01; done\necho saw it\n");
    asio::steady_timer timer(context_, 50ms);
    timer.async_wait([&](boost::system::error_code) { std::ofstream(flag) << "x"; });
    hook_result r = run(hook({hook_file}, 20s));
    EXPECT_TRUE(r.ok()) << r.text;
    EXPECT_EQ(output(), strings{"saw it"});
}

} // namespace
} // namespace fulcrum::failover
