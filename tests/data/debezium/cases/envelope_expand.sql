-- Case envelope_expand: an envelope field together with JSON expansion: the
-- value is {payload: <the expanded object>, eventType} written by
-- JsonConverter (schemas.enable=false). {{table}} is replaced by the
-- schema-qualified table name. One INSERT per line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload jsonb
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000001', 'envExpandOrder', 'order-8001', 'OrderCreated', '{"orderId": 8001, "lines": [{"sku": "A-1", "qty": 2, "price": 1.5}], "total": 10.0, "note": null}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000002', 'envExpandCustomer', 'cust-81', 'CustomerRegistered', '{"id": 81, "name": "Zoë Ångström 🚀", "tags": []}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000003', 'envExpandOrder', 'order-8001', 'OrderPaid', '{"amount": 13.00, "tiny": 1e-7, "dec": 12345678.9}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000004', 'envExpandCustomer', 'cust-82', 'CustomerRegistered', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000005', 'envExpandOrder', 'order-8002', 'OrderNoted', '"a JSON string"');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000006', 'envExpandOrder', 'order-8002', 'OrderRepriced', '{"mixed": [1, 2.5]}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000007', 'envExpandCustomer', 'cust-81', 'CustomerUpdated', '{}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000008', 'envExpandCustomer', 'kunde-Müller', 'CustomerRegistered', '{"z": 1, "a": {"y": 2, "b": 3}}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-000000000009', 'envExpandOrder', 'order-8003', 'OrderCancelled', '{"reason": "changed my mind"}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000008-0000-4000-8000-00000000000a', 'envExpandOrder', 'order-8001', 'OrderClosed', '{"closed": true}');
