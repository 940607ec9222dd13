#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/TARGET/).

Each seed is a meaningful case in the input format of its target (see the
comment at the top of fuzz_TARGET.cpp): the real wire commands, the example
TOML files and the inputs known to trip toml++, a shared-prefix
subscription table, router workloads (a pipeline, a cycle, drop policies,
the barrier, raw subscribers, retirement), typed events. Run it again after
changing an input format; the inputs of bugs found by fuzzing are added by
hand (crash_*, timeout_*), and are kept.
"""
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


# -- protocol: frames ended by "\\\n", then the largest acceptable event ------

def frames(parts, max_size=64):
    data = b"".join(f.replace(b"\\", b"\\\\") + b"\\\n" for f in parts)
    return data + bytes([max_size])


IDENT = b"\x00\x80\x00\x00\x29"  # libzmq's automatic identity
RID = b"\x1a\x2b\x3c\x4d"  # a correlating REQ's request id
for name, parts, *limit in [
    ("req_next_msg", [IDENT, b"", b"plugin_command: next_msg"]),
    ("req_quit", [IDENT, b"", b"plugin_command: quit"]),
    ("req_publish", [IDENT, b"", b"TypeA hello"]),
    ("req_publish_binary", [IDENT, b"", b"\x01\xa0\x00\x07\x02mV"]),
    ("req_dead_letter_event", [IDENT, b"", b"ee.dead_letter:py\n\x00\xff"]),
    ("req_correlate_next_msg", [IDENT, RID, b"", b"plugin_command: next_msg"]),
    ("req_correlate_id_zero",
     [IDENT, b"\0\0\0\0", b"", b"plugin_command: next_msg"]),
    ("req_too_big", [IDENT, b"", b"x" * 40], 32),
    ("req_at_the_limit", [IDENT, b"", b"y" * 32], 32),
    ("req_empty_body", [IDENT, b""]),
    ("req_multi_frame", [IDENT, b"", b"TypeA", b"hello"]),
    ("req_empty_publish", [IDENT, b"", b""]),
    ("dealer_no_delimiter", [IDENT, b"plugin_command: next_msg"]),
    ("identity_only", [IDENT]),
    ("probe", [IDENT, b"\xfe\xff\xff\xff", b"", b"event-engine: probe"]),
    ("command_with_backslash", [b"peer\\1", b"", b"plugin_command: next_msg\\"]),
    ("near_command", [IDENT, b"", b"plugin_command: next_ms"]),
]:
    write("protocol", name, frames(parts, *limit))

# -- config: TOML text -----------------------------------------------------------

for path in ["examples/load_test/load_test.toml",
             "examples/plugin_library/app.toml",
             "examples/python_only/app.toml"]:
    write("config", "example_" + path.split("/")[1] + ".toml",
          (ROOT / path).read_bytes())
# The documented example with every key (include/ee/config_file.hpp).
doc = (ROOT / "include/ee/config_file.hpp").read_text()
block = re.search(r"/// ~~~\{\.toml\}\n(.*?)/// ~~~\n", doc, re.S).group(1)
write("config", "every_key.toml",
      "".join(line[4:] + "\n" for line in block.splitlines()))
# One of most errors the loader reports (with their positions and fixes).
write("config", "every_error.toml", """\
[engine]
publsh_port = 1
subscribe_port = 70000
strategy = "one_for_none"
enable_tcp = "yes"
bind_address = ""

[types]
Reading = { hex = "01zz" }
Ack = [2, 300]
Empty = ""
Dup = "Ack"
DupToo = "Ack"

[[plugin]]
name = "a"
port = 7000
subscriptions = ["Readng", { hex = 5 }]
command = ["no-such-program-ee-cli"]
factory = "make"
delivery = "exactly_once"

[[plugin]]
name = "a"
library = ""
port = 1

[[plugin]]
port = 7000
env = { X = 1 }
""")
write("config", "types_and_literals.toml", """\
[types]
TypeA = "TypeA"
Reading = { hex = "01a0" }
Ack = [0x02, 0xb0]
Esc = "\\u0001\\u0000"
"Caf\u00e9" = "\ufe7f"

