-- Case jsonb: Debezium's documented outbox table in the shape Quarkus's
-- outbox extension creates (with its timestamp and tracingspancontext
-- columns), jsonb payloads, every EventRouter option at its default.
-- {{table}} is replaced by the schema-qualified table name. One INSERT per
-- line, in order: the golden file lists the messages in this order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  timestamp timestamp,
  payload jsonb,
  tracingspancontext varchar(256)
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000001', 'jsonbOrder', 'order-1001', 'OrderCreated', '2024-03-05 10:15:30.123456', '{"orderId": 1001, "customer": {"id": 7, "name": "Zoë Ångström"}, "lines": [{"sku": "A-1", "qty": 2, "price": 1.5}, {"sku": "B-2", "qty": 1, "price": 10.0}], "total": 13.0, "paid": false, "note": null}', E'#Tue Mar 05 10:15:30 UTC 2024\ntraceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000002', 'jsonbCustomer', 'cust-7', 'CustomerRegistered', '2024-03-05 10:15:31', '{"id": 7, "email": "zoe@example.com", "tags": ["vip", "früh"], "score": -42, "ratio": -0.25, "active": true}', E'#Tue Mar 05 10:15:31 UTC 2024\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\ntracestate=rojo\\=00f067aa0ba902b7,congo\\=t61rcWkgMzE\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000003', 'jsonbOrder', 'order-1001', 'OrderPaid', '2024-03-05 10:15:32', '{"orderId": 1001, "amount": 13.00, "big": 12345678901234567890, "long": 9007199254740993, "tiny": 1e-7, "sci": 1.5E+3, "dec": 12345678.9}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000004', 'jsonbOrder', 'order-1002', 'OrderCreated', NULL, '{"text": "日本語テキスト 🚀", "escapes": "quote \" backslash \\ tab \t newline \n", "slash": "a/b", "control": "\u0001"}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000005', 'jsonbCustomer', 'cust-8', 'CustomerRegistered', '2024-03-05 10:15:34', NULL, NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000006', 'jsonbOrder', 'order-1002', 'OrderShipped', '2024-03-05 10:15:35', '{"empty": {}, "emptyList": [], "nested": [[1, 2], [3]], "flags": [true, false, null]}', E'#Tue Mar 05 10:15:35 UTC 2024\ntraceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-53995c3f42cd8ad8-00\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000007', 'jsonbCustomer', 'cust-7', 'CustomerRenamed', '2024-03-05 10:15:36', '"just a JSON string"', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000008', 'jsonbOrder', 'order-1001', 'OrderNoted', '2024-03-05 10:15:37', '42', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-000000000009', 'jsonbOrder', 'order-1003', 'OrderCancelled', '2024-03-05 10:15:38', 'null', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-00000000000a', 'jsonbOrder', 'order-1003', 'OrderArchived', '2024-03-05 10:15:39', '[1, "two", {"three": 3}]', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-00000000000b', 'jsonbCustomer', 'kunde-Müller', 'CustomerRegistered', '2024-03-05 10:15:40', '{"name": "Müller", "city": "Zürich"}', E'#Tue Mar 05 10:15:40 UTC 2024\ntraceparent=00-11111111111111111111111111111111-2222222222222222-01\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-00000000000c', 'jsonbCustomer', 'cust-8', 'CustomerDeleted', '2024-03-05 10:15:41', '{"reason": "gdpr", "at": "2024-03-05T10:15:30Z"}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-00000000000d', 'jsonbOrder', 'order-1002', 'OrderPaid', '2024-03-05 10:15:42', '{"z": 1, "a": 2, "mm": 3, "bb": {"y": true, "x": false}}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-00000000000e', 'jsonbOrder', 'order-1001', 'OrderClosed', '2024-03-05 10:15:43', '{"numbers": [0, -0, 1.50, -1.5, 100, 2147483647, 2147483648, -2147483648, -9223372036854775808]}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('00000001-0000-4000-8000-00000000000f', 'jsonbCustomer', 'cust-7', 'CustomerUpdated', '2024-03-05 10:15:44', '{}', NULL);
