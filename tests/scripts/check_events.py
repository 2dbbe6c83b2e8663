#!/usr/bin/env python3
"""Reads back messages outboxd sent, the way consumers read them.

The input is a JSON file (or - for standard input) of the messages a test
captured from Kafka or RabbitMQ:

  [{"broker": "kafka" | "rabbitmq", "topic": "...",
    "key_b64": "..." | null, "value_b64": "..." | null,
    "headers": [{"name": "...", "value_b64": "..."}],
    "content_type": "..."}]          # RabbitMQ: the content-type property

For each message:
  - when it is a CloudEvent (a structured content type, or attribute
    headers: Kafka `ce_*`; RabbitMQ `cloudEvents_*` / `cloudEvents:*` (the
    CloudEvents AMQP binding) or `ce-*` (the RabbitMQ binding)), the PyPI
    `cloudevents` SDK reads it back with that binding, and the attributes
    are checked against CloudEvents 1.0: specversion "1.0"; id, source and
    type non-empty strings; source a URI-reference; time RFC 3339;
    extension names lowercase letters and digits. The SDK fills in a
    missing id or time itself, so those are checked on the raw message
    before the SDK sees it;
  - when it has a `traceparent` header, OpenTelemetry's
    TraceContextTextMapPropagator extracts it, and a consumer span started
    under the OpenTelemetry SDK must join that trace; a CloudEvents
    `traceparent` attribute must equal the header (the Distributed Tracing
    extension, single hop).

One JSON line per message goes to standard output with what was read.
Every problem goes to standard error; the exit status is 1 when there was
one, 2 for a usage or input error, 0 otherwise.

  check_events.py MESSAGES.json [--require-cloudevents] [--require-trace]
                  [--mode binary|structured]
  check_events.py --self-test
"""

import argparse
import base64
import binascii
import json
import logging
import re
import sys
from datetime import datetime, timezone

from cloudevents.core.bindings import amqp as ce_amqp
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

STRUCTURED_PREFIX = "application/cloudevents"
REQUIRED = ("id", "source", "type")
# CloudEvents 1.0 "Naming Conventions": attribute names are lowercase ASCII
# letters and digits.
ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]+$")
# RFC 3339 "date-time" (section 5.6); T and Z may be lowercase.
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# RFC 3986: the characters a URI-reference may hold, and a scheme.
URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*$")
# CloudEvents 1.0 String type: no C0 or C1 control characters.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


# OpenTelemetry logs a warning for each value it refuses; this script
# reports those itself, once, with the message they came from.
logging.getLogger("opentelemetry").setLevel(logging.ERROR)


class Invalid(Exception):
    """A message that is not what a consumer can rely on."""


class Message:
    """One captured message, decoded from the input file."""

    def __init__(self, raw, index):
        if not isinstance(raw, dict):
            raise ValueError(f"message {index}: not a JSON object")
        self.index = index
        self.broker = raw.get("broker")
        if self.broker not in ("kafka", "rabbitmq"):
            raise ValueError(f"message {index}: broker must be \"kafka\" or \"rabbitmq\"")
        self.topic = raw.get("topic")
        self.key = _b64(raw.get("key_b64"), f"message {index}: key_b64")
        self.value = _b64(raw.get("value_b64"), f"message {index}: value_b64")
        self.headers = []
        for h in raw.get("headers") or []:
            if not isinstance(h, dict) or not isinstance(h.get("name"), str):
                raise ValueError(f"message {index}: a header needs a string \"name\"")
            value = _b64(h.get("value_b64"), f"message {index}: header {h['name']}")
            self.headers.append((h["name"], value if value is not None else b""))
        self.content_type = raw.get("content_type")

    def where(self):
        return f"message {self.index} ({self.broker} {self.topic})"


def _b64(text, what):
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError) as e:
        raise ValueError(f"{what}: not base64 ({e})") from e


