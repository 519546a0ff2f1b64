// A session whose request hits an allocation that fails (memory exhausted) closes its
// connection cleanly: the request is metered as a 500, the open-connection count comes back,
// and the worker goes on serving. The failure is real: this program's operator new fails
// large allocations while a test asks it to.

#include "health/server_states.hpp"
#include "proxy/engine.hpp"
#include "sli/meter.hpp"

#include "eventually.hpp"

#include "counting_new.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

using namespace fulcrum::testing::counting_new;

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using fulcrum::testing::eventually;

// Sends `request` on a new connection and returns everything read until the server closes.
std::string round_trip(std::uint16_t port, const std::string& request) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    // The server may close before it has read everything: no exception for that.
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(request), ec);
    std::string reply;
    asio::read(socket, asio::dynamic_buffer(reply), ec);
    return reply;
}

TEST(session_failure, out_of_memory_in_a_request_closes_it_and_the_worker_goes_on) {
    // The server's port is closed: a request that gets that far is answered 503 by fulcrum.
    const auto loaded = fulcrum::config::load_string(R"(frontends:
  - name: http
    bind: 127.0.0.1:0
    default_backend: app_pool
    limits: {max_head_bytes: 1m}
backends:
  - name: app_pool
    servers: [{name: a, address: 127.0.0.1:1}]
)",
                                                     "t.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.errors[0].to_string();
    auto rt = std::make_shared<const fulcrum::proxy::runtime>(loaded.value);
    fulcrum::sli::meter meter(rt->cfg, 1);
    fulcrum::health::server_states states(rt->cfg);
    fulcrum::proxy::engine engine(rt, meter, states, 1,
                                  fulcrum::proxy::plan_descriptors(rt->cfg, 1, 4096), {});
    engine.listen();
    engine.start();
    const auto port = engine.listeners().at(0).address.port();

    // A head of 200 KiB grows its storage past 64 KiB, which fails.
    std::string request = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 200; ++i) {
        request += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n";
    }
    request += "\r\n";
    fail_over_bytes = 64 * 1024;
    const std::string reply = round_trip(port, request);
    fail_over_bytes = 0;
    EXPECT_EQ(reply, "") << "closed without an answer, which would need memory too";
    EXPECT_TRUE(eventually([&] { return engine.open_connections() == 0; }))
        << engine.open_connections() << " connections still counted open";
    EXPECT_TRUE(eventually([&] { return meter.service_total(0, 500) == 1; }));

    // The worker serves the next connection.
    const std::string next = round_trip(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(next.substr(0, 12), "HTTP/1.1 503") << next;
    EXPECT_TRUE(eventually([&] { return engine.open_connections() == 0; }));
    engine.drain();
    engine.stop();
}

} // namespace
