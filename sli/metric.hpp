#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

// The pieces every Collectable of fulcrum builds its families from at scrape time.
namespace fulcrum::sli {

using metric_labels = std::vector<prometheus::ClientMetric::Label>;

inline prometheus::MetricFamily metric_family(std::string name, std::string help,
                                              prometheus::MetricType type) {
    return {std::move(name), std::move(help), type, {}};
}

inline prometheus::ClientMetric gauge_sample(metric_labels labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    return m;
}

inline prometheus::ClientMetric counter_sample(metric_labels labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    return m;
}

} // namespace fulcrum::sli
