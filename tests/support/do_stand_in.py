#!/usr/bin/env python3
"""A stand-in for DigitalOcean's reserved-IP API and Droplet metadata service, for tests only.

It mirrors what DigitalOcean documents for these requests (API reference
https://docs.digitalocean.com/reference/api/api-reference/ and its OpenAPI source
github.com/digitalocean/openapi, specification/resources/reserved_ips/; metadata reference
https://docs.digitalocean.com/reference/api/metadata/droplet-properties):

  API (HTTPS, certificate given by --cert/--key)
    GET  /v2/reserved_ips/{ip}               200 {"reserved_ip": {"ip", "droplet": null or a
                                             Droplet object with "id", "region", "locked",
                                             "project_id"}, "links": {}}
    POST /v2/reserved_ips/{ip}/actions       {"type": "assign", "droplet_id": N} or
                                             {"type": "unassign"}: 201 {"action": {"id",
                                             "status": "in-progress", "type": "assign_ip" or
                                             "unassign_ip", "started_at", "completed_at": null,
                                             "resource_id", "resource_type": "reserved_ip",
                                             "region", "region_slug"}}
    GET  /v2/reserved_ips/{ip}/actions/{id}  200 {"action": {...}}, status "in-progress",
                                             "completed" or "errored"
  Errors are {"id": ..., "message": ...} as documented: 401 "unauthorized" / "Unable to
  authenticate you." unless the request has "Authorization: Bearer <--token>"; 404
  "not_found" / "The resource you were accessing could not be found." for an unknown IP,
  action or path; 429 "too_many_requests" / "API Rate limit exceeded." with Retry-After
  (seconds; docs.digitalocean.com/notes/2023/api-rate-limit); 422 "unprocessable_entity" for a
  body that is not a valid action (our wording: DigitalOcean documents the status, not the
  text) and, while an action on the IP is pending, "The floating IP already has a pending
  event." (the API's words, github.com/digitalocean/doctl/issues/493). Every API response has
  ratelimit-limit, ratelimit-remaining and ratelimit-reset (Unix time).

  Metadata (plain HTTP, its own port)
    GET /metadata/v1/id                      200, the droplet id as plain text (--metadata-id);
                                             404 for any other path, as the service does.

What is ours rather than DigitalOcean's: an action advances when it is polled, not with time
(in-progress for `action_in_progress_polls` polls, then `action_end`), so that tests are
deterministic; the assignment takes effect (holder changes, the IP unlocks, --on-assign runs)
when the action is first reported "completed".

Scenario (--scenario FILE, JSON, every key optional), for the faults tests need:
  {"post_422": N}                    the next N action POSTs answer 422 ("Droplet already has a
                                     pending event.", the API's words for a busy droplet)
  {"rate_limit": N, "retry_after": S}  the next N API requests answer 429 with Retry-After S
                                     (1), ratelimit-remaining 0 and ratelimit-reset S seconds
                                     ahead; "retry_after": null leaves Retry-After out
  {"unauthorized": N}                the next N API requests answer 401 whatever the token
  {"unauthorized_message": "..."}    the message of those 401s (to test what clients log)
  {"server_error": N}                the next N API requests answer 500
  {"action_in_progress_polls": K}    an action is "in-progress" for its first K polls (0)
  {"action_end": "completed"}        what it is after them: "completed", "errored", or any
                                     other status, which it then keeps

Every request received is written, before it is answered, as one JSON line to --record:
{"at": monotonic seconds, "service": "api" or "metadata", "sni": the TLS server name the
client sent or null, "method", "path", "headers": [[name, value], ...], "body": the body as
text, "json": the body parsed or null}.

Ports: each service binds its --*-bind address (port 0 by default) and the bound ports are
printed as one line on stdout once both listen: "api=PORT metadata=PORT" ("metadata=PORT"
alone with --no-api).

Several nodes: the metadata service answers one id per instance. Run one instance per node
with --no-api --metadata-id ID (e.g. bound to 169.254.169.254:80 in each node's network
namespace) next to one instance that serves the API.

--on-assign PROGRAM [ARG...] (last on the command line) runs PROGRAM ARG... IP DROPLET_ID when
an assign action completes, before the poll that reports it is answered, e.g. to route the
reserved IP to the node that now holds it.

Usage:
  do_stand_in.py --cert server.crt --key server.key --token TOKEN
      [--reserved-ip IP[=DROPLET_ID]]... [--metadata-id ID] [--scenario FILE] [--record FILE]
      [--api-bind HOST:PORT] [--metadata-bind HOST:PORT] [--no-api]
      [--on-assign PROGRAM [ARG...]]
"""

import argparse
import datetime
import http.server
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

