#!/usr/bin/env python3
"""Judges a testssl.sh scan (its flat JSON, --jsonfile) of a frontend that serves an ECDSA
P-256 and an RSA 2048 certificate side by side with fulcrum's default TLS settings.

Usage: testssl_verdict.py JSONFILE     (prints the findings that fail, exit 1 if any)
       testssl_verdict.py --self-test  (the judgement of made-up scans that must fail or pass)

A scan fails on:
- any finding testssl rates HIGH or CRITICAL, or FATAL (the scan itself broke);
- a protocol offered other than TLS 1.2 and 1.3, or either of those two not offered, or a
  protocol testssl did not report on;
- a cipher offered outside the documented profile (docs/tls.md: Mozilla "intermediate"
  without DHE, which needs DH parameters fulcrum does not load), or one of the profile's
  ciphers not offered: with both certificates, an ECDHE-RSA-only client must get the RSA one.
The whole JSON is read, not a --severity filtered one: the protocol and cipher rows are INFO
or OK.
"""

import json
import sys

PROFILE = {
    "TLS 1.2": {
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    },
    "TLS 1.3": {
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    },
}
# testssl's ids of the protocol rows, and whether each must be offered.
PROTOCOLS = {"SSLv2": False, "SSLv3": False, "TLS1": False, "TLS1_1": False,
             "TLS1_2": True, "TLS1_3": True}
FAILING = {"HIGH", "CRITICAL", "FATAL"}


def offered(finding):
    """testssl's protocol rows say "offered", "offered with final", "not offered", ..."""
    return finding.startswith("offered")


def problems(findings):
    out = []
    seen_protocols = {}
    ciphers = {protocol: set() for protocol in PROFILE}
    for f in findings:
        fid, severity, text = f.get("id", ""), f.get("severity", ""), f.get("finding", "")
        if severity in FAILING:
            out.append(f"{fid}: rated {severity}: {text}")
        if fid in PROTOCOLS:
            seen_protocols[fid] = text
        elif fid.startswith("cipher-"):
            # "TLS 1.2   xc02c   ECDHE-ECDSA-AES256-GCM-SHA384   ECDH 253   AESGCM   256   ..."
            words = text.split()
            protocol, name = " ".join(words[:2]), words[3] if len(words) > 3 else text
            if protocol not in ciphers:
                out.append(f"{fid}: a cipher offered over {protocol}: {name}")
            else:
                ciphers[protocol].add(name)
    for protocol, wanted in PROTOCOLS.items():
        if protocol not in seen_protocols:
            out.append(f"{protocol}: testssl did not report on it (the scan is incomplete)")
        elif offered(seen_protocols[protocol]) != wanted:
            out.append(f"{protocol}: {seen_protocols[protocol]} (the profile: "
                       f"{'offered' if wanted else 'not offered'})")
    for protocol, names in PROFILE.items():
        for name in sorted(ciphers[protocol] - names):
            out.append(f"{protocol}: {name} offered, outside the profile")
        for name in sorted(names - ciphers[protocol]):
            out.append(f"{protocol}: {name} of the profile not offered")
    return out


def row(fid, finding, severity="INFO"):
    return {"id": fid, "severity": severity, "finding": finding}


def self_test():
    """The judgement on made-up scans: a clean one passes, each kind of defect fails."""
    clean = [row(p, "offered" if want else "not offered") for p, want in PROTOCOLS.items()]
    clean += [row(f"cipher-{p}-{n}", f"{p}   x0000   {n}   ECDH 253   AESGCM   128   {n}")
              for p, names in PROFILE.items() for n in names]
    cases = {
        "clean": (clean, 0),
        "a HIGH finding": (clean + [row("heartbleed", "VULNERABLE", "HIGH")], 1),
        "TLS 1.0 offered": ([r for r in clean if r["id"] != "TLS1"] + [row("TLS1", "offered")],
                            1),
        "TLS 1.3 missing": ([r for r in clean if r["id"] != "TLS1_3"], 1),
        "a CBC cipher": (clean + [row("cipher-x", "TLS 1.2   xc013   ECDHE-RSA-AES128-SHA   "
                                                  "ECDH 253   AES   128   TLS_ECDHE_RSA_...")], 1),
        "a TLS 1.1 cipher": (clean + [row("cipher-y", "TLS 1.1   xc013   ECDHE-RSA-AES128-SHA")],
                             1),
        "no RSA cipher": ([r for r in clean if "-RSA-" not in r["finding"]], 3),
    }
    wrong = []
    for name, (findings, expected) in cases.items():
        got = problems(findings)
        if len(got) != expected:
            wrong.append(f"{name}: {len(got)} problem(s), expected {expected}: {got}")
    return wrong


def main(argv):
    if argv[1:] == ["--self-test"]:
        wrong = self_test()
        for line in wrong:
            print(f"self-test: {line}")
        return 1 if wrong else 0
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        found = problems(json.load(f))
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
