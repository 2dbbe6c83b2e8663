#include "relay/debezium_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

namespace outboxd::relay::debezium_json {
namespace {

using Json = nlohmann::ordered_json;

// A Connect schema as the EventRouter infers it from a document.
struct Schema {
    enum class Kind {
        kString,
        kBool,
        kInt32,
        kInt64,
        kFloat64,
        kArray,
        kStruct
    } kind = Kind::kString;
    std::vector<std::pair<std::string, std::shared_ptr<Schema>>> fields; // kStruct, in order
    std::shared_ptr<Schema> element;                                     // kArray
};

using SchemaPtr = std::shared_ptr<Schema>;

// Thrown where the EventRouter's expansion fails; caught in expand().
struct Refused {};

SchemaPtr make(Schema::Kind kind) {
    auto s = std::make_shared<Schema>();
    s->kind = kind;
    return s;
}

// Jackson's number classes: int, long, anything bigger.
enum class Number { kInt, kLong, kBig, kDouble };

Number number_class(const Json& v) {
    if (v.is_number_float()) {
        return Number::kDouble;
    }
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        return u <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())
                   ? Number::kInt
               : u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? Number::kLong
                   : Number::kBig;
    }
    const auto i = v.get<std::int64_t>();
    return i >= std::numeric_limits<std::int32_t>::min()
                   && i <= std::numeric_limits<std::int32_t>::max()
               ? Number::kInt
               : Number::kLong;
}

SchemaPtr schema_of(const Json& v);

void add_fields(const Json& object, Schema& s) {
    for (auto it = object.begin(); it != object.end(); ++it) {
        bool known = false;
        for (const auto& f : s.fields) {
            known = known || f.first == it.key();
        }
        if (known) {
            continue; // the first element's schema of a member stays
        }
        if (auto f = schema_of(it.value())) {
            s.fields.emplace_back(it.key(), std::move(f));
        }
    }
}

SchemaPtr array_schema(const Json& array) {
    const Json* sample = nullptr;
    for (const auto& e : array) {
        if (sample == nullptr) {
            if (!e.is_null()) {
                sample = &e;
            }
        } else if (!e.is_null() && e.type() != sample->type()
                   && !(e.is_number() && sample->is_number())) {
            throw Refused{}; // not a homogeneous array
        }
    }
    if (sample == nullptr) {
        throw Refused{}; // only nulls: no member schema
    }
    auto s = make(Schema::Kind::kArray);
    if (sample->is_object()) {
        s->element = make(Schema::Kind::kStruct);
        for (const auto& e : array) {
            if (e.is_object()) {
                add_fields(e, *s->element);
            }
        }
        return s;
    }
    s->element = schema_of(*sample);
    if (!s->element) {
        throw Refused{};
    }
    return s;
}

// nullptr: the member is left out (null, an empty array).
SchemaPtr schema_of(const Json& v) {
    switch (v.type()) {
    case Json::value_t::string:
        return make(Schema::Kind::kString);
    case Json::value_t::boolean:
        return make(Schema::Kind::kBool);
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
        switch (number_class(v)) {
        case Number::kInt:
            return make(Schema::Kind::kInt32);
        case Number::kLong:
            return make(Schema::Kind::kInt64);
        case Number::kBig:
        case Number::kDouble:
            break;
        }
        return make(Schema::Kind::kFloat64);
    case Json::value_t::array:
        return v.empty() ? nullptr : array_schema(v);
    case Json::value_t::object: {
        auto s = make(Schema::Kind::kStruct);
        add_fields(v, *s);
        return s;
    }
    default:
        return nullptr;
    }
}

Json value_of(const Json& v, const Schema& s);

Json struct_of(const Json& object, const Schema& s) {
    Json out = Json::object();
    for (const auto& [name, field] : s.fields) {
        const auto it = object.find(name);
        out[name] = it != object.end() ? value_of(*it, *field) : Json();
    }
    return out;
}

// The value a Connect struct holds, checked against its schema as
// Struct.put checks it: the Java class must be the schema's own.
Json value_of(const Json& v, const Schema& s) {
    if (v.is_null()) {
        return {};
    }
    switch (s.kind) {
    case Schema::Kind::kString:
        if (!v.is_string()) {
            throw Refused{};
        }
        return v;
    case Schema::Kind::kBool:
        if (!v.is_boolean()) {
            throw Refused{};
        }
        return v;
    case Schema::Kind::kInt32:
    case Schema::Kind::kInt64:
    case Schema::Kind::kFloat64: {
        if (!v.is_number()) {
            throw Refused{};
        }
        const Number n = number_class(v);
        const bool fits = (s.kind == Schema::Kind::kInt32 && n == Number::kInt)
                          || (s.kind == Schema::Kind::kInt64 && n == Number::kLong)
                          || (s.kind == Schema::Kind::kFloat64 && n == Number::kDouble);
        if (!fits) {
            throw Refused{};
        }
        return v;
    }
    case Schema::Kind::kArray: {
        if (!v.is_array()) {
            throw Refused{};
        }
        Json out = Json::array();
        for (const auto& e : v) {
            out.push_back(value_of(e, *s.element));
        }
        return out;
    }
    case Schema::Kind::kStruct:
        if (!v.is_object()) {
            throw Refused{};
        }
        return struct_of(v, s);
    }
    return {};
}

