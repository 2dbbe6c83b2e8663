-- Case timestamp: Quarkus's table shape with table.field.event.timestamp
-- set to its timestamp column (timestamp without time zone: Debezium reads
-- it as microseconds since the epoch taken as UTC, whatever the server's
-- TimeZone, and the message timestamp is that divided by 1000, truncated).
-- A NULL timestamp falls back to the time Debezium processed the row. No
-- row is in the future: Kafka 4 brokers refuse timestamps more than an
-- hour ahead (log.message.timestamp.after.max.ms), which stops the worker.
-- {{table}} is replaced by the schema-qualified table name. One INSERT per
-- line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  timestamp timestamp,
  payload jsonb,
  tracingspancontext varchar(256)
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000001', 'timestampOrder', 'order-10001', 'OrderCreated', '2024-03-05 10:15:30.123456', '{"orderId": 10001}', E'#Tue Mar 05 10:15:30 UTC 2024\ntraceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000002', 'timestampCustomer', 'cust-101', 'CustomerRegistered', '2024-03-05 10:15:30.123999', '{"id": 101}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000003', 'timestampOrder', 'order-10001', 'OrderPaid', '2024-03-05 10:15:30', '{"orderId": 10001, "paid": true}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000004', 'timestampOrder', 'order-10002', 'OrderCreated', NULL, '{"orderId": 10002}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000005', 'timestampCustomer', 'cust-101', 'CustomerUpdated', '1970-01-01 00:00:00', '{"id": 101, "epoch": true}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000006', 'timestampCustomer', 'cust-102', 'CustomerRegistered', '1970-01-01 00:00:00.000999', '{"id": 102}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000007', 'timestampOrder', 'order-10002', 'OrderShipped', '2001-09-09 01:46:40', '{"orderId": 10002, "gigasecond": true}', E'#Sun Sep 09 01:46:40 UTC 2001\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\ntracestate=rojo\\=00f067aa0ba902b7\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000008', 'timestampOrder', 'order-10003', 'OrderCreated', '2024-12-31 23:59:59.999999', '{"orderId": 10003}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-000000000009', 'timestampCustomer', 'kunde-Müller', 'CustomerRegistered', '2024-02-29 12:00:00.5', '{"name": "Müller"}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, timestamp, payload, tracingspancontext) VALUES ('0000000a-0000-4000-8000-00000000000a', 'timestampOrder', 'order-10001', 'OrderClosed', '2000-01-01 00:00:00.001', '{"orderId": 10001, "closed": true}', NULL);
