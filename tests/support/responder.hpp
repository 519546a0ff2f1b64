#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace fulcrum::testing {

// Stands in for a server only where no real one can be made to misbehave on cue: broken or
// silent responses, and checks that must see the exact request bytes.
// A tiny HTTP server on its own thread: reads a request head, sends the configured bytes,
// closes.
class responder {
public:
    responder() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(fd_, 64) != 0) {
            throw std::runtime_error("responder: cannot listen");
        }
        socklen_t length = sizeof address;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~responder() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }

    void reply(std::string bytes) {
        std::lock_guard lock(mutex_);
        reply_ = std::move(bytes);
    }
    std::string last_request() {
        std::lock_guard lock(mutex_);
        return request_;
    }
    std::optional<std::chrono::steady_clock::time_point> first_request_at() {
        std::lock_guard lock(mutex_);
        return first_at_;
    }
    int requests() const { return requests_.load(); }
    std::uint16_t port() const { return port_; }

private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            const int client = ::accept(fd_, nullptr, nullptr);
            if (client < 0) {
                continue;
            }
            const auto accepted = std::chrono::steady_clock::now();
            std::string request;
            char buffer[4096];
            while (request.find("\r\n\r\n") == std::string::npos) {
                pollfd r{client, POLLIN, 0};
                if (::poll(&r, 1, 2000) <= 0) {
                    break;
                }
                const auto n = ::read(client, buffer, sizeof buffer);
                if (n <= 0) {
                    break;
                }
                request.append(buffer, static_cast<std::size_t>(n));
            }
            std::string bytes;
            {
                std::lock_guard lock(mutex_);
                request_ = request;
                if (!first_at_) {
                    first_at_ = accepted;
                }
                bytes = reply_;
            }
            ++requests_;
            for (std::size_t sent = 0; sent < bytes.size();) {
                const auto n =
                    ::send(client, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
                if (n <= 0) {
                    break;
                }
                sent += static_cast<std::size_t>(n);
            }
            ::close(client);
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
    std::mutex mutex_;
    std::string reply_ = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    std::string request_;
    std::optional<std::chrono::steady_clock::time_point> first_at_;
    std::thread thread_;
};

} // namespace fulcrum::testing