REGION = {
    "name": "New York 3",
    "slug": "nyc3",
    "features": ["private_networking", "backups", "ipv6", "metadata"],
    "available": True,
    "sizes": ["s-1vcpu-1gb", "s-1vcpu-2gb"],
}
PROJECT_ID = "746c6152-2fa2-11ed-92d3-27aaa54e4988"


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    """The account: reserved IPs, their holders and actions, and the faults still to inject."""

    def __init__(self, args, scenario):
        self.lock = threading.Lock()
        self.token = args.token
        self.holders = {}  # ip -> droplet id or None
        for entry in args.reserved_ip:
            ip, _, droplet = entry.partition("=")
            self.holders[ip] = int(droplet) if droplet else None
        self.pending = {}  # ip -> action id while an action runs
        self.actions = {}  # id -> {"ip", "type", "droplet_id", "status", "polls", ...}
        self.next_action_id = 2000000001  # beyond 2^31: ids must not be narrowed
        self.metadata_id = args.metadata_id
        self.on_assign = args.on_assign
        self.faults = {
            "post_422": int(scenario.get("post_422", 0)),
            "rate_limit": int(scenario.get("rate_limit", 0)),
            "unauthorized": int(scenario.get("unauthorized", 0)),
            "server_error": int(scenario.get("server_error", 0)),
        }
        self.retry_after = scenario.get("retry_after", 1)
        self.unauthorized_message = scenario.get(
            "unauthorized_message", "Unable to authenticate you.")
        self.in_progress_polls = int(scenario.get("action_in_progress_polls", 0))
        self.action_end = scenario.get("action_end", "completed")
        self.remaining = 5000
        self.record_file = open(args.record, "a", encoding="utf-8") if args.record else None

    def take_fault(self, name):
        if self.faults[name] > 0:
            self.faults[name] -= 1
            return True
        return False

    def record(self, entry):
        if self.record_file:
            self.record_file.write(json.dumps(entry) + "\n")
            self.record_file.flush()


def droplet_object(droplet_id):
    return {
        "id": droplet_id,
        "name": "droplet-%d" % droplet_id,
        "memory": 1024,
        "vcpus": 1,
        "disk": 25,
        "locked": False,
        "status": "active",
        "region": REGION,
        "tags": [],
    }


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service = None  # "api" or "metadata"

    def log_message(self, format, *args):
        sys.stderr.write("do_stand_in: %s %s\n" % (self.service, format % args))

    def body_text(self):
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    def take_request(self):
        text = self.body_text()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        state = self.server.state
        with state.lock:
            state.record({
                "at": time.monotonic(),
                "service": self.service,
                "sni": getattr(self.request, "server_name_indication", None),
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": text,
                "json": parsed,
            })
        return text, parsed

    def send(self, status, body, content_type="application/json", extra=()):
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class MetadataHandler(Handler):
    service = "metadata"

    def do_GET(self):
        self.take_request()
        if self.path == "/metadata/v1/id" and self.server.state.metadata_id is not None:
            self.send(200, str(self.server.state.metadata_id), "text/plain")
        else:
            self.send(404, "404 page not found\n", "text/plain")


