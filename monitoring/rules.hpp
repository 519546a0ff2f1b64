#pragma once

#include "config/config.hpp"

#include <string>

// The Prometheus recording and alerting rules of a configuration (`fulcrum rules`): the fleet
// view of the SLIs fulcrum computes per process, with each service's own objectives, so that
// the rules and fulcrum's gauges agree (deploy/prometheus/README.md).
namespace fulcrum::monitoring {

struct rules_options {
    // The scrape job of the fulcrum instances: every selector names it, and an instance
    // missing from it is an alert.
    std::string job = "fulcrum";
    // Where docs/runbooks.md is published; each alert links to its section there.
    std::string runbook_base = "docs/runbooks.md";
    // The configuration's path, named in the file's header.
    std::string source;
};

// The rules file, as YAML for Prometheus's rule_files.
std::string prometheus_rules(const config::config& cfg, const rules_options& options);

} // namespace fulcrum::monitoring
