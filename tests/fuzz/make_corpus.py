#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora from the golden vectors (tests/data/vectors/*.jsonl).

Usage: make_corpus.py VECTORS_DIR OUT_DIR
Writes OUT_DIR/decoder, OUT_DIR/stream, OUT_DIR/tcl and OUT_DIR/envelope (each emptied first), one file per seed,
named by the SHA-1 of its content as libFuzzer does. Nothing here is committed: the corpora
live in the build tree.
"""
import hashlib
import json
import pathlib
import shutil
import sys

# Split modes for fuzz_stream (its first two input bytes): byte-by-byte, small reads, medium
# reads, and large reads through the decoder's fast path.
STREAM_PREFIXES = [b"\x00\x01", b"\x02\x07", b"\x0f\x2a", b"\x7f\x11", b"\x81\x05"]

# Tcl syntax the vectors do not cover.
TCL_EXTRA = [
    "", "a b c", "{a b} {} c", "t {port 40123} u {path /tmp/x.sock}", "\"x y\" z",
    "a\\ b c", "{a {b c}} d", "x\\\\", "{#c}", "\\{ \\}", "\\x41\\u00e9\\U0001F600\\101",
    "a\\\n   b", "{unbalanced", "\"open", "{a}b", "\"a\"b", "k v k w", "odd count here",
    "\\n\\t\\r\\v\\f\\a\\b", "{\\}}", "a\tb\nc\rd\ve\ff",
]


def fields_strings(fields):
    """Text of every string/list value in a vector's [name, value] pairs."""
    out = []
    for pair in fields or []:
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        value = pair[1]
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.append(" ".join("{%s}" % v if (not v or " " in v) else v for v in value))
            out.extend(value)
    return out


def hexes(obj):
    """Every packet hex in one vector line: hex, frames[].hex, chunks[], datagram[..].hex."""
    out = []
    if isinstance(obj.get("hex"), str):
        out.append(obj["hex"])
    for frame in obj.get("frames", []) or []:
        if isinstance(frame, dict) and isinstance(frame.get("hex"), str):
            out.append(frame["hex"])
    chunks = [c for c in obj.get("chunks", []) or [] if isinstance(c, str)]
    out.extend(chunks)
    if len(chunks) > 1:
        out.append("".join(chunks))
    stack = list(obj.get("datagram", []) or [])
    while stack:  # nested lists of {hex, fields|error}; bounded by the line's size
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict) and isinstance(item.get("hex"), str):
            out.append(item["hex"])
    return out


def write(directory, blob, seen):
    digest = hashlib.sha1(blob).hexdigest()
    if digest in seen:
        return
    seen.add(digest)
    (directory / digest).write_bytes(blob)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    vectors = pathlib.Path(argv[1])
    out = pathlib.Path(argv[2])
    dirs = {name: out / name for name in ("decoder", "stream", "tcl", "envelope")}
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    seen = {name: set() for name in dirs}

    packets = []
    texts = list(TCL_EXTRA)
    for path in sorted(vectors.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            for h in hexes(obj):
                packets.append(bytes.fromhex(h))
            texts.extend(fields_strings(obj.get("fields")))
            for frame in obj.get("frames", []) or []:
                if isinstance(frame, dict):
                    texts.extend(fields_strings(frame.get("fields")))
    if not packets:
        sys.stderr.write("make_corpus.py: no vectors found in %s\n" % vectors)
        return 1

    for blob in packets:
        write(dirs["decoder"], blob, seen["decoder"])
        # the body alone (the decoder also decodes its whole input as a body)
        if len(blob) > 5 and blob[:2] == b"\xc0\x8d" and blob[2] < 0x80:
            write(dirs["decoder"], blob[3:3 + blob[2]], seen["decoder"])
    stream_all = b"".join(packets)[:4000]  # small seeds keep the fuzzer fast
    for i, prefix in enumerate(STREAM_PREFIXES):
        write(dirs["stream"], prefix + stream_all, seen["stream"])
        for blob in packets[i::len(STREAM_PREFIXES)]:
            write(dirs["stream"], prefix + blob, seen["stream"])
            write(dirs["stream"], prefix + b"\xff\xc0" + blob + blob[: len(blob) // 2], seen["stream"])
    for text in texts:
        write(dirs["tcl"], text.encode("utf-8", "surrogateescape"), seen["tcl"])
    # Envelopes (docs/wire-format.md): filter {"\x01CL"}, then raw = flags, label, content:
    # the vectors' bodies wrapped unsealed with the label "fz", none, and flagged sealed.
    for blob in packets:
        if len(blob) > 5 and blob[:2] == b"\xc0\x8d" and blob[2] < 0x80:
            body = blob[3:3 + blob[2]]
            for flags, label in ((0, b"fz"), (0, b""), (1, b"fz")):
                raw = bytes([flags, len(label)]) + label + body
                if len(raw) < 0x80:
                    write(dirs["envelope"], b"\x0e\x01\x03\x01CL\x0b" + bytes([len(raw)]) + raw, seen["envelope"])

    counts = ", ".join("%s %d" % (name, len(seen[name])) for name in dirs)
    print("seed corpus in %s: %s" % (out, counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
