#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/tools/json_check.py - checks psm's JSON output against one $defs kind of etc/psm.schema.json.
"""Usage: json_check.py SCHEMA KIND FILE [--lines PREFIX]

FILE holds one JSON document (stdout of one command), or with --lines one per line that
is PREFIX and a JSON object (psmd's log: "psmd: {...}"; the prefix is dropped, other
lines skipped).
Exit 0 when every document is valid against {"$ref": "#/$defs/KIND"} and there is at least
one, 1 (with the first error on stderr) when not, 2 for bad usage or a missing jsonschema
(Debian: python3-jsonschema).
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("json_check: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(2)


def documents(path, prefix):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if prefix is None:
        return [text]
    return [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix + "{")]


def main(argv):
    if len(argv) not in (4, 6) or (len(argv) == 6 and argv[4] != "--lines"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    kind, prefix = argv[2], argv[5] if len(argv) == 6 else None
    if kind not in schema.get("$defs", {}):
        print(f"json_check: no $defs/{kind} in {argv[1]}", file=sys.stderr)
        return 2
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    want = dict(schema, **{"$ref": f"#/$defs/{kind}"})
    docs = documents(argv[3], prefix)
    if not docs:
        print(f"json_check: {argv[3]}: no documents", file=sys.stderr)
        return 1
    for i, text in enumerate(docs):
        try:
            cls(want).validate(json.loads(text))
        except (ValueError, jsonschema.ValidationError) as e:
            where = "/".join(str(p) for p in getattr(e, "absolute_path", []))
            msg = getattr(e, "message", str(e))
            print(f"json_check: {argv[3]}: document {i + 1}: {kind}: at '{where}': {msg}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
