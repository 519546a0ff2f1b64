#!/usr/bin/python3
"""`fulcrum slo export` checked from outside, with the real binary.

    export_test.py FULCRUM schemas   every document against the OpenSLO v1 and Sloth schemas
                                     (openslo_v1.schema.json, sloth_v1.schema.json), references
                                     resolved, each service's objectives, PromQL through promtool
    export_test.py FULCRUM series    every series the queries select exists in the /metrics of
                                     fulcrum running with the same configuration
    export_test.py FULCRUM cli       exit codes and messages of usage, configuration and name
                                     errors
    export_test.py - check FORMAT FILE
                                     the schema checks of one saved export (to try an edit by hand)

Debian's python3 (python3-yaml, python3-jsonschema).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

# Two services at different objectives, one with a latency SLI; servers that do not answer,
# since only the series' names and labels matter here.
CONFIG = """\
admin:
  bind: 127.0.0.1:0
frontends:
  - name: http
    bind: [127.0.0.1:0]
    default_backend: app_pool
    routes:
      - {path_prefix: /search, backend: search}
backends:
  - name: app_pool
    servers: [{name: a, address: 127.0.0.1:9}]
  - name: search
    servers: [{name: a, address: 127.0.0.1:9}]
slo:
  objective: 99.9
  services:
    search:
      objective: 99
      latency: {threshold: 250ms, objective: 99.5}
"""

# What the configuration above promises, by OpenSLO SLO name and by Sloth (service, SLO).
OPENSLO_TARGETS = {"app-pool-availability": 0.999, "search-availability": 0.99,
                   "search-latency": 0.995}
SLOTH_OBJECTIVES = {("app_pool", "requests-availability"): 99.9,
                    ("search", "requests-availability"): 99,
                    ("search", "requests-latency"): 99.5}


def schema(name):
    with open(os.path.join(HERE, name)) as f:
        return jsonschema.Draft7Validator(json.load(f))


def export(fulcrum, config_path, fmt):
    run = subprocess.run([fulcrum, "slo", "export", "-c", config_path, "--format", fmt],
                         capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        sys.exit(f"fulcrum slo export --format {fmt}: exit {run.returncode}: {run.stderr}")
    return run.stdout


def schema_errors(validator, docs, label):
    errors = []
    for i, doc in enumerate(docs):
        for e in validator.iter_errors(doc):
            where = "/".join(str(p) for p in e.absolute_path) or "(document)"
            errors.append(f"document {i} ({label(doc)}): {where}: {e.message}")
    return errors


def openslo_errors(text):
    docs = list(yaml.safe_load_all(text))
    if not docs:
        return ["no documents"]
    errors = schema_errors(schema("openslo_v1.schema.json"), docs,
                           lambda d: f"{d.get('kind')} {d.get('metadata', {}).get('name')}")
    if errors:
        return errors
    names = {}
    for d in docs:
        key = (d["kind"], d["metadata"]["name"])
        if key in names:
            errors.append(f"{key[0]} {key[1]} twice")
        names[key] = d

    def resolves(kind, name, by):
        if (kind, name) not in names:
            errors.append(f"{by}: no {kind} named {name}")

    for (kind, name), d in names.items():
        spec = d["spec"]
        if kind == "SLO":
            resolves("Service", spec["service"], f"SLO {name}")
            resolves("SLI", spec["indicatorRef"], f"SLO {name}")
            for ref in spec.get("alertPolicies", []):
                resolves("AlertPolicy", ref["alertPolicyRef"], f"SLO {name}")
            target = spec["objectives"][0]["target"]
            if OPENSLO_TARGETS.get(name) != target:
                errors.append(f"SLO {name}: target {target}, configured "
                              f"{OPENSLO_TARGETS.get(name)}")
        if kind == "AlertPolicy":
            for ref in spec["notificationTargets"]:
                resolves("AlertNotificationTarget", ref["targetRef"], f"AlertPolicy {name}")
    slos = {name for (kind, name) in names if kind == "SLO"}
    if slos != set(OPENSLO_TARGETS):
        errors.append(f"SLOs {sorted(slos)}, configured {sorted(OPENSLO_TARGETS)}")
    return errors


def sloth_errors(text):
    docs = list(yaml.safe_load_all(text))
    if not docs:
        return ["no documents"]
    errors = schema_errors(schema("sloth_v1.schema.json"), docs,
                           lambda d: f"service {d.get('service')}")
    if errors:
        return errors
    objectives = {}
    for d in docs:
        for slo in d["slos"]:
            key = (d["service"], slo["name"])
            if key in objectives:
                errors.append(f"service {key[0]}: SLO {key[1]} twice")
            objectives[key] = slo["objective"]
            events = slo["sli"]["events"]
            if events["error_query"] == events["total_query"]:
                errors.append(f"{key}: the error and total queries are the same")
    if objectives != SLOTH_OBJECTIVES:
        errors.append(f"objectives {objectives}, configured {SLOTH_OBJECTIVES}")
    return errors


def queries(openslo_text, sloth_text):
    """Every query of both exports, Sloth's {{.window}} made a real range."""
    out = []
    for d in yaml.safe_load_all(openslo_text):
        for part in d["spec"].get("ratioMetric", {}).values():
            if isinstance(part, dict):
                out.append(part["metricSource"]["spec"]["query"])
    for d in yaml.safe_load_all(sloth_text):
        for slo in d["slos"]:
            for q in slo["sli"]["events"].values():
                out.append(re.sub(r"\{\{ *\.window *\}\}", "5m", q))
    return out


