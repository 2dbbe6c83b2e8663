// A row's W3C trace context (Trace Context level 1: `traceparent` and
// `tracestate`), read from the tracing column or from the row's headers and
// checked before it reaches a message. Pure functions, no I/O; any thread.
//
// Policy: a trace context that cannot be used never fails the row. A
// message without tracing is better than a parked payment, so the row is
// sent without it (or without its `tracestate` alone), and the result says
// why in a closed set of kinds the relay can count, plus a message for the
// log. Only a column that is empty or blank means "no trace context" with
// no problem.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace outboxd::relay {

// What a message carries as the W3C headers `traceparent` / `tracestate`
// (and the CloudEvents Distributed Tracing attributes of the same names).
struct TraceContext {
    // Always version 00, lowercase: "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>".
    // A higher version is accepted by its first four fields and sent as
    // version 00, as Trace Context's "Versioning of traceparent" tells a
    // version-00 implementation to do.
    std::string traceparent;
    // The list-members, each without the optional whitespace around it,
    // joined by "," with empty members dropped; "" when there is none.
    std::string tracestate;
};

// Why some or all of a trace context was left out: the closed set a metric
// label can use, so its cardinality cannot grow with the rows' text.
enum class TraceProblemKind {
    kNoTraceparent,      // text that holds no traceparent (e.g. only Jaeger's uber-trace-id):
                         // the message goes without a trace context
    kInvalidTraceparent, // a traceparent that breaks the grammar: no trace context
    kInvalidTracestate,  // a valid traceparent with an invalid tracestate: sent without
                         // the tracestate (Trace Context: a bad tracestate MUST NOT
                         // affect the traceparent)
};

const char* to_label(TraceProblemKind kind);

struct TraceProblem {
    TraceProblemKind kind = TraceProblemKind::kInvalidTraceparent;
    std::string message; // for the log: what is wrong, with the offending text quoted and cut
};

struct TraceParse {
    std::optional<TraceContext> context; // what to send; nullopt: no trace context
    std::optional<TraceProblem> problem; // set when the text was not used as it stood
};

// The tracing column's text (a NULL column is ""), in either shape:
//  - Java `java.util.Properties` text, as Debezium's `tracingspancontext`
//    column holds it: `#` and `!` comment lines, `key=value`, `key:value`
//    or `key value`, backslash escapes (`\=`, `\:`, `\t`, `\uXXXX`, ...)
//    and continuation lines, the last of a repeated key winning; the keys
//    read are `traceparent` and `tracestate` (case-sensitive, as Java's
//    Properties.getProperty is);
//  - a bare traceparent value: text starting with two hex digits and "-",
//    or one word without '=', ':', blanks or line breaks.
// Empty or blank text: no context and no problem.
TraceParse parse_trace_column(std::string_view text);

// The same checks for a traceparent and tracestate given separately (the
// row's own headers). A blank traceparent is "no trace context"; a
// tracestate without one is ignored (reported as kNoTraceparent), as Trace
// Context says.
TraceParse parse_trace_headers(std::string_view traceparent, std::string_view tracestate);

} // namespace outboxd::relay
