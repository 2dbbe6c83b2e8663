// Kafka side of bench/peers/debezium-golden.sh, run from source with the
// jars of bench/peers/target/libs on the class path:
//
//   java -cp 'target/libs/*' DebeziumGolden.java topics BOOTSTRAP PARTITIONS TOPIC...
//       delete TOPICs if they exist, then create them (PARTITIONS, replication 1,
//       CreateTime, no time-based retention)
//   java ... wait BOOTSTRAP EXPECTED TIMEOUT_S PID LOG TOPIC...
//       until the TOPICs hold EXPECTED messages; fails when process PID dies,
//       its log file LOG says its task died, or TIMEOUT_S passes
//   java ... read BOOTSTRAP CASE SQL ROWS OUT EXPECTED TOPIC...
//       read every message of the TOPICs, write the golden file OUT (format in
//       tests/data/debezium/README.md), then delete the TOPICs. SQL is the
//       case's fixture (its INSERT lines give the row order), ROWS a file of
//       "uuid<TAB>t|f" lines: t when the row's timestamp column (the case's
//       table.field.event.timestamp) is set.
//
// Exit status 0 on success, 1 on any failure (the reason on stderr).

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

public class DebeziumGolden {

    private static final Pattern UUID = Pattern.compile(
            "'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'");

    public static void main(String[] args) throws Exception {
        try {
            if (args.length < 1) {
                throw new IllegalArgumentException("usage: topics|wait|read ...");
            }
            switch (args[0]) {
                case "topics" -> topics(args[1], Integer.parseInt(args[2]), rest(args, 3));
                case "wait" -> waitFor(args[1], Long.parseLong(args[2]), Long.parseLong(args[3]),
                        Long.parseLong(args[4]), Path.of(args[5]), rest(args, 6));
                case "read" -> read(args[1], args[2], Path.of(args[3]), Path.of(args[4]), Path.of(args[5]),
                        Integer.parseInt(args[6]), rest(args, 7));
                default -> throw new IllegalArgumentException("unknown command " + args[0]);
            }
        }
        catch (Exception e) {
            System.err.println("DebeziumGolden: " + e);
            System.exit(1);
        }
        System.exit(0);
    }

    private static List<String> rest(String[] args, int from) {
        return Arrays.asList(args).subList(from, args.length);
    }