void append_hex4(std::string& out, unsigned unit) {
    static const char* const kHex = "0123456789ABCDEF";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out += kHex[(unit >> static_cast<unsigned>(shift)) & 0xFU];
    }
}

void append_quoted(std::string& out, std::string_view text) {
    out += '"';
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '"':
            out += "\\\"";
            continue;
        case '\\':
            out += "\\\\";
            continue;
        case '\b':
            out += "\\b";
            continue;
        case '\t':
            out += "\\t";
            continue;
        case '\n':
            out += "\\n";
            continue;
        case '\f':
            out += "\\f";
            continue;
        case '\r':
            out += "\\r";
            continue;
        default:
            break;
        }
        if (c < 0x20) {
            append_hex4(out, c);
        } else if (c >= 0xF0 && i + 3 < text.size()) {
            // A four-byte UTF-8 sequence: a character beyond U+FFFF,
            // written as its two UTF-16 surrogate escapes.
            const unsigned cp = ((c & 0x07U) << 18U)
                                | ((static_cast<unsigned char>(text[i + 1]) & 0x3FU) << 12U)
                                | ((static_cast<unsigned char>(text[i + 2]) & 0x3FU) << 6U)
                                | (static_cast<unsigned char>(text[i + 3]) & 0x3FU);
            const unsigned v = cp - 0x10000U;
            append_hex4(out, 0xD800U + (v >> 10U));
            append_hex4(out, 0xDC00U + (v & 0x3FFU));
            i += 3;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

void append(std::string& out, const Json& v) {
    switch (v.type()) {
    case Json::value_t::null:
        out += "null";
        return;
    case Json::value_t::boolean:
        out += v.get<bool>() ? "true" : "false";
        return;
    case Json::value_t::string:
        append_quoted(out, v.get_ref<const std::string&>());
        return;
    case Json::value_t::number_integer:
        out += std::to_string(v.get<std::int64_t>());
        return;
    case Json::value_t::number_unsigned:
        out += std::to_string(v.get<std::uint64_t>());
        return;
    case Json::value_t::number_float:
        out += java_double(v.get<double>());
        return;
    case Json::value_t::array: {
        out += '[';
        bool first = true;
        for (const auto& e : v) {
            if (!first) {
                out += ',';
            }
            first = false;
            append(out, e);
        }
        out += ']';
        return;
    }
    case Json::value_t::object: {
        out += '{';
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!first) {
                out += ',';
            }
            first = false;
            append_quoted(out, it.key());
            out += ':';
            append(out, it.value());
        }
        out += '}';
        return;
    }
    default:
        out += "null";
        return;
    }
}

} // namespace

std::string java_double(double d) {
    if (d == 0) {
        return std::signbit(d) ? "-0.0" : "0.0";
    }
    // The shortest round-tripping digits, in scientific form: d.dddde±x.
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
    const std::string sci(buf, r.ptr);
    const auto e = sci.find('e');
    std::string mantissa = sci.substr(0, e);
    const int exponent = std::stoi(sci.substr(e + 1));
    std::string sign;
    if (mantissa[0] == '-') {
        sign = "-";
        mantissa.erase(0, 1);
    }
    std::string digits = mantissa.substr(0, 1) + (mantissa.size() > 2 ? mantissa.substr(2) : "");
    const double magnitude = std::abs(d);
    if (magnitude >= 1e-3 && magnitude < 1e7) {
        // Plain decimal: at least one digit on each side of the point.
        std::string whole;
        std::string fraction;
        if (exponent >= 0) {
            const auto point = static_cast<std::size_t>(exponent) + 1;
            if (digits.size() < point) {
                digits.append(point - digits.size(), '0');
            }
            whole = digits.substr(0, point);
            fraction = digits.substr(point);
        } else {
            whole = "0";
            fraction = std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
        }
        return sign + whole + "." + (fraction.empty() ? "0" : fraction);
    }
    return sign + digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E"
           + std::to_string(exponent);
}

std::string quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_quoted(out, text);
    return out;
}

std::string write(const nlohmann::ordered_json& value) {
    std::string out;
    append(out, value);
    return out;
}

std::optional<std::string> expand(std::string_view text) {
    if (text.empty() || (text.front() != '{' && text.front() != '[')) {
        return std::nullopt;
    }
    // The first JSON value, whatever follows it, as Jackson's readTree reads.
    Json doc;
    try {
        std::istringstream in{std::string(text)};
        in >> doc;
    } catch (const Json::exception&) {
        return std::nullopt;
    }
    try {
        if (doc.is_array()) {
            // Debezium's worker stops on a top-level array; outboxd sends it
            // by the rules of an array member instead.
            if (doc.empty()) {
                return std::string("[]");
            }
            return write(value_of(doc, *array_schema(doc)));
        }
        if (!doc.is_object()) {
            return std::nullopt;
        }
        const SchemaPtr schema = schema_of(doc);
        return write(struct_of(doc, *schema));
    } catch (const Refused&) {
        return std::nullopt;
    }
}

} // namespace outboxd::relay::debezium_json