def _text(name, raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid(f"header {name!r} is not UTF-8 ({e})") from e


def uri_reference_problem(text):
    """Why `text` is not an RFC 3986 URI-reference, or None."""
    if not URI_CHARS.match(text):
        return "holds a character that must be percent-encoded"
    end = len(text)
    for stop in "/?#":
        at = text.find(stop)
        if at >= 0:
            end = min(end, at)
    colon = text.find(":", 0, end)
    if colon >= 0 and not SCHEME.match(text[:colon]):
        return "has ':' in its first segment without a valid scheme before it"
    if text.count("#") > 1:
        return "has more than one '#'"
    return None


def parse_time(text):
    if not isinstance(text, str) or not RFC3339.match(text):
        raise Invalid(f"time {text!r} is not an RFC 3339 date-time")
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as e:
        raise Invalid(f"time {text!r}: {e}") from e


def check_attributes(attrs):
    """The CloudEvents 1.0 rules on attributes as they were sent."""
    if attrs.get("specversion") != "1.0":
        raise Invalid(f"specversion is {attrs.get('specversion')!r}, not \"1.0\"")
    for name in REQUIRED:
        value = attrs.get(name)
        if not isinstance(value, str) or not value:
            raise Invalid(f"{name} is missing or empty")
    for name, value in attrs.items():
        if not ATTRIBUTE_NAME.match(name):
            raise Invalid(f"attribute name {name!r} must be lowercase letters and digits")
        if isinstance(value, str) and CONTROL.search(value):
            raise Invalid(f"attribute {name} holds a control character")
    problem = uri_reference_problem(attrs["source"])
    if problem:
        raise Invalid(f"source {attrs['source']!r} is not a URI-reference: it {problem}")
    if "time" in attrs:
        parse_time(attrs["time"])
    if "datacontenttype" in attrs and (
            not isinstance(attrs["datacontenttype"], str) or not attrs["datacontenttype"]):
        raise Invalid("datacontenttype is empty")


def _unique(pairs):
    seen = {}
    for name, value in pairs:
        if name in seen:
            raise Invalid(f"JSON member {name!r} appears twice")
        seen[name] = value
    return seen


def _no_constant(name):
    raise Invalid(f"{name} is not JSON")


def binding_of(msg):
    """(binding name, attribute header prefix, content type) of a message."""
    if msg.broker == "kafka":
        cts = [_text(n, v) for n, v in msg.headers if n.lower() == "content-type"]
        if len(cts) > 1:
            raise Invalid("more than one content-type header")
        return "kafka", "ce_", cts[0] if cts else None
    prefixes = set()
    for name, _ in msg.headers:
        for prefix in ("cloudEvents_", "cloudEvents:", "ce-"):
            if name.startswith(prefix):
                prefixes.add(prefix)
    if len(prefixes) > 1:
        raise Invalid(f"attribute headers with mixed prefixes {sorted(prefixes)}: the AMQP "
                      "binding wants one separator per message")
    prefix = prefixes.pop() if prefixes else "cloudEvents_"
    return ("rabbitmq" if prefix == "ce-" else "amqp"), prefix, msg.content_type


def read_cloudevent(msg, fmt):
    """(mode, binding, event, names of the attributes sent), or Nones when the
    message is no CloudEvent."""
    binding, prefix, content_type = binding_of(msg)
    value = msg.value if msg.value is not None else b""
    prefixed = [(n, v) for n, v in msg.headers if n.lower().startswith(prefix.lower())]
    if content_type is not None and content_type.lower().startswith(STRUCTURED_PREFIX):
        mode = "structured"
        try:
            body = json.loads(value.decode("utf-8"), object_pairs_hook=_unique,
                              parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError) as e:
            raise Invalid(f"structured event: the value is not JSON ({e})") from e
        if not isinstance(body, dict):
            raise Invalid("structured event: the value is not a JSON object")
        if "data" in body and "data_base64" in body:
            raise Invalid("structured event: both data and data_base64")
        if "data_base64" in body:
            try:
                base64.b64decode(body["data_base64"], validate=True)
            except (binascii.Error, TypeError) as e:
                raise Invalid(f"data_base64 is not base64 ({e})") from e
        sent = {k: v for k, v in body.items() if k not in ("data", "data_base64")}
        check_attributes(sent)
    elif prefixed:
        mode = "binary"
        attrs = {}
        for name, raw in prefixed:
            attr = name[len(prefix):]
            if binding == "kafka":
                attr = attr.lower()
            if attr in attrs:
                raise Invalid(f"header {name!r} appears twice")
            attrs[attr] = _text(name, raw)
        if "datacontenttype" in attrs:
            raise Invalid(f"{prefix}datacontenttype: binary mode carries it as the content type")
        if content_type is not None:
            attrs["datacontenttype"] = content_type
        check_attributes(attrs)
        sent = attrs
    else:
        return None, None, None, None

    try:
        if binding == "kafka":
            km = ce_kafka.KafkaMessage(headers={n: v for n, v in msg.headers}, key=msg.key,
                                       value=value)
            event = (ce_kafka.from_structured(km, fmt) if mode == "structured"
                     else ce_kafka.from_binary(km, fmt))
        elif binding == "amqp":
            am = ce_amqp.AMQPMessage(
                properties={"content-type": content_type} if content_type else {},
                application_properties={n: _text(n, v) for n, v in prefixed},
                application_data=value)
            event = (ce_amqp.from_structured(am, fmt) if mode == "structured"
                     else ce_amqp.from_binary(am, fmt))
        else:
            rm = ce_rabbitmq.RabbitMQMessage(headers={n: _text(n, v) for n, v in prefixed},
                                             content_type=content_type, body=value)
            event = (ce_rabbitmq.from_structured(rm, fmt) if mode == "structured"
                     else ce_rabbitmq.from_binary(rm, fmt))
    except Invalid:
        raise
    except Exception as e:  # the SDK's own refusal, whatever its class
        raise Invalid(f"the cloudevents SDK refused it: {type(e).__name__}: {e}") from e
    if event.get_specversion() != "1.0":
        raise Invalid(f"the SDK read specversion {event.get_specversion()!r}")
    return mode, binding, event, set(sent)


def describe_event(event, sent):
    attrs = {}
    for name, value in event.get_attributes().items():
        if name not in sent:
            continue  # what the SDK made up: a time of now, the key as partitionkey
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        attrs[name] = value
    data = event.get_data()
    out = {"attributes": attrs}
    if data is None:
        out["data_kind"] = "none"
    elif isinstance(data, (bytes, bytearray)):
        out["data_kind"] = "binary"
        out["data_base64"] = base64.b64encode(bytes(data)).decode("ascii")
    elif isinstance(data, str):
        out["data_kind"] = "text"
        out["data"] = data
    else:
        out["data_kind"] = "json"
        out["data"] = data
    return out


class TraceReader:
    """OpenTelemetry as a consumer's instrumentation uses it: the W3C
    propagator on the message's headers, and a consumer span under the SDK."""

    def __init__(self):
        self.propagator = TraceContextTextMapPropagator()
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("outboxd-check-events")

    def read(self, msg):
        carrier = {}
        for name, raw in msg.headers:
            lname = name.lower()
            if lname in ("traceparent", "tracestate"):
                carrier.setdefault(lname, []).append(_text(name, raw))
        if "traceparent" not in carrier:
            return None
        if len(carrier["traceparent"]) > 1:
            raise Invalid("more than one traceparent header")
        ctx = self.propagator.extract(carrier)
        sc = trace.get_current_span(ctx).get_span_context()
        if not sc.is_valid:
            raise Invalid(f"OpenTelemetry's propagator refused traceparent "
                          f"{carrier['traceparent'][0]!r}")
        tracestate = sc.trace_state.to_header() if sc.trace_state else ""
        sent_state = ",".join(carrier.get("tracestate", []))
        if sent_state.strip(" \t,") and not tracestate:
            raise Invalid(f"OpenTelemetry's propagator refused tracestate {sent_state!r}")

        self.exporter.clear()
        with self.tracer.start_as_current_span(f"{msg.topic} process", context=ctx,
                                               kind=SpanKind.CONSUMER) as span:
            consumer = span.get_span_context()
            recorded = span.is_recording()
        if consumer.trace_id != sc.trace_id:
            raise Invalid("a consumer span did not join the message's trace")
        parent = None
        if recorded:
            finished = self.exporter.get_finished_spans()
            if not finished or finished[-1].parent is None:
                raise Invalid("the consumer span has no parent")
            parent = finished[-1].parent.span_id
            if parent != sc.span_id:
                raise Invalid("the consumer span's parent is not the message's span")
        return {
            "traceparent": carrier["traceparent"][0],
            "trace_id": trace.format_trace_id(sc.trace_id),
            "span_id": trace.format_span_id(sc.span_id),
            "sampled": sc.trace_flags.sampled,
            "tracestate": tracestate,
            "consumer_span_recorded": recorded,
            "consumer_span_parent": trace.format_span_id(parent) if parent else None,
        }


def check_message(msg, tracer, args):
    """What a consumer reads from `msg`, as a dict; raises Invalid."""
    fmt = JSONFormat()
    mode, binding, event, sent = read_cloudevent(msg, fmt)
    out = {"index": msg.index, "broker": msg.broker, "topic": msg.topic, "mode": mode,
           "binding": binding}
    if event is None:
        if args.require_cloudevents or args.mode:
            raise Invalid("not a CloudEvent (no ce headers, no structured content type)")
        out["cloudevent"] = None
    else:
        if args.mode and mode != args.mode:
            raise Invalid(f"a {mode} mode CloudEvent, expected {args.mode}")
        out["cloudevent"] = describe_event(event, sent)
    trace_info = tracer.read(msg)
    if trace_info is None and args.require_trace:
        raise Invalid("no traceparent header")
    if event is not None and trace_info is not None:
        attr = event.get_attributes().get("traceparent")
        if attr is not None and attr.strip() != trace_info["traceparent"].strip():
            raise Invalid(f"the CloudEvents traceparent {attr!r} differs from the traceparent "
                          f"header {trace_info['traceparent']!r}")
    out["trace"] = trace_info
    return out


def run(raw_messages, args, out=sys.stdout, err=sys.stderr):
    """Checks every message; returns the number of invalid ones."""
    tracer = TraceReader()
    bad = 0
    for index, raw in enumerate(raw_messages):
        msg = Message(raw, index)
        try:
            line = check_message(msg, tracer, args)
        except Invalid as e:
            bad += 1
            print(f"check_events: {msg.where()}: {e}", file=err)
            line = {"index": index, "broker": msg.broker, "topic": msg.topic, "invalid": str(e)}
        print(json.dumps(line, sort_keys=True), file=out)
    return bad


# --- self-test ---

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _h(name, value):
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return {"name": name, "value_b64": base64.b64encode(raw).decode("ascii")}


def _msg(broker, headers, value, content_type=None, key=b"k"):
    m = {"broker": broker, "topic": "orders",
         "key_b64": base64.b64encode(key).decode("ascii") if key is not None else None,
         "value_b64": base64.b64encode(value).decode("ascii") if value is not None else None,
         "headers": headers}
    if content_type is not None:
        m["content_type"] = content_type
    return m


def _kafka_binary(**over):
    attrs = {"ce_specversion": "1.0", "ce_id": "shop/public.outbox/42",
             "ce_source": "/outboxd/shop",
             "ce_type": "order.created", "ce_time": "2024-05-01T12:00:00.123456Z",
             "ce_traceparent": TP}
    attrs.update(over)
    headers = [_h(k, v) for k, v in attrs.items() if v is not None]
    headers += [_h("content-type", "application/json"), _h("outbox-id", "42"),
                _h("traceparent", TP)]
    return _msg("kafka", headers, b'{"amount": 12.50}')


def _structured(body, broker="kafka", ct="application/cloudevents+json; charset=UTF-8"):
    value = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    if broker == "kafka":
        return _msg("kafka", [_h("content-type", ct), _h("traceparent", TP)], value)
    return _msg("rabbitmq", [_h("traceparent", TP)], value, content_type=ct)


BASE = {"specversion": "1.0", "id": "7", "source": "/outboxd/shop", "type": "order.created",
        "time": "2024-05-01T12:00:00.123456Z", "datacontenttype": "application/json",
        "traceparent": TP, "data": {"amount": 12.5}}


def _with(**over):
    body = dict(BASE)
    for k, v in over.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


def self_test():
    accepted = [
        ("Kafka binary", _kafka_binary()),
        ("Kafka binary without time or trace", _kafka_binary(ce_time=None, ce_traceparent=None)),
        ("Kafka structured", _structured(BASE)),
        ("Kafka structured, data_base64",
         _structured(_with(data=None, data_base64="AAE=",
                           datacontenttype="application/octet-stream"))),
        ("Kafka structured without data", _structured(_with(data=None, datacontenttype=None))),
        ("AMQP binary, cloudEvents_", _msg("rabbitmq", [
            _h("cloudEvents_specversion", "1.0"), _h("cloudEvents_id", "7"),
            _h("cloudEvents_source", "urn:example:shop"), _h("cloudEvents_type", "t"),
            _h("traceparent", TP), _h("tracestate", "rojo=00f067aa0ba902b7")],
            b"hello", content_type="text/plain; charset=utf-8")),
        ("AMQP binary, cloudEvents:", _msg("rabbitmq", [
            _h("cloudEvents:specversion", "1.0"), _h("cloudEvents:id", "7"),
            _h("cloudEvents:source", "/s"), _h("cloudEvents:type", "t")], b"{}",
            content_type="application/json")),
        ("RabbitMQ binding, ce-", _msg("rabbitmq", [
            _h("ce-specversion", "1.0"), _h("ce-id", "7"), _h("ce-source", "/s"),
            _h("ce-type", "t"), _h("ce-time", "2024-05-01T12:00:00Z")], b"{}",
            content_type="application/json")),
        ("AMQP structured", _structured(BASE, broker="rabbitmq")),
        ("a plain message with a traceparent", _msg("kafka", [_h("traceparent", TP)], b"x")),
        ("a not-sampled traceparent", _msg("kafka", [_h("traceparent", TP[:-2] + "00")], b"x")),
        ("a plain message", _msg("kafka", [_h("outbox-id", "1")], None, key=None)),
    ]
    refused = [
        ("no ce_id", _kafka_binary(ce_id=None), "id is missing"),
        ("an empty ce_type", _kafka_binary(ce_type=""), "type is missing or empty"),
        ("specversion 0.3", _kafka_binary(ce_specversion="0.3"), "specversion"),
        ("a time that is not RFC 3339", _kafka_binary(ce_time="yesterday"), "RFC 3339"),
        ("a date without a time", _kafka_binary(ce_time="2024-05-01"), "RFC 3339"),
        ("a source with a space", _kafka_binary(ce_source="/a b"), "URI-reference"),
        ("a source with a bad scheme", _kafka_binary(ce_source="1a:b"), "URI-reference"),
        ("a traceparent attribute unlike the header",
         _kafka_binary(ce_traceparent=TP[:-2] + "00"), "differs"),
        ("a header repeated in capitals", _kafka_binary(ce_ID="8"), "appears twice"),
        ("a bad extension name", _kafka_binary(**{"ce_trace-parent": "x"}), "lowercase letters"),
        ("a value that is not UTF-8", _kafka_binary(ce_type=b"\xff"), "not UTF-8"),
        ("a control character", _kafka_binary(ce_type="a\nb"), "control character"),
        ("structured: not JSON", _structured(b"{nope"), "not JSON"),
        ("structured: not an object", _structured(b"[1]"), "not a JSON object"),
        ("structured: no source", _structured(_with(source=None)), "source is missing"),
        ("structured: a duplicate member", _structured(b'{"id":"1","id":"2"}'), "twice"),
        ("structured: data and data_base64", _structured(_with(data_base64="AA==")), "both"),
        ("structured: a bad extension name", _structured(_with(trace_parent="x")),
         "lowercase letters"),
        ("AMQP: mixed separators", _msg("rabbitmq", [
            _h("cloudEvents_specversion", "1.0"), _h("cloudEvents:id", "7")], b"{}"),
         "mixed prefixes"),
        ("an all-zero trace id",
         _msg("kafka", [_h("traceparent", "00-" + "0" * 32 + "-00f067aa0ba902b7-01")], b"x"),
         "refused traceparent"),
        ("an uppercase traceparent", _msg("kafka", [_h("traceparent", TP.upper())], b"x"),
         "refused traceparent"),
        ("a tracestate OpenTelemetry refuses",
         _msg("kafka", [_h("traceparent", TP), _h("tracestate", "Bad Key=1")], b"x"),
         "refused tracestate"),
    ]
    plain = argparse.Namespace(require_cloudevents=False, require_trace=False, mode=None)
    tracer = TraceReader()
    failures = []
    for name, raw in accepted:
        try:
            check_message(Message(raw, 0), tracer, plain)
        except Invalid as e:
            failures.append(f"{name}: refused ({e})")
    for name, raw, why in refused:
        try:
            check_message(Message(raw, 0), tracer, plain)
            failures.append(f"{name}: accepted")
        except Invalid as e:
            if why not in str(e):
                failures.append(f"{name}: refused for another reason ({e})")

    # What is read back, and the options.
    line = check_message(Message(_kafka_binary(), 0), tracer, plain)
    expect = {"id": "shop/public.outbox/42", "time": "2024-05-01T12:00:00.123456Z",
              "datacontenttype": "application/json", "traceparent": TP}
    for k, v in expect.items():
        if line["cloudevent"]["attributes"].get(k) != v:
            failures.append(f"read back: {k} is {line['cloudevent']['attributes'].get(k)!r}")
    if line["cloudevent"]["data"] != {"amount": 12.5} or line["trace"]["span_id"] != TP[36:52]:
        failures.append(f"read back: {line}")
    if not line["trace"]["sampled"] or line["trace"]["consumer_span_parent"] != TP[36:52]:
        failures.append(f"read back: the consumer span: {line['trace']}")
    strict = argparse.Namespace(require_cloudevents=True, require_trace=True, mode="structured")
    for name, raw in [("--require-trace", _msg("kafka", [], b"x")),
                      ("--mode structured", _kafka_binary())]:
        try:
            check_message(Message(raw, 0), tracer, strict)
            failures.append(f"{name}: accepted")
        except Invalid:
            pass

    # The whole run: one line per message and the count of invalid ones.
    out, err = _Lines(), _Lines()
    bad = run([accepted[0][1], refused[0][1]], plain, out=out, err=err)
    if bad != 1 or len(out.lines) != 2 or "message 1 (kafka orders)" not in "".join(err.lines):
        failures.append(f"run: {bad} invalid, output {out.lines}, errors {err.lines}")

    total = len(accepted) + len(refused) + 4
    for f in failures:
        print(f"check_events self-test: FAILED: {f}", file=sys.stderr)
    print(f"check_events self-test: {total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


class _Lines:
    def __init__(self):
        self.lines = []

    def write(self, text):
        if text.strip():
            self.lines.append(text)

    def flush(self):
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", nargs="?", help="JSON file of captured messages, - for stdin")
    parser.add_argument("--require-cloudevents", action="store_true",
                        help="every message must be a CloudEvent")
    parser.add_argument("--require-trace", action="store_true",
                        help="every message must carry a traceparent header")
    parser.add_argument("--mode", choices=("binary", "structured"),
                        help="every message must be a CloudEvent of this content mode")
    parser.add_argument("--self-test", action="store_true",
                        help="check that valid examples pass and invalid ones fail")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.messages:
        parser.error("give the messages file (or --self-test)")
    try:
        if args.messages == "-":
            raw = json.load(sys.stdin)
        else:
            with open(args.messages, encoding="utf-8") as f:
                raw = json.load(f)
        if not isinstance(raw, list):
            raise ValueError("the input must be a JSON array of messages")
        bad = run(raw, args)
    except (OSError, ValueError) as e:
        print(f"check_events: {e}", file=sys.stderr)
        return 2
    if bad:
        print(f"check_events: {bad} of {len(raw)} messages invalid", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