    private static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(p);
    }

    private static void topics(String bootstrap, int partitions, List<String> topics) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            deleteTopics(admin, topics);
            List<NewTopic> create = new ArrayList<>();
            for (String t : topics) {
                // The producer's timestamps are kept (CreateTime), and so are
                // messages whose timestamp, taken from a row, is years old:
                // time-based retention would delete them at once.
                create.add(new NewTopic(t, partitions, (short) 1).configs(Map.of(
                        "message.timestamp.type", "CreateTime",
                        "retention.ms", "-1")));
            }
            // A topic deleted a moment ago may still be marked for deletion.
            long deadline = System.currentTimeMillis() + 60_000;
            while (true) {
                try {
                    admin.createTopics(create).all().get();
                    break;
                }
                catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException) || System.currentTimeMillis() > deadline) {
                        throw e;
                    }
                    // Those created by this call are listed now: retry the others.
                    Set<String> now = admin.listTopics().names().get();
                    create.removeIf(nt -> now.contains(nt.name()));
                    if (create.isEmpty()) {
                        break;
                    }
                    Thread.sleep(500);
                }
            }
            System.err.println("DebeziumGolden: created " + topics + " with " + partitions + " partitions");
        }
    }

    private static void deleteTopics(Admin admin, List<String> topics) throws Exception {
        Set<String> existing = new HashSet<>(admin.listTopics().names().get());
        List<String> gone = topics.stream().filter(existing::contains).toList();
        if (gone.isEmpty()) {
            return;
        }
        admin.deleteTopics(gone).all().get();
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            Set<String> now = admin.listTopics().names().get();
            if (gone.stream().noneMatch(now::contains)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("topics " + gone + " still listed 60 s after their deletion");
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static List<TopicPartition> partitionsOf(KafkaConsumer<byte[], byte[]> c, List<String> topics) {
        List<TopicPartition> tps = new ArrayList<>();
        for (String t : topics) {
            List<PartitionInfo> infos = c.partitionsFor(t, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new IllegalStateException("no partitions for topic " + t);
            }
            for (PartitionInfo i : infos) {
                tps.add(new TopicPartition(t, i.partition()));
            }
        }
        return tps;
    }

    private static long total(Map<TopicPartition, Long> offsets) {
        return offsets.values().stream().mapToLong(Long::longValue).sum();
    }

    private static void waitFor(String bootstrap, long expected, long timeoutS, long pid, Path log,
                                List<String> topics) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutS * 1000;
        long last = -1;
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
            List<TopicPartition> tps = partitionsOf(c, topics);
            while (true) {
                long n = total(c.endOffsets(tps, Duration.ofSeconds(30)));
                if (n != last) {
                    System.err.println("DebeziumGolden: " + n + " of " + expected + " messages");
                    last = n;
                }
                if (n >= expected) {
                    return;
                }
                if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    throw new IllegalStateException("the Kafka Connect worker (pid " + pid + ") exited after "
                            + n + " of " + expected + " messages");
                }
                // Connect keeps running after its task died: its log says so.
                if (Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1)
                        .contains("Task threw an uncaught and unrecoverable exception")) {
                    throw new IllegalStateException("the connector's task died after " + n + " of " + expected
                            + " messages");
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("only " + n + " of " + expected + " messages after "
                            + timeoutS + " s");
                }
                Thread.sleep(500);
            }
        }
    }

    private static List<String> fixtureOrder(Path sql) throws IOException {
        List<String> ids = new ArrayList<>();
        for (String line : Files.readAllLines(sql, StandardCharsets.UTF_8)) {
            if (!line.startsWith("INSERT")) {
                continue;
            }
            Matcher m = UUID.matcher(line);
            if (!m.find()) {
                throw new IllegalStateException("an INSERT without a uuid literal: " + line);
            }
            ids.add(m.group(1));
        }
        return ids;
    }

    private static String utf8OrNull(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b))
                    .toString();
        }
        catch (CharacterCodingException e) {
            return null;
        }
    }

    private static void putBytes(ObjectNode o, String prefix, byte[] b) {
        if (b == null) {
            o.putNull(prefix + "_b64");
            return;
        }
        o.put(prefix + "_b64", Base64.getEncoder().encodeToString(b));
        String text = utf8OrNull(b);
        if (text != null) {
            o.put(prefix + "_text", text);
        }
    }

    private static void read(String bootstrap, String caseName, Path sql, Path rows, Path out, int expected,
                             List<String> topics) throws Exception {
        List<String> order = fixtureOrder(sql);
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < order.size(); i++) {
            if (index.put(order.get(i), i) != null) {
                throw new IllegalStateException("uuid " + order.get(i) + " inserted twice in " + sql);
            }
        }
        Map<String, Boolean> fromColumn = new HashMap<>();
        for (String line : Files.readAllLines(rows, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            fromColumn.put(f[0], f.length > 1 && f[1].equals("t"));
        }

        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode[] messages = new ObjectNode[order.size()];
        int count = 0;
        int partitions;
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
            List<TopicPartition> tps = partitionsOf(c, topics);
            partitions = tps.size() / topics.size();
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + 60_000;
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("could not read all messages within 60 s");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    count++;
                    String id = null;
                    ArrayNode headers = json.createArrayNode();
                    for (Header h : r.headers()) {
                        ObjectNode hn = headers.addObject();
                        hn.put("name", h.key());
                        putBytes(hn, "value", h.value());
                        if (h.key().equals("id") && id == null && h.value() != null) {
                            id = new String(h.value(), StandardCharsets.UTF_8);
                        }
                    }
                    Integer at = id == null ? null : index.get(id);
                    if (at == null) {
                        throw new IllegalStateException("message at " + r.topic() + "/" + r.partition() + "@"
                                + r.offset() + " has no id header naming a fixture row (id " + id + ")");
                    }
                    if (messages[at] != null) {
                        throw new IllegalStateException("row " + id + " has two messages");
                    }
                    ObjectNode m = json.createObjectNode();
                    m.put("row_id", id);
                    m.put("topic", r.topic());
                    m.put("partition", r.partition());
                    if (r.key() == null) {
                        m.putNull("key");
                    }
                    else {
                        String k = utf8OrNull(r.key());
                        if (k == null) {
                            throw new IllegalStateException("row " + id + ": key is not UTF-8");
                        }
                        m.put("key", k);
                    }
                    putBytes(m, "value", r.value());
                    m.set("headers", headers);
                    m.put("timestamp_ms", r.timestamp());
                    m.put("timestamp_type", r.timestampType().toString());
                    m.put("timestamp_from", fromColumn.getOrDefault(id, false) ? "column" : "processing");
                    messages[at] = m;
                }
            }
        }
        if (count != expected) {
            throw new IllegalStateException(count + " messages in " + topics + ", expected " + expected);
        }
        ObjectNode doc = json.createObjectNode();
        doc.put("case", caseName);
        doc.put("debezium", io.debezium.connector.postgresql.Module.version());
        doc.put("kafka", AppInfoParser.getVersion());
        doc.put("partitions", partitions);
        ArrayNode list = doc.putArray("messages");
        for (int i = 0; i < messages.length; i++) {
            if (messages[i] == null) {
                throw new IllegalStateException("no message for row " + order.get(i));
            }
            list.add(messages[i]);
        }
        Files.write(out, (json.writeValueAsString(doc) + "\n").getBytes(StandardCharsets.UTF_8));
        try (Admin admin = admin(bootstrap)) {
            deleteTopics(admin, topics);
        }
        System.err.println("DebeziumGolden: wrote " + out + " (" + count + " messages)");
    }
}