[[plugin]]
name = "sink"
port = 0
subscriptions = ["TypeA", "Reading", { prefix = "Log" }, { hex = "ff" }, [1, 0], { prefix = "" }]
delivery = "at_most_once"
overflow = "drop_oldest"
""")
write("config", "library_plugin.toml", """\
[[plugin]]
name = "counter"
library = "libcounter.so"
factory = "make_counter"
subscriptions = ["TypeA"]
config = { limit = 5, nested = { list = [1, 2.5, "x", true], when = 1979-05-27 } }
restart = "permanent"
""")
write("config", "syntax_error.toml",
      '[engine]\npublish_port = 0\n\n[[plugin]]\nname = "x"\nport = = 0\n')
write("config", "wrong_shapes.toml",
      'engine = 1\ntypes = [1]\nplugin = { name = "x" }\n')
write("config", "old_format.toml",
      '[[plugin]]\nname = "p"\nport = 7311\nsubscriptions = ["TypeA"]\n'
      'await_first_request = true\n')
write("config", "strings.toml",
      'a = """\nmulti \\\n   line"""\nb = \'\'\'lit\'\'\'\nc = "q\\"uote"\n'
      'd = 1979-05-27T07:32:00Z\ne = 1979-05-27 07:32:00\n'
      'f = [[1, 2], [3]]\ng = { h = [1, { i = 2 }], j = "}" }\n')
# Known to trip toml++ 3.3.0 (TOML_UNREACHABLE, assertions): the guard's.
for name, data in [
    ("hazard_ef_b9_bf", b"a = 1 \xef\xb9\xbf\n"),
    ("hazard_ef_b9_bf_key", b"\xef\xb9\xbf = 1\n"),
    ("hazard_header_question", b"a = 1\n[?\n"),
    ("hazard_header_space_question", b"[ ?]\n"),
    ("hazard_array_header_question", b"[[?]]\n"),
    ("hazard_array_brace", b"v = [}\n"),
    ("hazard_array_comma_brace", b"v = [1,\n}\n"),
    ("hazard_date_bad_time", b"a = 1979-05-27 0\n"),
    ("hazard_bare_value_quote", b"b = 1'''y\xef\xb9\xbf'''\n"),
    ("hazard_backslash_space", b'a = """\\\n  \xc3\xa9"""\n'),
    ("hazard_invalid_utf8", b'a = "\xff"\n'),
    ("hazard_bom", b"\xef\xbb\xbf[engine]\npublish_port = 0\n"),
]:
    write("config", name, data)

# -- subscriptions: operations (fuzz::input) ------------------------------------

SUB_ALPHABET = b"ab\0\xff"


def text(s, alphabet, max_len):
    assert len(s) <= max_len
    return bytes([len(s)]) + bytes(alphabet.index(c) for c in s)


def add(sub, f):
    return bytes([0, sub]) + text(f, SUB_ALPHABET, 5)


def remove(sub, f):
    return bytes([2, sub]) + text(f, SUB_ALPHABET, 5)


def remove_all(sub):
    return bytes([3, sub])


def match(ev, skip_empty=False):
    return bytes([4]) + text(ev, SUB_ALPHABET, 8) + bytes([skip_empty])


write("subscriptions", "shared_prefixes",
      add(1, b"a") + add(2, b"ab") + add(1, b"ab") + add(3, b"b") +
      match(b"abb") + match(b"b") + match(b"") + remove(1, b"a") +
      match(b"abb") + remove_all(2) + match(b"ab"))
write("subscriptions", "empty_filter",
      add(0, b"") + add(5, b"\0") + match(b"\0\xff", False) +
      match(b"\0\xff", True) + remove(0, b"") + match(b"a"))
write("subscriptions", "counted_twice",
      add(4, b"ba") + add(4, b"ba") + remove(4, b"ba") + match(b"bab") +
      remove(4, b"ba") + match(b"bab") + remove(4, b"ba"))
write("subscriptions", "swap_erase",
      add(1, b"a") + add(2, b"a") + add(3, b"a") + add(4, b"a") +
      remove(1, b"a") + remove(3, b"a") + match(b"a") + add(1, b"a") +
      remove_all(4) + match(b"aa") + remove_all(23) + add(23, b"\xff\xff"))

# -- router: topology, then operations -----------------------------------------

R_ALPHABET = b"abc"
BLOCK, DROP_OLDEST, DROP_NEWEST = 0, 1, 2


def rtext(s, max_len):
    return text(s, R_ALPHABET, max_len)


def subscriber(cap, nbytes, window, overflow, owner, filters, active=True):
    data = bytes([cap - 1, nbytes - 1, window - 1, overflow, owner,
                  len(filters)])
    return data + b"".join(rtext(f, 3) for f in filters) + bytes([active])


def topology(raw_budget, subs, pubs, closed=False):
    """pubs: (events, bytes, self?) per publisher."""
    data = bytes([raw_budget - 1, len(subs) - 1]) + b"".join(subs)
    data += bytes([len(pubs) - 1])
    for i, (events, nbytes, self_) in enumerate(pubs):
        data += bytes([events - 1, nbytes - 1])
        if i < len(subs):
            data += bytes([1 if self_ else 0])
    return data + bytes([closed])


def op(s, p, kind, args=b""):
    return bytes([s, p, kind]) + args


def publish(p, ev):
    return op(0, p, 0, rtext(ev, 10))


def system(ev):
    return op(0, 0, 5, rtext(ev, 10))


def ack(s, n, owner_choices=b""):
    return op(s, 0, 6, bytes([n - 1]) + owner_choices)


def dead_letter(s):
    return op(s, 0, 8)


def requeue(s):
    return op(s, 0, 9)


def active(s, on):
    return op(s, 0, 10, bytes([on]))


def retire(s):
    return op(s, 0, 12, b"\0")


def abandon(s):
    return op(s, 0, 13)


def raw_subscribe(f, on=True):
    return op(0, 0, 15, b"\1" + rtext(f, 3) + bytes([on]))


def raw_release(fraction):
    return op(0, 0, 15, b"\0" + bytes([fraction]))


def break_cycles():
    return op(0, 0, 16)


def open_():
    return op(0, 0, 17, b"\0")


def flush():
    return op(0, 0, 18)


# A pipeline: p1 (plugin 1) feeds plugin 0, whose queue holds 2 events.
write("router", "pipeline_backpressure",
      topology(8, [subscriber(2, 24, 1, BLOCK, 0, [b"a"]),
                   subscriber(4, 24, 2, BLOCK, 0, [b"b"])],
               [(4, 40, True), (2, 40, True)]) +
      b"".join(publish(1, b"a" + bytes([c])) for c in b"abcabc") + flush() +
      ack(0, 1) + flush() + ack(0, 2) + flush() + publish(0, b"ba") + flush())
# Two plugins that publish to each other, one-event queues: a cycle.
write("router", "cycle",
      topology(8, [subscriber(1, 24, 1, BLOCK, 0, [b"a"]),
                   subscriber(1, 24, 1, BLOCK, 0, [b"b"])],
               [(8, 40, True), (8, 40, True)]) +
      publish(0, b"b") + publish(1, b"a") + publish(0, b"bb") +
      publish(1, b"aa") + publish(0, b"bbb") + publish(1, b"aaa") +
      break_cycles() + flush())
# Drop policies, owner custody with handled, discarded and dead letters.
write("router", "drop_policies_owner",
      topology(8, [subscriber(3, 6, 2, DROP_OLDEST, 1, [b""]),
                   subscriber(2, 24, 1, DROP_NEWEST, 1, [b"a", b"ab"])],
               [(8, 40, False)]) +
      b"".join(publish(0, ev) for ev in [b"abc", b"a", b"ab", b"cc", b"abcab"])
      + flush() + ack(0, 2, b"\0\2") + ack(1, 1, b"\3") + flush() +
      system(b"ab") + flush())
# Closed before the barrier, then opened; dead letters and requeues.
write("router", "barrier_then_failure",
      topology(8, [subscriber(4, 24, 3, BLOCK, 0, [b"c"])],
               [(4, 40, False)], closed=True) +
      publish(0, b"ca") + publish(0, b"cb") + publish(0, b"cc") + flush() +
      open_() + flush() + dead_letter(0) + active(0, False) + requeue(0) +
      active(0, True) + flush() + ack(0, 2) + flush())
# Raw subscribers with a small byte budget.
write("router", "raw_budget",
      topology(4, [subscriber(2, 24, 1, BLOCK, 0, [b"b"])], [(8, 40, False)]) +
      raw_subscribe(b"a") + raw_subscribe(b"") + publish(0, b"aaa") +
      publish(0, b"ab") + flush() + raw_release(255) + publish(0, b"abc") +
      raw_subscribe(b"", False) + system(b"a") + flush())
# A subscriber retired with events queued and in flight; abandonment.
write("router", "retire_and_abandon",
      topology(8, [subscriber(3, 24, 2, BLOCK, 1, [b"a"]),
                   subscriber(2, 24, 1, BLOCK, 0, [b"a"])],
               [(8, 40, False)]) +
      b"".join(publish(0, b"a" * n) for n in range(1, 6)) + flush() +
      retire(1) + ack(0, 1, b"\0") + abandon(0) + flush() + retire(0) +
      flush())

# -- codecs: rounds of name, filter, bytes, payload ------------------------------


def blob(b):
    return bytes([len(b)]) + b


for name, (type_name, filt, ev, payload) in {
    "type_a": (b"TypeA", b"TypeA", b"TypeAhello", b" world"),
    "type_b_count": (b"TypeB", b"TypeB", b"TypeB42", b"007"),
    "type_b_overflow": (b"TypeB", b"", b"TypeB99999999999999999999999", b"-1"),
    "reading_binary": (b"Reading", b"\x01\xa0", b"\x01\xa0\x00\x07\x02mV",
                       b"\x00\x01\x00"),
    "nul_bytes": (b"Bin", b"\x00", b"\x00\x00ab\x00", b"\x00"),
    "empty": (b"", b"", b"", b""),
}.items():
    write("codecs", name, blob(type_name) + blob(filt) + blob(ev) + blob(payload))