class ApiHandler(Handler):
    service = "api"
    ROUTES = [
        ("GET", re.compile(r"^/v2/reserved_ips/([^/]+)$"), "get_reserved_ip"),
        ("POST", re.compile(r"^/v2/reserved_ips/([^/]+)/actions$"), "post_action"),
        ("GET", re.compile(r"^/v2/reserved_ips/([^/]+)/actions/([0-9]+)$"), "get_action"),
    ]

    def setup(self):
        self.request.settimeout(10)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def rate_headers(self, state, limited=False):
        state.remaining = max(state.remaining - 1, 0)
        if limited:
            wait = state.retry_after if state.retry_after is not None else 1
            headers = [("ratelimit-remaining", "0"),
                       ("ratelimit-reset", str(int(time.time()) + wait))]
            if state.retry_after is not None:
                headers.append(("Retry-After", str(state.retry_after)))
        else:
            headers = [("ratelimit-remaining", str(state.remaining)),
                       ("ratelimit-reset", str(int(time.time()) + 60))]
        return [("ratelimit-limit", "5000")] + headers

    def error(self, status, error_id, message):
        with self.server.state.lock:
            headers = self.rate_headers(self.server.state, limited=status == 429)
        self.send(status, {"id": error_id, "message": message}, extra=headers)

    def not_found(self):
        self.error(404, "not_found", "The resource you were accessing could not be found.")

    def handle_any(self):
        _, parsed = self.take_request()
        state = self.server.state
        with state.lock:
            authorized = self.headers.get("Authorization") == "Bearer " + state.token
            if not authorized:
                fault = (401, "unauthorized", "Unable to authenticate you.")
            elif state.take_fault("unauthorized"):
                fault = (401, "unauthorized", state.unauthorized_message)
            elif state.take_fault("rate_limit"):
                fault = (429, "too_many_requests", "API Rate limit exceeded.")
            elif state.take_fault("server_error"):
                fault = (500, "server_error", "Server was unable to give you a response.")
            else:
                fault = None
        if fault:
            self.error(*fault)
            return
        for method, pattern, name in self.ROUTES:
            match = pattern.match(self.path)
            if match and method == self.command:
                getattr(self, name)(parsed, *match.groups())
                return
        self.not_found()

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_DELETE = handle_any

    def reserved_ip_object(self, state, ip):
        holder = state.holders[ip]
        return {
            "ip": ip,
            "droplet": droplet_object(holder) if holder is not None else None,
            "region": REGION,
            "locked": ip in state.pending,
            "project_id": PROJECT_ID,
        }

    def action_object(self, action):
        return {
            "id": action["id"],
            "status": action["status"],
            "type": action["type"] + "_ip",
            "started_at": action["started_at"],
            "completed_at": action["completed_at"],
            "resource_id": int(ipaddress.IPv4Address(action["ip"])),
            "resource_type": "reserved_ip",
            "region": REGION,
            "region_slug": REGION["slug"],
        }

    def get_reserved_ip(self, _parsed, ip):
        state = self.server.state
        with state.lock:
            if ip not in state.holders:
                body = None
            else:
                body = {"reserved_ip": self.reserved_ip_object(state, ip), "links": {}}
                headers = self.rate_headers(state)
        if body is None:
            self.not_found()
        else:
            self.send(200, body, extra=headers)

    def post_action(self, parsed, ip):
        state = self.server.state
        with state.lock:
            known = ip in state.holders
        if not known:
            self.not_found()
            return
        kind = parsed.get("type") if isinstance(parsed, dict) else None
        droplet = parsed.get("droplet_id") if isinstance(parsed, dict) else None
        if kind not in ("assign", "unassign"):
            self.error(422, "unprocessable_entity",
                       "type must be one of: assign, unassign")
            return
        if kind == "assign" and (type(droplet) is not int or droplet <= 0):
            self.error(422, "unprocessable_entity", "droplet_id must be a positive integer")
            return
        with state.lock:
            if state.take_fault("post_422"):
                problem = "Droplet already has a pending event."
            elif ip in state.pending:
                problem = "The floating IP already has a pending event."
            elif kind == "unassign" and state.holders[ip] is None:
                problem = "The reserved IP is not assigned to a Droplet."
            else:
                problem = None
                action = {
                    "id": state.next_action_id, "ip": ip, "type": kind, "droplet_id": droplet,
                    "status": "in-progress", "polls": 0, "started_at": now_iso(),
                    "completed_at": None,
                }
                state.next_action_id += 1
                state.actions[action["id"]] = action
                state.pending[ip] = action["id"]
                body = {"action": self.action_object(action)}
                headers = self.rate_headers(state)
        if problem:
            self.error(422, "unprocessable_entity", problem)
        else:
            self.send(201, body, extra=headers)

    def get_action(self, _parsed, ip, action_id):
        state = self.server.state
        run = None
        with state.lock:
            action = state.actions.get(int(action_id))
            if action is None or action["ip"] != ip:
                action = None
            else:
                action["polls"] += 1
                if action["status"] == "in-progress" and \
                        action["polls"] > state.in_progress_polls:
                    action["status"] = state.action_end
                    if state.action_end in ("completed", "errored"):
                        action["completed_at"] = now_iso()
                        del state.pending[ip]
                    if state.action_end == "completed":
                        assign = action["type"] == "assign"
                        state.holders[ip] = action["droplet_id"] if assign else None
                        if assign and state.on_assign:
                            run = state.on_assign + [ip, str(action["droplet_id"])]
                body = {"action": self.action_object(action)}
                headers = self.rate_headers(state)
        if action is None:
            self.not_found()
            return
        if run:
            finished = subprocess.run(run, check=False, stdout=sys.stderr)
            if finished.returncode != 0:
                sys.stderr.write("do_stand_in: --on-assign exited with %d\n"
                                 % finished.returncode)
        self.send(200, body, extra=headers)


def remember_sni(tls_socket, server_name, _context):
    tls_socket.server_name_indication = server_name


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, bind, handler, state, tls=None):
        host, _, port = bind.rpartition(":")
        host = host.strip("[]")
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.state = state
        self.tls = tls
        super().__init__((host, int(port)), handler)

    def handle_error(self, request, client_address):
        sys.stderr.write("do_stand_in: connection from %s: %s\n"
                         % (client_address[0], sys.exc_info()[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--token")
    parser.add_argument("--reserved-ip", action="append", default=[])
    parser.add_argument("--metadata-id", type=int)
    parser.add_argument("--scenario")
    parser.add_argument("--record")
    parser.add_argument("--api-bind", default="127.0.0.1:0")
    parser.add_argument("--metadata-bind", default="127.0.0.1:0")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--on-assign", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()
    if not args.no_api and not (args.cert and args.key and args.token):
        parser.error("the API needs --cert, --key and --token")
    scenario = {}
    if args.scenario:
        with open(args.scenario, encoding="utf-8") as f:
            scenario = json.load(f)
    state = State(args, scenario)

    servers = []
    ports = []
    if not args.no_api:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        tls.sni_callback = remember_sni
        api = Server(args.api_bind, ApiHandler, state, tls)
        servers.append(api)
        ports.append("api=%d" % api.server_address[1])
    metadata = Server(args.metadata_bind, MetadataHandler, state)
    servers.append(metadata)
    ports.append("metadata=%d" % metadata.server_address[1])
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(" ".join(ports), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