def promql_errors(all_queries, workdir):
    """promtool parses each query as a recording rule's expression."""
    rules = {"groups": [{"name": "export", "rules": [
        {"record": f"export:query{i}", "expr": q} for i, q in enumerate(all_queries)]}]}
    path = os.path.join(workdir, "queries.rules.yml")
    with open(path, "w") as f:
        yaml.safe_dump(rules, f)
    run = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    return [] if run.returncode == 0 else [f"promtool: {run.stdout}{run.stderr}"]


def check_schemas(fulcrum, config_path, workdir):
    openslo_text = export(fulcrum, config_path, "openslo")
    sloth_text = export(fulcrum, config_path, "sloth")
    errors = [f"openslo: {e}" for e in openslo_errors(openslo_text)]
    errors += [f"sloth: {e}" for e in sloth_errors(sloth_text)]
    if not errors:
        errors += promql_errors(queries(openslo_text, sloth_text), workdir)
    return errors


def admin_port(process, deadline):
    """The admin listener's port, from fulcrum's log line."""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(r"admin listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found.group(1))
    sys.exit("fulcrum did not log its admin listener")


def exposed_series(fulcrum, config_path):
    """(name, labels) of every sample on fulcrum's /metrics."""
    process = subprocess.Popen([fulcrum, "-c", config_path], stderr=subprocess.PIPE, text=True)
    try:
        port = admin_port(process, time.monotonic() + 10)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=20)
    series = set()
    for line in text.splitlines():
        found = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
        if found:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
            series.add((found.group(1), labels))
    return series


def check_series(fulcrum, config_path):
    """Each selector of the exports matches a series fulcrum exposes from its start."""
    openslo_text = export(fulcrum, config_path, "openslo")
    sloth_text = export(fulcrum, config_path, "sloth")
    exposed = exposed_series(fulcrum, config_path)
    errors = []
    selectors = set()
    for q in queries(openslo_text, sloth_text):
        selectors.update(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", q))
    if not selectors:
        return ["no selectors in the exports"]
    for name, matchers in sorted(selectors):
        # job is the label Prometheus adds at the scrape.
        wanted = {m for m in re.findall(r'(\w+)="([^"]*)"', matchers) if m[0] != "job"}
        if not any(n == name and wanted <= labels for n, labels in exposed):
            errors.append(f"{name}{{{matchers}}}: no such series on /metrics")
    return errors


def cli_errors(fulcrum, config_path, workdir):
    """What an operator sees for each mistake: exit code, message, and nothing on stdout."""
    def write(name, text):
        path = os.path.join(workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    broken = write("broken.yaml", CONFIG.replace("objective: 99\n", "objective: 100\n"))
    # A service named "a": a valid fulcrum name, too short for Sloth's names.
    short = write("short.yaml", CONFIG.replace("app_pool", "a"))
    cases = [
        (["--format", "yaml"], config_path, 2, "--format 'yaml': expected openslo or sloth"),
        ([], config_path, 2, "slo export needs --format openslo or --format sloth"),
        (["--format", "sloth"], broken, 2, "broken.yaml:18:18: slo.services.search.objective"),
        (["--format", "sloth"], short, 1, "service 'a': a Sloth service name has 2 characters"),
        (["--format", "openslo"], short, 0, ""),
    ]
    errors = []
    for args, path, code, message in cases:
        run = subprocess.run([fulcrum, "slo", "export", "-c", path] + args, capture_output=True,
                             text=True, timeout=30)
        what = f"slo export -c {os.path.basename(path)} {' '.join(args)}"
        if run.returncode != code or message not in run.stderr:
            errors.append(f"{what}: exit {run.returncode}, stderr {run.stderr!r}; expected exit "
                          f"{code} and {message!r}")
        if code != 0 and run.stdout:
            errors.append(f"{what}: wrote {run.stdout!r} although it failed")
    run = subprocess.run([fulcrum, "slo", "-c", config_path], capture_output=True, text=True)
    if run.returncode != 2 or "slo needs export" not in run.stderr:
        errors.append(f"slo without export: exit {run.returncode}, stderr {run.stderr!r}")
    return errors


def main():
    if len(sys.argv) == 5 and sys.argv[2] == "check":
        with open(sys.argv[4]) as f:
            text = f.read()
        errors = (openslo_errors if sys.argv[3] == "openslo" else sloth_errors)(text)
    elif len(sys.argv) == 3 and sys.argv[2] in ("schemas", "series", "cli"):
        with tempfile.TemporaryDirectory() as workdir:
            config_path = os.path.join(workdir, "fulcrum.yaml")
            with open(config_path, "w") as f:
                f.write(CONFIG)
            if sys.argv[2] == "schemas":
                errors = check_schemas(sys.argv[1], config_path, workdir)
            elif sys.argv[2] == "cli":
                errors = cli_errors(sys.argv[1], config_path, workdir)
            else:
                errors = check_series(sys.argv[1], config_path)
    else:
        sys.exit(__doc__)
    for e in errors:
        print(e)
    print("FAIL" if errors else "ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
