-- Case tombstone: route.tombstone.on.empty.payload=true with a text
-- payload: NULL, empty and whitespace-only payloads (as Java's
-- String.trim() sees whitespace: every char up to U+0020, not U+00A0 or
-- U+3000) become tombstones (null value, key and headers kept).
-- {{table}} is replaced by the schema-qualified table name. One INSERT per
-- line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload text
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000001', 'tombstoneOrder', 'order-9001', 'OrderCreated', '{"orderId": 9001}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000002', 'tombstoneOrder', 'order-9001', 'OrderDeleted', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000003', 'tombstoneCustomer', 'cust-91', 'CustomerRegistered', 'Zoë');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000004', 'tombstoneCustomer', 'cust-91', 'CustomerDeleted', '');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000005', 'tombstoneOrder', 'order-9002', 'OrderDeleted', '   ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000006', 'tombstoneOrder', 'order-9002', 'OrderDeleted', E'\t\n\r ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000007', 'tombstoneCustomer', 'cust-92', 'CustomerDeleted', E'\x01\x1f');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000008', 'tombstoneCustomer', 'cust-92', 'CustomerNbsp', E'\u00a0');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-000000000009', 'tombstoneOrder', 'order-9003', 'OrderIdeographicSpace', E'\u3000');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-00000000000a', 'tombstoneOrder', 'order-9003', 'OrderPadded', ' x ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-00000000000b', 'tombstoneCustomer', 'kunde-Müller', 'CustomerDeleted', '');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-00000000000c', 'tombstoneCustomer', 'cust-93', 'CustomerNull', 'null');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000009-0000-4000-8000-00000000000d', 'tombstoneOrder', 'order-9001', 'OrderRecreated', '{}');
