#!/usr/bin/env python3
"""Re-run a spotcheck draw (algorithm rivest-counter+consistent-sampler/v1) independently.

Standard library only. See docs/draws.md for the algorithm this implements.

Print the picks of a draw:
    python3 draws_verify.py MANIFEST --seed SEED --plan PLAN.json [--json]
Check a recorded draw (as printed by `spotcheck draw --format json`):
    python3 draws_verify.py MANIFEST --check DRAW.json [--seed SEED] [--plan PLAN.json]

PLAN.json holds one plan {"per_stratum": {"renhold": {"weighted": 5, "uniform": 5}}}, a
list of plans (the draw, then each extension), or an object with "plan" or "plans" (such as
the draw record itself). With --check the seed and plans come from DRAW.json unless given;
a --seed that differs from the recorded one is reported as a mismatch.

Exit status: 0 the draw holds (or picks printed), 1 mismatch, 2 unusable input.
"""

import argparse
import bisect
import hashlib
import json
import re
import sys

ALGORITHM = "rivest-counter+consistent-sampler/v1"
MISS_BUDGET_BASE = 100_000  # weighted part: misses allowed per round, plus one per wanted pick
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode Cc, as in Rust's char::is_control
CONTROL_BUT_TAB_LF = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class InputError(Exception):
    pass


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ticket_of(int_value):
    """Rivest's sha256_uniform: reversed decimal digits, padded to 64."""
    return "0." + format(int_value, "064d")[::-1]


