-- Case envelope: additional fields placed in the envelope: the value
-- becomes a struct {payload, eventType, aggregateid, version} written by
-- JsonConverter (schemas.enable=false), the jsonb payload inside it as a
-- JSON string. {{table}} is replaced by the schema-qualified table name.
-- One INSERT per line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload jsonb,
  version integer
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000001', 'envelopeOrder', 'order-7001', 'OrderCreated', '{"orderId": 7001, "lines": [{"sku": "A-1", "price": 1.5}], "total": 10.0}', 1);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000002', 'envelopeCustomer', 'cust-71', 'CustomerRegistered', '{"id": 71, "name": "Zoë Ångström 🚀"}', 1);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000003', 'envelopeOrder', 'order-7001', 'OrderPaid', '{"amount": 13.00, "big": 12345678901234567890}', 2);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000004', 'envelopeCustomer', 'cust-72', 'CustomerRegistered', NULL, 1);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000005', 'envelopeOrder', 'order-7002', 'Commande créée', '{"escapes": "quote \" backslash \\ newline \n"}', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000006', 'envelopeCustomer', 'cust-71', 'CustomerRenamed', '"a JSON string"', -5);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000007', 'envelopeOrder', 'order-7002', 'OrderNoted', '42', 3);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000008', 'envelopeOrder', 'order-7003', 'OrderCancelled', 'null', 1);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-000000000009', 'envelopeCustomer', 'kunde-Müller', 'CustomerRegistered', '{"z": 1, "a": 2}', 2147483647);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version) VALUES ('00000007-0000-4000-8000-00000000000a', 'envelopeOrder', 'order-7001', 'OrderClosed', '{}', 4);
