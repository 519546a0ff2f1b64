#!/usr/bin/env python3
"""Runs every query of a Grafana dashboard through a Prometheus HTTP API, until each returns
data for the services it must cover or a deadline passes; then names the panels that did not.

Usage: dashboard_queries.py DASHBOARD PROMETHEUS_URL SERVICES LATENCY_SERVICES SECONDS
  SERVICES, LATENCY_SERVICES: comma-separated service names the fulcrum under test configures
  (the second: those with slo.latency).

Grafana's variables are replaced as Grafana would: $service by the regex of the configured
services (what selecting them all sends), $instance by .*, $__rate_interval by 1m. A query
fails on an error, an empty result or NaN everywhere; a query whose series carry a `service`
label must have one for each service (the latency services only, when the query reads a
latency metric). The template variables' label_values() queries must list every service.
"""

import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def panels_of(panels):
    """Every panel, including those inside rows (collapsed rows nest theirs)."""
    for panel in panels:
        yield panel
        yield from panels_of(panel.get("panels", []))


def substitute(expr, values):
    """$name, ${name} and [[name]] as Grafana replaces them; unknown names stay as written (as
    Grafana leaves them), so label_replace's ${1} survives."""
    def replace(match):
        name = next(g for g in match.groups() if g is not None)
        return values.get(name, match.group(0))
    return re.sub(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]", replace, expr)


def get(base, path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        return json.load(e)


def check_query(base, expr, services):
    """None when the query returns data for every service it must cover, else why not."""
    answer = get(base, "/api/v1/query", {"query": expr})
    if answer.get("status") != "success":
        return f"error: {answer.get('errorType')}: {answer.get('error')}"
    result = answer["data"]["result"]
    if not result:
        return "empty result"
    values = [float(r["value"][1]) for r in result]
    if all(math.isnan(v) for v in values):
        return "NaN only"
    seen = {r["metric"]["service"] for r in result if "service" in r["metric"]}
    if seen and not services <= seen:
        return f"no series for {sorted(services - seen)} (got {sorted(seen)})"
    return None


def check_variables(base, dashboard, values, services):
    """Each query variable's label_values(SELECTOR, LABEL) through the label values API."""
    problems = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        query = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", substitute(query, values))
        if not match:
            problems[f"variable {variable['name']}"] = f"not label_values(SELECTOR, LABEL): {query}"
            continue
        selector, label = match.groups()
        answer = get(base, f"/api/v1/label/{label}/values", {"match[]": selector})
        found = set(answer.get("data") or [])
        want = services if label == "service" else set()
        if answer.get("status") != "success" or not found or not want <= found:
            problems[f"variable {variable['name']}"] = f"{query} gave {sorted(found)}"
    return problems


def check_shape(dashboard):
    """What an import needs: the data source as a variable, and every panel explained."""
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    if variables.get("datasource", {}).get("type") != "datasource":
        sys.exit("FAIL: no data source variable named datasource")
    ids = [p["id"] for p in panels_of(dashboard["panels"])]
    if len(ids) != len(set(ids)):
        sys.exit(f"FAIL: panel ids repeat: {sorted(ids)}")
    for panel in panels_of(dashboard["panels"]):
        if panel["type"] == "row":
            continue
        if not panel.get("description") or not panel.get("targets"):
            sys.exit(f"FAIL: panel '{panel['title']}' has no description or no query")
        if panel["datasource"]["uid"] != "${datasource}":
            sys.exit(f"FAIL: panel '{panel['title']}' does not use the datasource variable")


def main():
    path, base, services, latency_services, seconds = sys.argv[1:]
    services = set(services.split(","))
    latency_services = set(latency_services.split(","))
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    values = {"service": "(" + "|".join(sorted(services)) + ")", "instance": ".*",
              "__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
    check_shape(dashboard)
    queries = []
    for panel in panels_of(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], values)
            if "$" in expr.replace("${1}", ""):
                sys.exit(f"FAIL: panel '{panel['title']}': a variable left in {expr}")
            wanted = latency_services if "latency" in target["expr"] else services
            queries.append((f"panel '{panel['title']}' {target['refId']}", expr, wanted))
    started = time.monotonic()
    deadline = started + float(seconds)
    while True:
        problems = check_variables(base, dashboard, values, services)
        for name, expr, wanted in queries:
            why = check_query(base, expr, wanted)
            if why:
                problems[name] = f"{why}\n    {expr}"
        if not problems:
            print(f"ok: {len(queries)} queries of {path} return data for {sorted(services)} "
                  f"(after {time.monotonic() - started:.1f} s)")
            return
        if time.monotonic() > deadline:
            for name, why in problems.items():
                print(f"FAIL: {name}: {why}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.5)


if __name__ == "__main__":
    main()