def parse_manifest(data):
    """Canonical manifest text -> list of (stratum, [ids], [weights]); strict, like the service."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"manifest is not UTF-8: {e}")
    if not text:
        raise InputError("the manifest is empty")
    if not text.endswith("\n"):
        raise InputError("the last manifest line does not end with \\n")
    bad = CONTROL_BUT_TAB_LF.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        if text[bad.start()] == "\r":
            raise InputError(f"manifest line {line}: CRLF line ending; lines must end with \\n only")
        raise InputError(f"manifest line {line}: control character in a stratum name or id")
    strata, seen = [], {}
    prev_id = None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise InputError(f"manifest line {n}: expected stratum<TAB>id<TAB>weight")
        stratum, cid, weight = fields
        if not stratum or not cid:
            raise InputError(f"manifest line {n}: empty stratum or id")
        if not (weight.isascii() and weight.isdigit()) or weight.startswith("0"):
            raise InputError(f"manifest line {n}: weight must be a positive integer")
        if int(weight) >= 2**64:
            raise InputError(f"manifest line {n}: weight too large")
        if strata and strata[-1][0] == stratum:
            if cid <= prev_id:  # str order is code point order = UTF-8 byte order
                raise InputError(f"manifest line {n}: ids not sorted / duplicated")
        else:
            if strata and stratum <= strata[-1][0]:
                raise InputError(f"manifest line {n}: strata not sorted by name")
            strata.append((stratum, [], []))
        if cid in seen:
            raise InputError(f"manifest line {n}: id {cid!r} appears twice")
        seen[cid] = True
        strata[-1][1].append(cid)
        strata[-1][2].append(int(weight))
        prev_id = cid
    if sum(w for _, _, ws in strata for w in ws) >= 2**64:
        raise InputError("the weights add up to more than 18446744073709551615")
    return strata


class Stratum:
    def __init__(self, name, ids, weights, seed_s):
        self.name, self.ids, self.weights, self.seed_s = name, ids, weights, seed_s
        self.cum, total = [], 0
        for w in weights:
            total += w
            self.cum.append(total)
        self.total = total
        self.picked = set()
        self.next_count = 1
        self.exhausted = False
        self.order = None  # uniform order, built on first use

    def take_heaviest(self, k, out):
        rest = [i for i in range(len(self.ids)) if i not in self.picked]
        rest.sort(key=lambda i: (-self.weights[i], i))
        for i in rest[:k]:
            self.picked.add(i)
            out.append((i, "weighted", 0))

    def weighted(self, want):
        out = []
        unpicked = len(self.ids) - len(self.picked)
        want = min(want, unpicked)
        if want == 0:
            return out
        if want >= unpicked or self.exhausted:  # exhaustion rule 1, or rule 2 earlier
            self.exhausted = True
            self.take_heaviest(want, out)
            return out
        budget, misses = MISS_BUDGET_BASE + want, 0
        while len(out) < want:
            count = self.next_count
            self.next_count += 1
            r = int(sha256_hex(self.seed_s + "," + str(count)), 16) % self.total
            i = bisect.bisect_right(self.cum, r)  # C(i-1) <= r < C(i)
            if i in self.picked:
                misses += 1
                if misses >= budget:  # exhaustion rule 2
                    self.exhausted = True
                    self.take_heaviest(want - len(out), out)
                    break
            else:
                self.picked.add(i)
                out.append((i, "weighted", count))
        return out

    def uniform(self, want):
        out = []
        want = min(want, len(self.ids) - len(self.picked))
        if want == 0:
            return out
        if self.order is None:
            seed_hash = sha256_hex(self.seed_s)
            base = hashlib.sha256(seed_hash.encode("utf-8"))
            tickets = []
            for i, cid in enumerate(self.ids):
                h = base.copy()
                h.update(cid.encode("utf-8"))
                tickets.append((ticket_of(int(h.hexdigest(), 16)), cid, i))
            tickets.sort()  # by ticket string, then id
            self.order = tickets
        for ticket, _cid, i in self.order:
            if len(out) == want:
                break
            if i not in self.picked:
                self.picked.add(i)
                out.append((i, "uniform", ticket))
        return out


def run_draw(strata_list, seed, plans):
    if not seed or CONTROL.search(seed):
        raise InputError("the seed is empty or contains a control character")
    one = len(strata_list) == 1
    strata = [Stratum(n, ids, ws, seed if one else seed + "/" + n) for n, ids, ws in strata_list]
    names = {s.name for s in strata}
    picks = []
    for plan in plans:
        per = plan.get("per_stratum")
        if not isinstance(per, dict):
            raise InputError("a plan must be an object with \"per_stratum\"")
        for name in per:
            if name not in names:
                raise InputError(f"the plan names stratum {name!r}, which the manifest lacks")
        for s in strata:  # strata in name order
            sizes = per.get(s.name)
            if sizes is None:
                continue
            w, u = sizes.get("weighted", 0), sizes.get("uniform", 0)
            if not all(isinstance(x, int) and x >= 0 for x in (w, u)):
                raise InputError(f"plan sizes for {s.name!r} must be non-negative integers")
            got = s.weighted(w) + s.uniform(u)
            for i, part, evidence in got:
                pick = {"position": len(picks) + 1, "stratum": s.name, "id": s.ids[i], "part": part}
                pick["counter" if part == "weighted" else "ticket"] = evidence
                picks.append(pick)
    return picks


def load_plans(obj):
    plans = _plans(obj)
    if not plans or not all(isinstance(p, dict) for p in plans):
        raise InputError("no plan, or a plan that is not a JSON object")
    return plans


def _plans(obj):
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict):
        if "plans" in obj:
            return obj["plans"]
        if "plan" in obj:
            return [obj["plan"]]
        if "per_stratum" in obj:
            return [obj]
    raise InputError("plan JSON must be a plan, a list of plans, or an object with plan/plans")


def first_mismatch(computed, recorded):
    for k, (c, r) in enumerate(zip(computed, recorded)):
        for field in ("position", "stratum", "id", "part", "counter", "ticket"):
            if field in c or field in r:
                if c.get(field) != r.get(field):
                    return f"pick {k + 1}: {field} recorded {r.get(field)!r}, recomputed {c.get(field)!r}"
    if len(computed) != len(recorded):
        return f"the record has {len(recorded)} picks, the recomputation {len(computed)}"
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Re-run a spotcheck draw from its manifest and seed.")
    ap.add_argument("manifest", help="manifest file as exported (stratum<TAB>id<TAB>weight lines)")
    ap.add_argument("--seed", help="the seed text (default with --check: the recorded seed)")
    ap.add_argument("--plan", help="JSON file with the plan(s) (default with --check: the recorded plans)")
    ap.add_argument("--sha256", help="published manifest SHA-256 to check the file against")
    ap.add_argument("--check", metavar="DRAW_JSON", help="recorded draw to compare with")
    ap.add_argument("--json", action="store_true", help="print the picks as JSON")
    a = ap.parse_args(argv)
    try:
        with open(a.manifest, "rb") as f:
            data = f.read()
        actual_sha = hashlib.sha256(data).hexdigest()
        record = None
        if a.check:
            with open(a.check, encoding="utf-8") as f:
                record = json.load(f)
        seed = a.seed if a.seed is not None else (record or {}).get("seed")
        if seed is None:
            raise InputError("no seed: give --seed (or --check with a recorded seed)")
        if a.plan:
            with open(a.plan, encoding="utf-8") as f:
                plans = load_plans(json.load(f))
        elif record is not None:
            plans = load_plans(record)
        else:
            raise InputError("no plan: give --plan (or --check with recorded plans)")
        strata = parse_manifest(data)
        picks = run_draw(strata, seed, plans)
    except (InputError, OSError, ValueError, TypeError, AttributeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"manifest sha256 {actual_sha}", file=sys.stderr)
    problems = []
    expected_sha = a.sha256 or (record or {}).get("manifest_sha256")
    if expected_sha is not None and expected_sha.lower() != actual_sha:
        problems.append(f"manifest sha256 is {actual_sha}, expected {expected_sha}")
    if record is not None:
        if record.get("algorithm", ALGORITHM) != ALGORITHM:
            problems.append(f"record uses algorithm {record.get('algorithm')!r}, this is {ALGORITHM!r}")
        if record.get("seed") != seed:
            problems.append(f"recorded seed {record.get('seed')!r} differs from {seed!r}")
        mismatch = first_mismatch(picks, record.get("picks", []))
        if mismatch:
            problems.append(mismatch)
    if a.json:
        json.dump({"algorithm": ALGORITHM, "seed": seed, "manifest_sha256": actual_sha,
                   "plans": plans, "picks": picks}, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif record is None:
        for p in picks:
            evidence = p["counter"] if p["part"] == "weighted" else p["ticket"]
            print(f"{p['position']}\t{p['stratum']}\t{p['id']}\t{p['part']}\t{evidence}")
    if problems:
        for p in problems:
            print(f"MISMATCH: {p}", file=sys.stderr)
        return 1
    if record is not None:
        print(f"OK: all {len(picks)} picks reproduced", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
