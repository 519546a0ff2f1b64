#include "tls/check.hpp"

#include "tls/client_context.hpp"
#include "tls/server_contexts.hpp"

namespace fulcrum::tls {

check_result check(const config::config& cfg, std::chrono::system_clock::time_point now) {
    check_result result;
    for (const auto& frontend : cfg.frontends) {
        if (!frontend.tls) {
            continue;
        }
        // Every certificate on its own first, so that each broken one is reported.
        bool loaded = true;
        for (const auto& files : frontend.tls->certificates) {
            try {
                certificate::load(files);
            } catch (const std::runtime_error& e) {
                result.errors.push_back(setting_error(files.origin, e.what()).diagnostic());
                loaded = false;
            }
        }
        if (!loaded) {
            continue;
        }
        try {
            const server_contexts contexts(*frontend.tls);
            for (const auto& c : contexts.certificates()) {
                const auto warn = [&](const std::string& message) {
                    result.warnings.push_back(
                        {c.origin.file, c.origin.line, c.origin.column, c.origin.path, message});
                };
                if (c.not_after < now) {
                    warn("the certificate for " + c.name + " expired on " + utc_text(c.not_after) +
                         ": clients will refuse it");
                } else if (c.not_before > now) {
                    warn("the certificate for " + c.name + " is not valid before " +
                         utc_text(c.not_before) + ": clients will refuse it until then");
                }
            }
        } catch (const setting_error& e) {
            result.errors.push_back(e.diagnostic());
        }
    }
    for (const auto& backend : cfg.backends) {
        try {
            if (backend.tls) {
                const client_context context(*backend.tls);
            }
        } catch (const setting_error& e) {
            result.errors.push_back(e.diagnostic());
        }
    }
    return result;
}

} // namespace fulcrum::tls
