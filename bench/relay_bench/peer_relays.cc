#include "peer_relays.h"

#include "common.h"
#include "tables.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace outboxd::bench {
namespace {

// The publication and the slot of a WAL-reading peer, made before the
// backlog is written so the backlog is in the slot's stream (not in a
// snapshot); named "peer_<name>". Returns the name.
std::string create_publication_and_slot(const config::Postgres& t, const std::string& name) {
    const auto dsn = ot::services().pg_dsn;
    const std::string both = "peer_" + name;
    ot::sql(dsn, "CREATE PUBLICATION " + both + " FOR TABLE " + qualified(t));
    ot::sql(dsn, "SELECT pg_create_logical_replication_slot('" + both + "', 'pgoutput')");
    return both;
}

// Drops them again; a failure is reported, not thrown (a destructor's).
void drop_publication_and_slot(const std::string& slot, const std::string& publication) {
    try {
        ot::sql(ot::services().pg_dsn, "SELECT pg_drop_replication_slot('" + slot + "')");
        ot::sql(ot::services().pg_dsn, "DROP PUBLICATION IF EXISTS " + publication);
    } catch (const std::exception& e) {
        progress("peer: dropping the slot " + slot + ": " + e.what());
    }
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("peer: no free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

// The value of `key` in a keyword=value DSN.
std::string dsn_field(const std::string& dsn, const std::string& key) {
    const auto at = dsn.find(key + "=");
    const auto end = dsn.find(' ', at);
    return dsn.substr(at + key.size() + 1,
                      end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

} // namespace

DebeziumPeer::DebeziumPeer(const config::Postgres& t,
                           std::string libs,
                           const std::string& name,
                           const std::vector<std::string>& extra)
    : libs_(std::move(libs))
    , dir_(ot::scratch_path("debezium")) {
    std::filesystem::create_directories(dir_);
    // The slot exists before the backlog is written, as it would for a
    // connector that ran before (snapshot.mode no_data).
    slot_ = create_publication_and_slot(t, name);
    publication_ = slot_;
    write_worker_properties();
    write_connector_properties(t, extra);
}

void DebeziumPeer::write_worker_properties() const {
    std::ofstream w(dir_ + "/worker.properties");
    w << "bootstrap.servers=" << ot::services().kafka_bootstrap << "\n"
      << "listeners=http://127.0.0.1:" << free_port() << "\n"
      << "offset.storage.file.filename=" << dir_ << "/offsets\n"
      << "offset.flush.interval.ms=1000\n"
      << "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
      << "value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n"
      // Durability equal to outboxd's (G2).
      << "producer.acks=all\n"
      << "producer.enable.idempotence=true\n"
      << "plugin.path=\n";
}

void DebeziumPeer::write_connector_properties(const config::Postgres& t,
                                              const std::vector<std::string>& extra) const {
    const auto dsn = ot::services().pg_dsn;
    std::ofstream c(dir_ + "/connector.properties");
    c << "name=peer-debezium\n"
      << "connector.class=io.debezium.connector.postgresql.PostgresConnector\n"
      << "tasks.max=1\n"
      << "plugin.name=pgoutput\n"
      << "database.hostname=" << dsn_field(dsn, "host") << "\n"
      << "database.port=" << dsn_field(dsn, "port") << "\n"
      << "database.user=" << dsn_field(dsn, "user") << "\n"
      << "database.dbname=" << dsn_field(dsn, "dbname") << "\n"
      << "topic.prefix=peer\n"
      << "table.include.list=" << t.schema << "." << t.table << "\n"
      << "slot.name=" << slot_ << "\n"
      << "publication.name=" << publication_ << "\n"
      << "publication.autocreate.mode=disabled\n"
      << "snapshot.mode=no_data\n"
      << "binary.handling.mode=bytes\n"
      << "transforms=outbox\n"
      << "transforms.outbox.type=io.debezium.transforms.outbox.EventRouter\n"
      << "transforms.outbox.table.field.event.id=" << t.columns.id << "\n"
      << "transforms.outbox.table.field.event.key=" << t.columns.key << "\n"
      << "transforms.outbox.table.field.event.payload=" << t.columns.payload << "\n"
      << "transforms.outbox.route.by.field=" << t.columns.topic << "\n"
      << "transforms.outbox.route.topic.replacement=${routedByValue}\n"
      << "transforms.outbox.table.expand.json.payload=false\n";
    // The operator's own, last: a later key wins in a properties file.
    for (const auto& kv : extra) {
        c << kv << "\n";
    }
}

DebeziumPeer::~DebeziumPeer() {
    java_.reset();
    drop_publication_and_slot(slot_, publication_);
}

void DebeziumPeer::start() {
    java_ = std::make_unique<ot::Daemon>(
        ot::Program{"/usr/bin/java"},
        std::vector<std::string>{"-Xms256m", "-Xmx1g", "-cp", libs_ + "/*",
                                 "org.apache.kafka.connect.cli.ConnectStandalone",
                                 dir_ + "/worker.properties", dir_ + "/connector.properties"});
}

void DebeziumPeer::stop() {
    java_->signal(SIGTERM);
    if (!java_->wait(std::chrono::seconds(30))) {
        progress("peer: Kafka Connect did not stop in 30 s");
    }
}

namespace {

// The environment variable outboxx reads its connection string from
// ([source.postgres] connection_env): set only in the shell that starts it.
constexpr const char* kOutboxxDsnVariable = "OUTBOXX_PEER_POSTGRES_URL";

// `s` as a TOML basic string.
std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

} // namespace

OutboxxPeer::OutboxxPeer(const config::Postgres& t,
                         std::string bin,
                         const std::string& name,
                         const std::string& topic)
    : bin_(std::move(bin))
    , dir_(ot::scratch_path("outboxx")) {
    std::filesystem::create_directories(dir_);
    // As for Debezium. outboxx would make both itself at its first start
    // (the publication FOR ALL TABLES), after the backlog; it uses a slot
    // that exists.
    slot_ = create_publication_and_slot(t, name);
    publication_ = slot_;
    write_config(t, topic);
}

void OutboxxPeer::write_config(const config::Postgres& t, const std::string& topic) const {
    std::ofstream c(dir_ + "/outboxx.toml");
    // No [observability] section: no HTTP server, no port to collide on.
    c << "[metadata]\nversion = \"v0\"\n\n"
      << "[source]\ntype = \"postgres\"\n\n"
      << "[source.postgres]\n"
      << "connection_env = " << toml_string(kOutboxxDsnVariable) << "\n"
      << "slot_name = " << toml_string(slot_) << "\n"
      << "publication_name = " << toml_string(publication_) << "\n\n"
      << "[sink]\ntype = \"kafka\"\n\n"
      << "[sink.kafka]\n"
      << "brokers = [" << toml_string(ot::services().kafka_bootstrap) << "]\n"
      << "tls = false\n\n"
      << "[[streams]]\n"
      << "name = \"outbox\"\n\n"
      << "[streams.source]\n"
      << "resource = " << toml_string(t.schema + "." + t.table) << "\n"
      << "operations = [\"insert\"]\n\n"
      << "[streams.flow]\nformat = \"json\"\n\n"
      << "[streams.sink]\n"
      << "destination = " << toml_string(topic) << "\n"
      << "routing_key = " << toml_string(t.columns.key) << "\n";
}

OutboxxPeer::~OutboxxPeer() {
    proc_.reset();
    drop_publication_and_slot(slot_, publication_);
}

void OutboxxPeer::start() {
    // Through sh only for the redirection: `exec` keeps the pid, so /proc
    // figures are outboxx's own.
    const std::string command =
        "export " + std::string(kOutboxxDsnVariable) + "=" + ot::shell_quote(ot::services().pg_dsn)
        + "; exec " + ot::shell_quote(bin_) + " -c " + ot::shell_quote(dir_ + "/outboxx.toml")
        + " >>" + ot::shell_quote(dir_ + "/outboxx.log") + " 2>&1";
    proc_ = std::make_unique<ot::Daemon>(ot::Program{"/bin/sh"},
                                         std::vector<std::string>{"-c", command});
}

std::string OutboxxPeer::log() const {
    std::ifstream in(dir_ + "/outboxx.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void OutboxxPeer::stop() {
    proc_->signal(SIGTERM);
    const auto rc = proc_->wait(std::chrono::seconds(30));
    if (!rc) {
        progress("peer: outboxx did not stop in 30 s");
    } else if (*rc != 0) {
        progress("peer: outboxx exited with " + std::to_string(*rc) + "; its log:\n"
                 + ot::tail_of(log()));
    }
}

} // namespace outboxd::bench
