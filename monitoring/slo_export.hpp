#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The configured SLOs written for other SLO tooling (docs/sli.md, "Exporting the SLOs"), so
// that the objectives live in fulcrum's configuration only: OpenSLO v1 documents, or Sloth
// prometheus/v1 specs. Both read the same series as the rules `fulcrum rules` prints.
namespace fulcrum::monitoring {

enum class slo_format { openslo, sloth };

// "openslo" or "sloth"; nullopt for anything else.
std::optional<slo_format> parse_slo_format(std::string_view name);

struct slo_export {
    std::string yaml;                // every document, "---" before each; empty on errors
    std::vector<std::string> errors; // a service whose name the format cannot carry
};

// Every service of config::service_names(cfg), in that order, with its objectives
// (cfg.slo.of(service)); the queries select the series of the scrape job `job`, as the rules of
// `fulcrum rules --job` do.
slo_export export_slos(const config::config& cfg, slo_format format, const std::string& job);

} // namespace fulcrum::monitoring
